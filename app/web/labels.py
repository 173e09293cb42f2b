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
    N_("original.download_link_issued"),
    N_("clip.created"),
    N_("clip.download_link_issued"),
)
