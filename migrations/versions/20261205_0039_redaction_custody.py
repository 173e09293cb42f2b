"""redactions: a legal hold, a deletion time and a heartbeat, so redacted copies are kept like other evidence.

`legal_hold` and `deleted_at` let the retention sweep release and delete a redaction's mask file and copy as it
does clips (the render already put a legal hold on both: rows already ready start with it on); `heartbeat_at`
(when the detection or render step was queued or last reported progress) and `requeues` let a periodic sweep
queue again a step whose job was lost, and give up after a settable number of tries. The redactions' tracked
fields now go into their custody events (app/custody/rows.py), so each existing redaction gets a baseline event
recording it as it stands.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

# The tracked fields of a redaction as this revision first recorded them (app/custody/rows.py may grow later).
FIELDS = (
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
)


def upgrade() -> None:
    op.add_column("redactions", sa.Column("legal_hold", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("redactions", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("redactions", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("redactions", sa.Column("requeues", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE redactions SET legal_hold = true WHERE status = 'ready'")
    op.execute("UPDATE redactions SET heartbeat_at = coalesce(rendered_at, created_at)")
    op.create_check_constraint(op.f("ck_redactions_requeues_counted"), "redactions", "requeues >= 0")
    _baseline()


def _baseline() -> None:
    from app.custody.rows import canonical
    from app.custody.service import append_event

    session = Session(bind=op.get_bind())
    rows = session.execute(sa.text(f"SELECT id, {', '.join(FIELDS)} FROM redactions ORDER BY id")).mappings()
    for row in rows.all():
        values: dict[str, Any] = {name: canonical(row[name]) for name in FIELDS}
        append_event(
            session,
            actor="system:migration",
            action="row.baseline",
            object_type="redaction",
            object_id=row["id"],
            case_id=row["case_id"],
            reason="the row as it stood when the log began to record redactions' states",
            where={"component": "migration", "revision": revision},
            details={"row": {"table": "redactions", "id": str(row["id"]), "values": values}},
        )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_redactions_requeues_counted"), "redactions", type_="check")
    op.drop_column("redactions", "requeues")
    op.drop_column("redactions", "heartbeat_at")
    op.drop_column("redactions", "deleted_at")
    op.drop_column("redactions", "legal_hold")
