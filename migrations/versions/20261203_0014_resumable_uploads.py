"""resumable uploads (tus): each upload's multipart upload, offset, SHA-256 state and tail; its acknowledged parts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resumable_uploads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("link_id", sa.Uuid(), nullable=True),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("upload_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("original_id", sa.Uuid(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("multipart_id", sa.Text(), nullable=False),
        sa.Column("sha256_state", sa.LargeBinary(), nullable=False),
        sa.Column("tail", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length > 0", name=op.f("ck_resumable_uploads_length_positive")),
        sa.CheckConstraint('"offset" >= 0 AND "offset" <= length', name=op.f("ck_resumable_uploads_offset_in_range")),
        sa.CheckConstraint("(user_id IS NULL) <> (link_id IS NULL)", name=op.f("ck_resumable_uploads_one_holder")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["extraction_requests.id"],
            name=op.f("fk_resumable_uploads_request_id_extraction_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resumable_uploads")),
    )
    op.create_index("ix_resumable_uploads_request_id", "resumable_uploads", ["request_id"])
    op.create_index("ix_resumable_uploads_expires_at", "resumable_uploads", ["expires_at"])
    op.create_table(
        "resumable_upload_parts",
        sa.Column("upload_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=False),
        sa.Column("crc32", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["resumable_uploads.id"],
            name=op.f("fk_resumable_upload_parts_upload_id_resumable_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("upload_id", "number", name=op.f("pk_resumable_upload_parts")),
    )


def downgrade() -> None:
    op.drop_table("resumable_upload_parts")
    op.drop_index("ix_resumable_uploads_expires_at", table_name="resumable_uploads")
    op.drop_index("ix_resumable_uploads_request_id", table_name="resumable_uploads")
    op.drop_table("resumable_uploads")
