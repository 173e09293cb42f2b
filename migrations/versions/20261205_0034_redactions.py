"""redactions: redacted copies of clips (detector boxes, hand-drawn boxes, the mask file and the rendered copy).

The only derivative made by re-encoding: the row records the parent clip's hash and version, the detector's name,
version and parameters, the mask file's object and hash, and the exact ffmpeg command.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "redactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("parent_sha256", sa.Text(), nullable=False),
        sa.Column("parent_version_id", sa.Text(), nullable=False),
        sa.Column("style", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("frame_rate", sa.Float(), nullable=True),
        sa.Column("frame_count", sa.Integer(), nullable=True),
        sa.Column("detector", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tracks", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("mask_object_key", sa.Text(), nullable=True),
        sa.Column("mask_version_id", sa.Text(), nullable=True),
        sa.Column("mask_sha256", sa.Text(), nullable=True),
        sa.Column("object_key", sa.Text(), nullable=True),
        sa.Column("version_id", sa.Text(), nullable=True),
        sa.Column("sha256", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("tool", sa.Text(), nullable=True),
        sa.Column("tool_version", sa.Text(), nullable=True),
        sa.Column("command", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("retention_mode", sa.Text(), nullable=True),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("style IN ('blur','box')", name=op.f("ck_redactions_style_known")),
        sa.CheckConstraint(
            "status IN ('detecting','review','rendering','ready','failed')", name=op.f("ck_redactions_status_known")
        ),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name=op.f("ck_redactions_progress_fraction")),
        sa.CheckConstraint("length(parent_sha256) = 64", name=op.f("ck_redactions_parent_sha256_hex")),
        sa.CheckConstraint(
            "(status = 'ready') = (sha256 IS NOT NULL AND version_id IS NOT NULL AND mask_sha256 IS NOT NULL)",
            name=op.f("ck_redactions_ready_with_copy_and_mask"),
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_redactions_case_id_cases")),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"], name=op.f("fk_redactions_clip_id_clips")),
        sa.ForeignKeyConstraint(
            ["request_id"], ["extraction_requests.id"], name=op.f("fk_redactions_request_id_extraction_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redactions")),
    )
    op.create_index(op.f("ix_redactions_clip_id"), "redactions", ["clip_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_redactions_clip_id"), table_name="redactions")
    op.drop_table("redactions")
