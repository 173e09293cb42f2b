"""staff_notifications: a new kind, appeal_submission (a resident sent footage to an appeal of the unit's case),
added to the kinds the check constraint allows.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 07:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
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


def _allow(kinds: tuple[str, ...]) -> None:
    op.drop_constraint("kind_known", "staff_notifications", type_="check")  # named by the convention
    op.create_check_constraint(
        "kind_known", "staff_notifications", "kind IN (" + ",".join(f"'{k}'" for k in kinds) + ")"
    )


def upgrade() -> None:
    _allow((*KINDS, "appeal_submission"))


def downgrade() -> None:
    op.execute("DELETE FROM staff_notifications WHERE kind = 'appeal_submission'")
    _allow(KINDS)
