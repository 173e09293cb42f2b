"""previews: a poster frame and keyframe thumbnails per clip, derivatives made by ffmpeg.

Each row records the clip version and hash it was made from, the tool, its version and the exact command, the
keyframe's time in the clip (the player seeks there) and where the JPEG is stored and locked.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "previews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at_s", sa.Float(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("parent_sha256", sa.Text(), nullable=False),
        sa.Column("parent_version_id", sa.Text(), nullable=False),
        sa.Column("tool", sa.Text(), nullable=False),
        sa.Column("tool_version", sa.Text(), nullable=False),
        sa.Column("command", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("retention_mode", sa.Text(), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('poster','thumb')", name=op.f("ck_previews_kind_known")),
        sa.CheckConstraint("length(sha256) = 64 AND length(parent_sha256) = 64", name=op.f("ck_previews_hashes_hex")),
        sa.CheckConstraint(
            "size > 0 AND width > 0 AND height > 0 AND position >= 0 AND at_s >= 0", name=op.f("ck_previews_sane")
        ),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"], name=op.f("fk_previews_clip_id_clips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_previews")),
        sa.UniqueConstraint("clip_id", "kind", "position", name="uq_previews_clip_kind_position"),
    )
    op.create_index(op.f("ix_previews_clip_id"), "previews", ["clip_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_previews_clip_id"), table_name="previews")
    op.drop_table("previews")
