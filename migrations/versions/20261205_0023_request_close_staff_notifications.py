"""The end of a request's life and telling its investigators: extraction_requests.close_result (how the footage
was judged on closing) and staff_notifications (what the filing investigator is told in the app and by email).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

KINDS = (
    "request_approved",
    "request_partially_approved",
    "request_denied",
    "footage_received",
    "clip_ready",
    "footage_mismatch",
    "request_expired",
    "link_expired_unanswered",
    "deadline_at_risk",
)


def upgrade() -> None:
    op.add_column("extraction_requests", sa.Column("close_result", sa.Text(), nullable=True))
    op.create_check_constraint(
        "close_result_known",
        "extraction_requests",
        "close_result IS NULL OR close_result IN ('useful','not_useful','no_footage')",
    )
    op.create_table(
        "staff_notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN (" + ",".join(f"'{k}'" for k in KINDS) + ")", name="kind_known"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["extraction_requests.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_notifications_request_id", "staff_notifications", ["request_id"])
    op.create_index("ix_staff_notifications_user_created", "staff_notifications", ["user_id", "created_at"])
    op.create_index(
        "ix_staff_notifications_user_unread",
        "staff_notifications",
        ["user_id"],
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_index(
        "uq_staff_notifications_once",
        "staff_notifications",
        ["user_id", "request_id", "kind"],
        unique=True,
        postgresql_where=sa.text("kind IN ('link_expired_unanswered','deadline_at_risk')"),
    )


def downgrade() -> None:
    op.drop_table("staff_notifications")
    op.drop_constraint("close_result_known", "extraction_requests", type_="check")
    op.drop_column("extraction_requests", "close_result")
