"""clips.first_pts_s: the media time of a clip's first video frame.

Clips are now cut zero-based (their first video frame at media time 0), so that a browser, which measures a
video's duration from zero, can seek the whole clip. Clips cut before kept their offsets in the original; they are
not changed (evidence is immutable) and keep NULL here, which tells the player to read their first frame's time
from the video.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clips", sa.Column("first_pts_s", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("clips", "first_pts_s")
