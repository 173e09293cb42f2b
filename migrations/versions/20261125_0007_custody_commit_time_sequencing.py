"""custody sequencing at commit: events wait in custody_pending and a deferred trigger gives each its seq,
leaf and place in the Merkle frontier as the transaction commits, so the log head is locked only for that
moment instead of from the append to the commit; request transitions name their custody event through the
event's details (transition_id) instead of a seq known before commit

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 05:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custody_pending",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=True),
        sa.Column("object_id", sa.Uuid(), nullable=True),
        sa.Column("sha256", sa.Text(), nullable=True),
        sa.Column("version_id", sa.Text(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("where", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("entry_head", sa.LargeBinary(), nullable=False),
        sa.Column("entry_tail", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_pending")),
    )
    # At commit, for each pending event in insertion order: lock the head, take the next seq, hash the leaf
    # over the canonical entry (its bytes around the seq digits were computed by the writer), advance the
    # frontier exactly as app/custody/merkle.py does, write the event, drop the pending row.
    op.execute(r"""
        CREATE FUNCTION custody_sequence_pending() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            head custody_log_head%ROWTYPE;
            next_seq bigint;
            leaf bytea;
            node bytea;
            n bigint;
            new_frontier bytea[];
            new_root bytea;
            size int;
        BEGIN
            SELECT * INTO head FROM custody_log_head WHERE id = 1 FOR UPDATE;
            next_seq := head.tree_size + 1;
            leaf := sha256('\x00'::bytea || NEW.entry_head || convert_to(next_seq::text, 'UTF8') || NEW.entry_tail);
            new_frontier := head.frontier;
            node := leaf;
            n := head.tree_size;
            WHILE n & 1 = 1 LOOP
                size := cardinality(new_frontier);
                node := sha256('\x01'::bytea || new_frontier[size] || node);
                new_frontier := new_frontier[1:size - 1];
                n := n >> 1;
            END LOOP;
            new_frontier := new_frontier || node;
            size := cardinality(new_frontier);
            new_root := new_frontier[size];
            FOR i IN REVERSE size - 1 .. 1 LOOP
                new_root := sha256('\x01'::bytea || new_frontier[i] || new_root);
            END LOOP;
            INSERT INTO custody_events (seq, at, actor, action, object_type, object_id, sha256, version_id, case_id,
                                        reason, "where", outcome, details, leaf_hash)
            VALUES (next_seq, NEW.at, NEW.actor, NEW.action, NEW.object_type, NEW.object_id, NEW.sha256,
                    NEW.version_id, NEW.case_id, NEW.reason, NEW."where", NEW.outcome, NEW.details, leaf);
            UPDATE custody_log_head SET tree_size = next_seq, frontier = new_frontier, root_hash = new_root
            WHERE id = 1;
            DELETE FROM custody_pending WHERE id = NEW.id;
            RETURN NULL;
        END $$;
    """)
    op.execute(
        "CREATE CONSTRAINT TRIGGER custody_pending_sequence AFTER INSERT ON custody_pending "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION custody_sequence_pending()"
    )
    # A pending event is never rewritten: it becomes a log event or vanishes with its transaction.
    op.execute("""
        CREATE FUNCTION custody_pending_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'custody_pending rows are not updated' USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)
    op.execute(
        "CREATE TRIGGER custody_pending_no_change BEFORE UPDATE ON custody_pending "
        "FOR EACH ROW EXECUTE FUNCTION custody_pending_no_update()"
    )
    op.drop_column("request_transitions", "custody_seq")


def downgrade() -> None:
    op.add_column("request_transitions", sa.Column("custody_seq", sa.BigInteger(), nullable=True))
    op.execute("DROP TRIGGER custody_pending_no_change ON custody_pending")
    op.execute("DROP FUNCTION custody_pending_no_update()")
    op.execute("DROP TRIGGER custody_pending_sequence ON custody_pending")
    op.execute("DROP FUNCTION custody_sequence_pending()")
    op.drop_table("custody_pending")
