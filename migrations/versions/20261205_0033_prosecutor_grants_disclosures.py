"""The prosecutor role, case grants (a prosecutor's sight of one case for a term) and disclosures (packages of a
case's evidence handed to a prosecutor, with their receipt and acknowledgement).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('admin','investigator','supervisor','owner','auditor')"
NEW_ROLES = "role IN ('admin','investigator','supervisor','owner','auditor','prosecutor')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_users_role_known"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_role_known"), "users", NEW_ROLES)
    op.create_table(
        "case_grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("grantee_id", sa.Uuid(), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint("expires_at > granted_at", name=op.f("ck_case_grants_term_positive")),
        sa.CheckConstraint("length(reason) BETWEEN 1 AND 500", name=op.f("ck_case_grants_reason_length")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_grants_case_id_cases")),
        sa.ForeignKeyConstraint(["grantee_id"], ["users.id"], name=op.f("fk_case_grants_grantee_id_users")),
        sa.ForeignKeyConstraint(["granted_by"], ["users.id"], name=op.f("fk_case_grants_granted_by_users")),
        sa.ForeignKeyConstraint(["revoked_by"], ["users.id"], name=op.f("fk_case_grants_revoked_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_grants")),
    )
    op.create_index("ix_case_grants_grantee_case", "case_grants", ["grantee_id", "case_id"], unique=False)
    op.create_index("ix_case_grants_case_id", "case_grants", ["case_id"], unique=False)
    op.create_table(
        "disclosures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("receipt_sha256", sa.Text(), nullable=False),
        sa.Column("receipt_pdf", sa.LargeBinary(), nullable=False),
        sa.Column("bundle_zip", sa.LargeBinary(), nullable=False),
        sa.Column("checkpoint_tree_size", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_root", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_name", sa.Text(), nullable=True),
        sa.CheckConstraint("length(receipt_sha256) = 64", name=op.f("ck_disclosures_receipt_hash_hex")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_disclosures_case_id_cases")),
        sa.ForeignKeyConstraint(["grant_id"], ["case_grants.id"], name=op.f("fk_disclosures_grant_id_case_grants")),
        sa.ForeignKeyConstraint(["recipient_id"], ["users.id"], name=op.f("fk_disclosures_recipient_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosures")),
    )
    op.create_index("ix_disclosures_case_id", "disclosures", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_disclosures_case_id", table_name="disclosures")
    op.drop_table("disclosures")
    op.drop_index("ix_case_grants_case_id", table_name="case_grants")
    op.drop_index("ix_case_grants_grantee_case", table_name="case_grants")
    op.drop_table("case_grants")
    op.execute("DELETE FROM users WHERE role = 'prosecutor'")
    op.drop_constraint(op.f("ck_users_role_known"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_role_known"), "users", OLD_ROLES)
