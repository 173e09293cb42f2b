"""originals: where the recording start came from (file, header or file name); vendor-format files kept for
conversion (the format as the uploader named it, the decoder's error); converted copies naming their parent
original and the converting tool. Existing rows took the start from the header, the only source until now.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("originals", sa.Column("recording_start_source", sa.Text(), server_default="header", nullable=False))
    op.add_column("originals", sa.Column("vendor_format", sa.Text(), nullable=True))
    op.add_column("originals", sa.Column("needs_conversion", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("originals", sa.Column("decode_error", sa.Text(), nullable=True))
    op.add_column("originals", sa.Column("parent_original_id", sa.Uuid(), nullable=True))
    op.add_column("originals", sa.Column("parent_sha256", sa.Text(), nullable=True))
    op.add_column("originals", sa.Column("conversion_tool", sa.Text(), nullable=True))
    op.add_column("originals", sa.Column("conversion_tool_version", sa.Text(), nullable=True))
    op.create_foreign_key(
        op.f("fk_originals_parent_original_id_originals"), "originals", "originals", ["parent_original_id"], ["id"]
    )
    op.create_check_constraint(
        op.f("ck_originals_recording_start_source_known"),
        "originals",
        "recording_start_source IN ('file', 'header', 'filename')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_originals_recording_start_source_known"), "originals", type_="check")
    op.drop_constraint(op.f("fk_originals_parent_original_id_originals"), "originals", type_="foreignkey")
    for column in (
        "conversion_tool_version",
        "conversion_tool",
        "parent_sha256",
        "parent_original_id",
        "decode_error",
        "needs_conversion",
        "vendor_format",
        "recording_start_source",
    ):
        op.drop_column("originals", column)
