"""extraction_requests: the clip job's failures (how many, when the last was, what kind), so a clip that cannot be
cut is retried less and less often and its investigators are told instead of waiting on "footage received";
staff_notifications: a new kind, clip_failed.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
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
    "appeal_submission",
)


def _allow(kinds: tuple[str, ...]) -> None:
    op.drop_constraint("kind_known", "staff_notifications", type_="check")  # named by the convention
    op.create_check_constraint(
        "kind_known", "staff_notifications", "kind IN (" + ",".join(f"'{k}'" for k in kinds) + ")"
    )


def upgrade() -> None:
    op.add_column("extraction_requests", sa.Column("clip_failures", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("extraction_requests", sa.Column("clip_failed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("extraction_requests", sa.Column("clip_problem", sa.Text(), nullable=True))
    op.create_check_constraint(
        "clip_problem_known",
        "extraction_requests",
        "clip_problem IS NULL OR clip_problem IN ('media','storage','internal')",
    )
    _allow((*KINDS, "clip_failed"))


def downgrade() -> None:
    op.execute("DELETE FROM staff_notifications WHERE kind = 'clip_failed'")
    _allow(KINDS)
    op.drop_constraint("clip_problem_known", "extraction_requests", type_="check")
    op.drop_column("extraction_requests", "clip_problem")
    op.drop_column("extraction_requests", "clip_failed_at")
    op.drop_column("extraction_requests", "clip_failures")
