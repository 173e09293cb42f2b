"""Strings shown from data (roles, statuses) marked for extraction; templates translate them with _()."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional name of the no-op gettext marker
    return message


ROLE_LABELS = (N_("admin"), N_("investigator"), N_("supervisor"), N_("owner"), N_("auditor"))
