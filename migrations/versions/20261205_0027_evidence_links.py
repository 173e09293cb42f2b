"""evidence_links: links to one evidence object version served by the service, so each fetch is logged.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_sha256", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("issued_by", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("object_type IN ('original', 'clip')", name=op.f("ck_evidence_links_object_type_known")),
        sa.CheckConstraint(
            "length(token_sha256) = 64 AND length(sha256) = 64", name=op.f("ck_evidence_links_hashes_hex")
        ),
        sa.CheckConstraint("expires_at > issued_at", name=op.f("ck_evidence_links_expires_after_issue")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_links")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_evidence_links_token_sha256")),
    )
    op.create_index(op.f("ix_evidence_links_object_id"), "evidence_links", ["object_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_links_object_id"), table_name="evidence_links")
    op.drop_table("evidence_links")
