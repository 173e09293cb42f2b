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
    N_("clip_ready"),
    N_("delivered"),
)
