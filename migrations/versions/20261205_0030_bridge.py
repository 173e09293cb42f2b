"""the owners' bridge: delivery reports in the attempts log, phones in E.164

- notification_attempts takes the bridge's reports (`delivered`, `read`, `failed`, with reported_by = 'bridge'),
  one per message, outcome and moment (a replay is told from a new report);
- owners' and units' phones are rewritten in E.164 (+84…) where they read as a phone number (others are kept).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def _normalise_phones(table: str) -> None:
    from app.core import phones

    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, phone FROM {table} WHERE phone IS NOT NULL")).all()
    for row_id, phone in rows:
        try:
            e164 = phones.normalise(phone)
        except phones.PhoneError:
            continue
        if e164 != phone:
            bind.execute(sa.text(f"UPDATE {table} SET phone = :p WHERE id = :i"), {"p": e164, "i": row_id})


def upgrade() -> None:
    op.drop_constraint(op.f("ck_notification_attempts_outcome_known"), "notification_attempts", type_="check")
    op.create_check_constraint(
        op.f("ck_notification_attempts_outcome_known"),
        "notification_attempts",
        "outcome IN ('sent','retry','failed','delivered','read')",
    )
    op.add_column("notification_attempts", sa.Column("reported_by", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_notification_attempts_reporter_known"),
        "notification_attempts",
        "reported_by IS NULL OR reported_by = 'bridge'",
    )
    op.create_index(
        "uq_notification_attempts_report",
        "notification_attempts",
        ["notification_id", "outcome", "at"],
        unique=True,
        postgresql_where=sa.text("reported_by IS NOT NULL"),
    )
    _normalise_phones("owners")
    _normalise_phones("units")


def downgrade() -> None:
    # Reports leave the log (the attempts log is append-only: its guard steps aside for this one statement).
    op.execute("ALTER TABLE notification_attempts DISABLE TRIGGER USER")
    op.execute("DELETE FROM notification_attempts WHERE reported_by IS NOT NULL")
    op.execute("ALTER TABLE notification_attempts ENABLE TRIGGER USER")
    op.drop_index("uq_notification_attempts_report", table_name="notification_attempts")
    op.drop_constraint(op.f("ck_notification_attempts_reporter_known"), "notification_attempts", type_="check")
    op.drop_column("notification_attempts", "reported_by")
    op.drop_constraint(op.f("ck_notification_attempts_outcome_known"), "notification_attempts", type_="check")
    op.create_check_constraint(
        op.f("ck_notification_attempts_outcome_known"), "notification_attempts", "outcome IN ('sent','retry','failed')"
    )
