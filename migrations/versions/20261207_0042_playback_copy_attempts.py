"""playback_copy_attempts: the failed attempts at an original's playback copy (how many, when, what kind of
problem), so the sweep waits longer after each instead of trying the same failing originals first every ten
minutes, and the player page says when no copy could be made.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playback_copy_attempts",
        sa.Column("original_id", sa.Uuid(), sa.ForeignKey("originals.id"), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.CheckConstraint("failures > 0", name="failures_positive"),
        sa.CheckConstraint("problem IN ('media','storage','internal')", name="problem_known"),
    )


def downgrade() -> None:
    op.drop_table("playback_copy_attempts")
