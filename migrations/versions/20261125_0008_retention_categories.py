"""retention categories: how long a case's evidence is locked, per category an admin manages; a case names its
category; evidence rows record when their version was deleted at the end of retention

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 06:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_categories",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("retention_seconds", sa.BigInteger(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("retention_seconds > 0", name=op.f("ck_retention_categories_period_positive")),
        sa.CheckConstraint("mode IN ('COMPLIANCE', 'GOVERNANCE')", name=op.f("ck_retention_categories_mode_known")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_retention_categories")),
    )
    op.execute("""
        INSERT INTO retention_categories (code, name, retention_seconds, mode, description, created_at) VALUES
        ('standard', 'Standard', 1825 * 86400, 'COMPLIANCE', 'Five years after the footage arrives.', now()),
        ('serious_crime', 'Serious crime', 7300 * 86400, 'COMPLIANCE', 'Twenty years: serious and especially
          serious crimes.', now()),
        ('no_charge', 'No charge', 365 * 86400, 'COMPLIANCE', 'One year: incidents closed without a charge.', now())
    """)
    op.add_column("cases", sa.Column("retention_category", sa.Text(), nullable=True))
    op.create_foreign_key(
        op.f("fk_cases_retention_category_retention_categories"),
        "cases",
        "retention_categories",
        ["retention_category"],
        ["code"],
    )
    for table in ("originals", "clips"):
        op.add_column(table, sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("originals", "clips"):
        op.drop_column(table, "deleted_at")
    op.drop_constraint(op.f("fk_cases_retention_category_retention_categories"), "cases", type_="foreignkey")
    op.drop_column("cases", "retention_category")
    op.drop_table("retention_categories")
