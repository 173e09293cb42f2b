"""playback_copies: an MP4 copy, by stream copy, of each original whose container a browser cannot play.

Each row records the original's version and hash it was made from, the tool, its version and the exact
command, what the copy holds, and where it is stored and locked (as long as its original).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playback_copies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("original_id", sa.Uuid(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("parent_sha256", sa.Text(), nullable=False),
        sa.Column("parent_version_id", sa.Text(), nullable=False),
        sa.Column("tool", sa.Text(), nullable=False),
        sa.Column("tool_version", sa.Text(), nullable=False),
        sa.Column("command", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("retention_mode", sa.Text(), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "length(sha256) = 64 AND length(parent_sha256) = 64", name=op.f("ck_playback_copies_hashes_hex")
        ),
        sa.CheckConstraint("size > 0", name=op.f("ck_playback_copies_sane")),
        sa.ForeignKeyConstraint(
            ["original_id"], ["originals.id"], name=op.f("fk_playback_copies_original_id_originals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playback_copies")),
        sa.UniqueConstraint("original_id", name=op.f("uq_playback_copies_original_id")),
    )


def downgrade() -> None:
    op.drop_table("playback_copies")
