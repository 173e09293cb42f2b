"""Uploads claim their request before streaming and lock their object after the row commits.

upload_claims holds a request's upload in progress (a second one is refused before its body is read);
originals.lock_applied_at says when the row's retention and legal hold were set on the object in S3 (None while
pending: the finish-locks sweep sets them). Originals recorded before this revision were locked before their
row was written, so they take their received_at.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("originals", sa.Column("lock_applied_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE originals SET lock_applied_at = received_at")
    op.create_table(
        "upload_claims",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.Uuid(), nullable=False),
        sa.Column("claimed_by", sa.Text(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["extraction_requests.id"],
            name=op.f("fk_upload_claims_request_id_extraction_requests"),
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_upload_claims")),
    )


def downgrade() -> None:
    op.drop_table("upload_claims")
    op.drop_column("originals", "lock_applied_at")
