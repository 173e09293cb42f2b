"""previews.deleted_at: a clip's poster and strip are deleted with the clip at the end of its retention.

The retention sweep deletes a clip's previews just before the clip (S3 first, then this column and a custody
event `retention.deleted` each); the rows stay as the record, as the clips' and originals' do.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("previews", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("previews", "deleted_at")
