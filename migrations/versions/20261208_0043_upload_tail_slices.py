"""resumable_upload_tail: an upload's tail (the bytes after its last sent part) as a row per slice, instead of
one bytea column grown by appending, which PostgreSQL rewrote whole at every append (a 5 MiB tail cost some
50 MiB of writes to keep and a detoast of the whole value per slice read back).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resumable_upload_tail",
        sa.Column(
            "upload_id",
            sa.Uuid(),
            sa.ForeignKey("resumable_uploads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    # Recorded video does not compress: store the slices out of line without trying.
    op.execute("ALTER TABLE resumable_upload_tail ALTER COLUMN data SET STORAGE EXTERNAL")
    op.execute(
        "INSERT INTO resumable_upload_tail (upload_id, seq, data) "
        "SELECT id, 0, tail FROM resumable_uploads WHERE octet_length(tail) > 0"
    )
    op.drop_column("resumable_uploads", "tail")


def downgrade() -> None:
    op.add_column(
        "resumable_uploads", sa.Column("tail", sa.LargeBinary(), nullable=False, server_default=sa.text("''::bytea"))
    )
    op.execute(
        "UPDATE resumable_uploads u SET tail = t.data FROM "
        "(SELECT upload_id, string_agg(data, ''::bytea ORDER BY seq) AS data FROM resumable_upload_tail "
        "GROUP BY upload_id) t WHERE t.upload_id = u.id"
    )
    op.drop_table("resumable_upload_tail")
