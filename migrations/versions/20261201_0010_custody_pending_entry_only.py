"""custody pending events hold only their canonical entry: the writer sends the entry's bytes around the seq
(two parameters instead of fourteen) and the commit-time trigger reads the event's columns back from those
bytes, so the stored row is by construction what its leaf hashes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_EVENT_COLUMNS = (
    ("at", sa.DateTime(timezone=True), False),
    ("actor", sa.Text(), False),
    ("action", sa.Text(), False),
    ("object_type", sa.Text(), True),
    ("object_id", sa.Uuid(), True),
    ("sha256", sa.Text(), True),
    ("version_id", sa.Text(), True),
    ("case_id", sa.Uuid(), True),
    ("reason", sa.Text(), True),
    ("where", postgresql.JSONB(astext_type=sa.Text()), False),
    ("outcome", sa.Text(), False),
    ("details", postgresql.JSONB(astext_type=sa.Text()), False),
)


def upgrade() -> None:
    # Pending rows live only inside their own transaction (the trigger deletes them before it commits, a
    # rollback removes them), so the table is empty whenever no append is in flight.
    for name, _, _ in _EVENT_COLUMNS:
        op.drop_column("custody_pending", name)
    # At commit, for each pending event in insertion order. Before the head is locked: the event's columns,
    # parsed from its canonical entry (JSON whose keys are the columns' names; the seq digits stood in for by 0
    # and overwritten below), and the pending row dropped. Then the head: locked with a table lock, whose
    # waiters queue in order and are handed the lock one at a time as each holder ends, where a row lock's
    # waiters contend for the tuple and the holder's transaction id again at every hand-over. Only this trigger
    # writes the head, each writer first taking that lock, so a plain read after it sees the last committed
    # head (in READ COMMITTED every statement takes a fresh snapshot; under REPEATABLE READ a stale head
    # makes the event's insert or the head's update fail, as FOR UPDATE would, and never forks the log).
    # Under the lock, as in migration 0007: the next seq, the leaf over head || seq || tail, the frontier and
    # root advanced exactly as app/custody/merkle.py does, the event written, the head moved on.
    op.execute(r"""
        CREATE OR REPLACE FUNCTION custody_sequence_pending() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            event custody_events;
            head custody_log_head%ROWTYPE;
            node bytea;
            n bigint;
            new_frontier bytea[];
            new_root bytea;
            size int;
        BEGIN
            event := json_populate_record(
                NULL::custody_events, convert_from(NEW.entry_head || '\x30'::bytea || NEW.entry_tail, 'UTF8')::json);
            DELETE FROM custody_pending WHERE id = NEW.id;
            LOCK TABLE custody_log_head IN EXCLUSIVE MODE;
            SELECT * INTO head FROM custody_log_head WHERE id = 1;
            event.seq := head.tree_size + 1;
            event.leaf_hash := sha256('\x00'::bytea || NEW.entry_head || convert_to(event.seq::text, 'UTF8')
                                      || NEW.entry_tail);
            new_frontier := head.frontier;
            node := event.leaf_hash;
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
            INSERT INTO custody_events SELECT event.*;
            UPDATE custody_log_head SET tree_size = event.seq, frontier = new_frontier, root_hash = new_root
            WHERE id = 1;
            RETURN NULL;
        END $$;
    """)


def downgrade() -> None:
    # The table is empty outside transactions, so the columns come back NOT NULL where they were.
    for name, type_, nullable in _EVENT_COLUMNS:
        op.add_column("custody_pending", sa.Column(name, type_, nullable=nullable))
    op.execute(r"""
        CREATE OR REPLACE FUNCTION custody_sequence_pending() RETURNS trigger LANGUAGE plpgsql AS $$
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
