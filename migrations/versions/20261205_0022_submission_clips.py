"""submission_clips: windows cut (stream copy) from accepted video submissions of appeals, each with its parent's
SHA-256, the recording start it was placed by, the exact commands, and its lock.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submission_clips",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("parent_sha256", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Text(), nullable=False),
        sa.Column("container", sa.Text(), nullable=False),
        sa.Column("recording_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shortfall", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tool", sa.Text(), nullable=False),
        sa.Column("tool_version", sa.Text(), nullable=False),
        sa.Column("command", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retention_mode", sa.Text(), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "length(sha256) = 64 AND length(parent_sha256) = 64", name=op.f("ck_submission_clips_hashes_hex")
        ),
        sa.CheckConstraint("requested_end > requested_start", name=op.f("ck_submission_clips_window_ordered")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_submission_clips_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["appeal_submissions.id"],
            name=op.f("fk_submission_clips_submission_id_appeal_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_clips")),
    )
    op.create_index(op.f("ix_submission_clips_submission_id"), "submission_clips", ["submission_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_submission_clips_submission_id"), table_name="submission_clips")
    op.drop_table("submission_clips")
