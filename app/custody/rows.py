"""The security-relevant state of data rows, as their custody events record it.

Each write of a tracked row (a consent, a request, an original, a clip, a redaction, an appeal submission, a case,
a user)
puts the row's tracked fields after the write into its custody event's details as ``details["row"]``
(:func:`row_state`), in the same transaction. Replaying the events of a row in seq order therefore gives the
values its row must hold now, and verification (app/custody/data_check.py) compares them with the live tables.
The tables are named here, not imported: custody sits below every domain.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.custody.entry import format_time

# table -> (the noun problems use, the fields every write records). What decides access, approval, timing of
# evidence and its lock: changing any of these without the service (and so without an event) is tampering.
TRACKED: dict[str, tuple[str, tuple[str, ...]]] = {
    "consents": (
        "consent",
        ("owner_id", "camera_id", "scope", "valid_from", "valid_until", "terms_version", "legal_basis", "withdrawn_at"),
    ),
    "extraction_requests": (
        "request",
        (
            "case_id",
            "camera_id",
            "unit_id",
            "owner_id",
            "window_start",
            "window_end",
            "approved_start",
            "approved_end",
            "purpose",
            "legal_basis",
            "status",
            "consent_id",
            "auto_approved",
            "overwrite_deadline",
        ),
    ),
    "originals": (
        "original",
        (
            "request_id",
            "case_id",
            "appeal_submission_id",
            "object_key",
            "version_id",
            "sha256",
            "size",
            "recording_start_recorder",
            "clock_offset_s",
            "retention_mode",
            "retain_until",
            "legal_hold",
            "deleted_at",
        ),
    ),
    "clips": (
        "clip",
        (
            "original_id",
            "request_id",
            "case_id",
            "object_key",
            "version_id",
            "sha256",
            "parent_sha256",
            "requested_start",
            "requested_end",
            "actual_start",
            "actual_end",
            "retention_mode",
            "retain_until",
            "legal_hold",
            "deleted_at",
        ),
    ),
    # What residents send to a community appeal: its triage, contributor, lock and deletion.
    "appeal_submissions": (
        "appeal submission",
        (
            "appeal_id",
            "case_id",
            "unit_id",
            "status",
            "object_key",
            "version_id",
            "sha256",
            "size",
            "contributor_name",
            "contributor_phone",
            "taken_at",
            "retention_mode",
            "retain_until",
            "legal_hold",
            "deleted_at",
        ),
    ),
    "redactions": (
        "redaction",
        (
            "clip_id",
            "request_id",
            "case_id",
            "parent_sha256",
            "parent_version_id",
            "style",
            "status",
            "mask_object_key",
            "mask_version_id",
            "mask_sha256",
            "object_key",
            "version_id",
            "sha256",
            "size",
            "retention_mode",
            "retain_until",
            "legal_hold",
            "deleted_at",
        ),
    ),
    "cases": ("case", ("unit_id", "lead_investigator_id", "status", "retention_category", "manual_hold_reason")),
    "users": ("user", ("email", "role", "unit_id", "owner_id", "is_active")),
}


def canonical(value: Any) -> Any:
    """A field's value as the log stores it (and as live rows are compared): JSON-native, times in UTC with µs."""
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return float(value)
    return value


def state_of(table: str, values: dict[str, Any]) -> dict[str, Any]:
    """The tracked fields of `table` taken from `values` (a row's mapping), canonical."""
    return {name: canonical(values.get(name)) for name in TRACKED[table][1]}


def row_state(table: str, row: Any) -> dict[str, Any]:
    """What a custody event carries (as ``details["row"]``) for a write of `row` of `table`: its id and tracked
    fields after the write. Call it after the write (and after a flush when the row is new)."""
    return {
        "table": table,
        "id": str(row.id),
        "values": {name: canonical(getattr(row, name)) for name in TRACKED[table][1]},
    }
