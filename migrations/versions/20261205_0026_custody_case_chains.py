"""custody: a chain per case inside the log. Each event of a case recorded from now on carries, in its leaf, the
case's previous event (its seq and leaf hash; the first names none), so a bundle that leaves out an event of
the case is detected. The commit-time trigger fills the link in under the log head's lock. Events recorded
before this migration carry no link: each case's chain starts with its first event after it.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("custody_events", sa.Column("case_prev_seq", sa.BigInteger(), nullable=True))
    op.add_column("custody_events", sa.Column("case_prev_hash", sa.LargeBinary(), nullable=True))
    # A case's event is sent as three pieces: the entry up to '"case_prev":', from there to '"seq":', the rest.
    op.add_column("custody_pending", sa.Column("entry_mid", sa.LargeBinary(), nullable=True))
    # As migration 0010, and for a case's event: under the head's lock, the case's latest chained event (the
    # index on (case_id, seq) read backwards), its link rendered as the entry's JSON between head and mid
    # ('{"hash":"<hex>","seq":<n>}', or 'null' for the first), hashed into the leaf and kept in the columns.
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
            prev_seq bigint;
            prev_leaf bytea;
            link bytea := '';
        BEGIN
            -- Before the lock: the columns, parsed from the entry (a case's link stood in for by null).
            IF NEW.entry_mid IS NOT NULL THEN
                link := convert_to('null', 'UTF8') || NEW.entry_mid;
            END IF;
            event := json_populate_record(
                NULL::custody_events,
                convert_from(NEW.entry_head || link || '\x30'::bytea || NEW.entry_tail, 'UTF8')::json);
            DELETE FROM custody_pending WHERE id = NEW.id;
            LOCK TABLE custody_log_head IN EXCLUSIVE MODE;
            SELECT * INTO head FROM custody_log_head WHERE id = 1;
            IF NEW.entry_mid IS NOT NULL THEN
                -- an event of a case: linked to the case's latest chained event (none: it starts the chain)
                SELECT e.seq, e.leaf_hash INTO prev_seq, prev_leaf FROM custody_events e
                WHERE e.case_id = event.case_id AND e.case_prev_seq IS NOT NULL
                ORDER BY e.seq DESC LIMIT 1;
                IF prev_seq IS NOT NULL THEN
                    link := convert_to('{"hash":"' || encode(prev_leaf, 'hex') || '","seq":' || prev_seq || '}',
                                       'UTF8') || NEW.entry_mid;
                END IF;
                event.case_prev_seq := coalesce(prev_seq, 0);
                event.case_prev_hash := prev_leaf;
            END IF;
            event.seq := head.tree_size + 1;
            event.leaf_hash := sha256('\x00'::bytea || NEW.entry_head || link || convert_to(event.seq::text, 'UTF8')
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
    op.drop_column("custody_pending", "entry_mid")
    op.drop_column("custody_events", "case_prev_hash")
    op.drop_column("custody_events", "case_prev_seq")
