"""cases: a manual legal hold on the case's evidence (its reason, when and by whom it was placed). And a baseline
custody event per existing tracked row: from now on every write of a consent, request, original, clip, case or
user records the row's security-relevant fields in its custody event, and verification compares the tables
with them. Rows written before carry no such state, so each gets one event (`row.baseline`) recording the row
as it stands at this migration; verification then covers them like any other row.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# The tracked fields as of this revision (app/custody/rows.py may grow later; the baseline records these).
BASELINE: dict[str, tuple[str, tuple[str, ...]]] = {
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
    "cases": ("case", ("unit_id", "lead_investigator_id", "status", "retention_category", "manual_hold_reason")),
    "users": ("user", ("email", "role", "unit_id", "owner_id", "is_active")),
}


def upgrade() -> None:
    op.add_column("cases", sa.Column("manual_hold_reason", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("manual_hold_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("manual_hold_by", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_cases_manual_hold_has_reason"),
        "cases",
        "(manual_hold_reason IS NULL) = (manual_hold_at IS NULL)",
    )
    _baseline()


def _baseline() -> None:
    from app.custody.rows import canonical
    from app.custody.service import append_event

    session = Session(bind=op.get_bind())
    for table, (noun, fields) in BASELINE.items():
        rows = session.execute(sa.text(f"SELECT id, {', '.join(fields)} FROM {table} ORDER BY id")).mappings()
        for row in rows.all():
            values: dict[str, Any] = {name: canonical(row[name]) for name in fields}
            append_event(
                session,
                actor="system:migration",
                action="row.baseline",
                object_type=noun,
                object_id=row["id"],
                reason="the row as it stood when the log began to record row states",
                where={"component": "migration", "revision": revision},
                details={"row": {"table": table, "id": str(row["id"]), "values": values}},
            )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_cases_manual_hold_has_reason"), "cases", type_="check")
    op.drop_column("cases", "manual_hold_by")
    op.drop_column("cases", "manual_hold_at")
    op.drop_column("cases", "manual_hold_reason")
