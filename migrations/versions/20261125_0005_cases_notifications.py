"""cases, the notification outbox and its append-only attempts log

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-25 02:32:14.554040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("secrets", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("subject_type", sa.Text(), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('email','webhook')", name=op.f("ck_notifications_channel_known")),
        sa.CheckConstraint("locale IN ('vi','en')", name=op.f("ck_notifications_locale_known")),
        sa.CheckConstraint("status IN ('pending','sent','failed')", name=op.f("ck_notifications_status_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_status_next_attempt_at", "notifications", ["status", "next_attempt_at"], unique=False
    )
    op.create_index("ix_notifications_subject", "notifications", ["subject_type", "subject_id"], unique=False)
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.CheckConstraint("outcome IN ('sent','retry','failed')", name=op.f("ck_notification_attempts_outcome_known")),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_attempts_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    op.create_index(
        op.f("ix_notification_attempts_notification_id"), "notification_attempts", ["notification_id"], unique=False
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("offence", sa.Text(), nullable=False),
        sa.Column("incident_lat", sa.Float(), nullable=False),
        sa.Column("incident_lon", sa.Float(), nullable=False),
        sa.Column("incident_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("incident_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("lead_investigator_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("footage_contributed", sa.Boolean(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(status = 'open' AND closed_at IS NULL AND outcome IS NULL) OR "
            "(status = 'closed' AND closed_at IS NOT NULL AND outcome IS NOT NULL AND footage_contributed IS NOT NULL)",
            name=op.f("ck_cases_closed_has_outcome"),
        ),
        sa.CheckConstraint("status IN ('open','closed')", name=op.f("ck_cases_status_known")),
        sa.CheckConstraint("incident_end > incident_start", name=op.f("ck_cases_incident_window_ordered")),
        sa.CheckConstraint(
            "incident_lat BETWEEN -90 AND 90 AND incident_lon BETWEEN -180 AND 180",
            name=op.f("ck_cases_incident_wgs84"),
        ),
        sa.ForeignKeyConstraint(["closed_by"], ["users.id"], name=op.f("fk_cases_closed_by_users")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_cases_created_by_users")),
        sa.ForeignKeyConstraint(
            ["lead_investigator_id"], ["users.id"], name=op.f("fk_cases_lead_investigator_id_users")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_cases_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    op.create_index(op.f("ix_cases_lead_investigator_id"), "cases", ["lead_investigator_id"], unique=False)
    op.create_index("ix_cases_unit_status_created", "cases", ["unit_id", "status", "created_at"], unique=False)
    # Every send and failure stays on record: the attempts log refuses UPDATE, DELETE and TRUNCATE.
    op.execute("""
        CREATE FUNCTION notification_attempts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'notification_attempts is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)
    op.execute(
        "CREATE TRIGGER notification_attempts_no_change BEFORE UPDATE OR DELETE ON notification_attempts "
        "FOR EACH ROW EXECUTE FUNCTION notification_attempts_append_only()"
    )
    op.execute(
        "CREATE TRIGGER notification_attempts_no_truncate BEFORE TRUNCATE ON notification_attempts "
        "FOR EACH STATEMENT EXECUTE FUNCTION notification_attempts_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER notification_attempts_no_truncate ON notification_attempts")
    op.execute("DROP TRIGGER notification_attempts_no_change ON notification_attempts")
    op.execute("DROP FUNCTION notification_attempts_append_only()")
    op.drop_index("ix_cases_unit_status_created", table_name="cases")
    op.drop_index(op.f("ix_cases_lead_investigator_id"), table_name="cases")
    op.drop_table("cases")
    op.drop_index(op.f("ix_notification_attempts_notification_id"), table_name="notification_attempts")
    op.drop_table("notification_attempts")
    op.drop_index("ix_notifications_subject", table_name="notifications")
    op.drop_index("ix_notifications_status_next_attempt_at", table_name="notifications")
    op.drop_table("notifications")
