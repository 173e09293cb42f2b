"""Strings shown from data (roles, statuses) marked for extraction; templates translate them with _()."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional name of the no-op gettext marker
    return message


ROLE_LABELS = (N_("admin"), N_("investigator"), N_("supervisor"), N_("owner"), N_("auditor"))

STATUS_LABELS = (
    N_("open"),
    N_("closed"),
    N_("draft"),
    N_("submitted"),
    N_("approved"),
    N_("partially_approved"),
    N_("denied"),
    N_("expired"),
    N_("cancelled"),
    N_("footage_received"),
    N_("footage_mismatch"),
    N_("needs_conversion"),
    N_("clip_ready"),
    N_("delivered"),
)

# Owner pages: consent states and scopes, and what the custody events in an owner's ledger record.
CONSENT_LABELS = (
    N_("consent_valid"),
    N_("consent_none"),
    N_("consent_withdrawn"),
    N_("consent_expired"),
    N_("scope_on_request"),
    N_("scope_auto_approve"),
)

LEDGER_LABELS = (
    N_("request"),
    N_("original"),
    N_("clip"),
    N_("request.filed"),
    N_("request.submitted"),
    N_("request.approved"),
    N_("request.partially_approved"),
    N_("request.denied"),
    N_("request.expired"),
    N_("request.cancelled"),
    N_("request.footage_received"),
    N_("request.footage_mismatch"),
    N_("request.needs_conversion"),
    N_("request.clip_ready"),
    N_("request.delivered"),
    N_("request.closed"),
    N_("request.reminder_sent"),
    N_("owner_link.issued"),
    N_("owner_link.revoked"),
    N_("original.received"),
    N_("original.hash_verified"),
    N_("original.probed"),
    N_("original.needs_conversion"),
    N_("original.locked"),
    N_("original.lock_applied"),
    N_("original.download_link_issued"),
    N_("clip.created"),
    N_("clip.download_link_issued"),
    N_("original.record_read"),
    N_("original.page_viewed"),
    N_("original.playback_started"),
    N_("original.link_fetched"),
    N_("clip.record_read"),
    N_("clip.page_viewed"),
    N_("clip.playback_started"),
    N_("clip.link_fetched"),
    N_("marker.created"),
    # redacted copies of clips (app/footage/redaction.py)
    N_("redaction.created"),
    N_("redaction.detected"),
    N_("redaction.boxes_saved"),
    N_("redaction.render_requested"),
    N_("redaction.rendered"),
    N_("redaction.failed"),
    N_("redaction.record_read"),
    N_("redaction.link_fetched"),
    N_("clip.read_for_redaction"),
    # previews of clips (app/footage/previews.py)
    N_("clip.read_for_previews"),
    N_("preview.created"),
    # playback copies of originals (app/footage/playable.py)
    N_("original.read_for_playback_copy"),
    N_("playback_copy.created"),
)

# A redacted copy's state as its pages say it (app.footage.redaction: Redaction.status, prefixed).
REDACTION_STATES = (
    N_("redaction:detecting"),
    N_("redaction:review"),
    N_("redaction:rendering"),
    N_("redaction:ready"),
    N_("redaction:failed"),
)

# Investigator and auditor pages: custody actions and outcomes not worded above, the reasons the system writes
# for the investigator's own actions, and how a camera's view relates to the incident.
CUSTODY_LABELS = (
    N_("cameras.imported"),
    N_("orphan.object_removed"),
    N_("orphan.row_found"),
    N_("owner_link.displayed"),
    N_("registry.demo_seeded"),
    N_("retention_category.created"),
    N_("outcome_ok"),
    N_("outcome_missing"),
    N_("outcome_removed"),
    N_("replaced by a new link"),
    N_("asked again: the footage did not cover the window"),
    N_("shown as a QR code to the owner"),
)

# What a custody event touched, when it is no footage, request, camera or case (those are named).
OBJECT_LABELS = (
    N_("consent"),
    N_("retention_category"),
    N_("camera_import"),
    N_("object"),
    N_("redaction"),
    N_("preview"),
    N_("playback_copy"),
)

COVERAGE_LABELS = (N_("faces the place"), N_("faces away"), N_("direction unknown"))
