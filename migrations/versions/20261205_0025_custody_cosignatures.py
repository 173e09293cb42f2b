"""custody cosignatures and time-stamps: witnesses' C2SP cosignatures of checkpoints and RFC 3161 time-stamps
of them, both append-only like the checkpoints they sign

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custody_cosignatures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("witness", sa.Text(), nullable=False),
        sa.Column("key_id", sa.LargeBinary(), nullable=False),
        sa.Column("cosigned_at", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("octet_length(key_id) = 4", name=op.f("ck_custody_cosignatures_key_id_len")),
        sa.CheckConstraint("octet_length(root_hash) = 32", name=op.f("ck_custody_cosignatures_root_hash_len")),
        sa.CheckConstraint("octet_length(signature) = 64", name=op.f("ck_custody_cosignatures_signature_len")),
        sa.CheckConstraint("tree_size >= 0", name=op.f("ck_custody_cosignatures_tree_size_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_cosignatures")),
        sa.UniqueConstraint("witness", "key_id", "tree_size", name=op.f("uq_custody_cosignatures_witness")),
    )
    op.create_table(
        "custody_timestamps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("octet_length(root_hash) = 32", name=op.f("ck_custody_timestamps_root_hash_len")),
        sa.CheckConstraint("tree_size >= 0", name=op.f("ck_custody_timestamps_tree_size_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_timestamps")),
    )
    op.create_index("ix_custody_timestamps_tree_size", "custody_timestamps", ["tree_size"], unique=False)
    # Cosignatures are evidence of what independent witnesses saw: the database refuses UPDATE, DELETE and
    # TRUNCATE, as for checkpoints; so are time-stamps.
    op.execute("""
        CREATE FUNCTION custody_cosignatures_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)
    op.execute(
        "CREATE TRIGGER custody_cosignatures_no_change BEFORE UPDATE OR DELETE ON custody_cosignatures "
        "FOR EACH ROW EXECUTE FUNCTION custody_cosignatures_append_only()"
    )
    op.execute(
        "CREATE TRIGGER custody_cosignatures_no_truncate BEFORE TRUNCATE ON custody_cosignatures "
        "FOR EACH STATEMENT EXECUTE FUNCTION custody_cosignatures_append_only()"
    )
    op.execute(
        "CREATE TRIGGER custody_timestamps_no_change BEFORE UPDATE OR DELETE ON custody_timestamps "
        "FOR EACH ROW EXECUTE FUNCTION custody_cosignatures_append_only()"
    )
    op.execute(
        "CREATE TRIGGER custody_timestamps_no_truncate BEFORE TRUNCATE ON custody_timestamps "
        "FOR EACH STATEMENT EXECUTE FUNCTION custody_cosignatures_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER custody_timestamps_no_truncate ON custody_timestamps")
    op.execute("DROP TRIGGER custody_timestamps_no_change ON custody_timestamps")
    op.drop_index("ix_custody_timestamps_tree_size", table_name="custody_timestamps")
    op.drop_table("custody_timestamps")
    op.execute("DROP TRIGGER custody_cosignatures_no_truncate ON custody_cosignatures")
    op.execute("DROP TRIGGER custody_cosignatures_no_change ON custody_cosignatures")
    op.execute("DROP FUNCTION custody_cosignatures_append_only()")
    op.drop_table("custody_cosignatures")
