from __future__ import annotations

import multiprocessing
import uuid

import psycopg
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.custody.entry import canonical_entry, case_prev_value
from app.custody.merkle import leaf_hash, root_from_leaves
from app.custody.models import CustodyEvent
from app.custody.service import append_event, append_event_sequenced, log_head
from tests.services import fresh_database


def _append_many(url: str, writer: int, count: int) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        for i in range(count):
            with Session(engine) as session, session.begin():
                append_event(session, actor=f"system:writer-{writer}", action="test.append", details={"i": i})
    finally:
        engine.dispose()


def _recomputed_leaf(event: CustodyEvent) -> bytes:
    return leaf_hash(
        canonical_entry(
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            sha256=event.sha256,
            version_id=event.version_id,
            case_id=event.case_id,
            reason=event.reason,
            where=event.where,
            outcome=event.outcome,
            details=event.details,
            **(
                {}
                if event.case_prev_seq is None
                else {"case_prev": case_prev_value(event.case_prev_seq, event.case_prev_hash)}
            ),
        )
    )


@pytest.mark.slow
def test_concurrent_writers_never_fork_or_leave_gaps(pg_server_url: str) -> None:
    with fresh_database(pg_server_url) as url:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_append_many, args=(url, w, 500)) for w in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(300)
        assert [p.exitcode for p in procs] == [0] * 8

        engine = create_engine(url)
        with Session(engine) as session:
            events = session.execute(select(CustodyEvent).order_by(CustodyEvent.seq)).scalars().all()
            head = log_head(session)
            assert [e.seq for e in events] == list(range(1, 4001))
            assert all(_recomputed_leaf(e) == e.leaf_hash for e in events)
            size, root = root_from_leaves(e.leaf_hash for e in events)
            assert (head.tree_size, head.root_hash) == (size, root) == (4000, root)
            per_writer = session.execute(text("SELECT actor, count(*) FROM custody_events GROUP BY actor")).all()
            assert sorted(n for _, n in per_writer) == [500] * 8
        engine.dispose()


def test_update_delete_and_truncate_are_refused_by_the_database(database_url: str) -> None:
    engine = create_engine(database_url)
    with Session(engine) as session, session.begin():
        event = append_event_sequenced(session, actor="system:test", action="test.immutable", reason="original")
        seq = event.seq
    for statement in (
        f"UPDATE custody_events SET reason = 'edited' WHERE seq = {seq}",
        f"DELETE FROM custody_events WHERE seq = {seq}",
        "TRUNCATE custody_events",
        "DELETE FROM custody_log_head",
        "UPDATE custody_log_head SET tree_size = tree_size - 1",
    ):
        with Session(engine) as session, pytest.raises(DBAPIError, match="refused"):
            session.execute(text(statement))
    with Session(engine) as session:
        assert session.get(CustodyEvent, seq).reason == "original"  # type: ignore[union-attr]
    engine.dispose()


def test_an_aborted_transaction_leaves_no_event(database_url: str) -> None:
    engine = create_engine(database_url)
    marker = uuid.uuid4()
    with Session(engine) as session:
        before = log_head(session).tree_size
    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        append_event(session, actor="system:test", action="test.aborted", object_id=marker)
        raise RuntimeError("the unit of work failed after the append")
    with Session(engine) as session, session.begin():
        assert session.execute(select(CustodyEvent).where(CustodyEvent.object_id == marker)).first() is None
        assert log_head(session).tree_size == before
        nxt = append_event_sequenced(session, actor="system:test", action="test.after-abort")
        assert nxt.seq == before + 1  # the aborted sequence number was not burnt
    engine.dispose()


def test_row_round_trip_keeps_the_leaf_recomputable(database_url: str) -> None:
    """Details with non-ASCII text, floats and nesting come back from JSONB exactly as hashed."""
    engine = create_engine(database_url)
    with Session(engine) as session, session.begin():
        object_id = uuid.uuid4()
        append_event(
            session,
            actor="user:" + str(uuid.uuid4()),
            action="test.roundtrip",
            object_type="clip",
            object_id=object_id,
            sha256="ab" * 32,
            version_id="v1",
            case_id=uuid.uuid4(),
            reason="Trích xuất camera phường Bến Nghé",
            where={"component": "api", "client": "127.0.0.1"},
            details={"offset_s": -2.5, "tiny": 1e-7, "nested": {"list": [1, "hai", None, True]}},
        )
    with Session(engine) as session:
        stored = session.scalars(select(CustodyEvent).where(CustodyEvent.object_id == object_id)).one()
        seq = stored.seq
        assert stored is not None and _recomputed_leaf(stored) == stored.leaf_hash
    engine.dispose()
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT length(leaf_hash) FROM custody_events WHERE seq = %s", (seq,)).fetchone()
    assert row == (32,)


def test_events_take_their_seq_at_commit_in_the_order_they_were_appended(database_url: str) -> None:
    """Appends wait in custody_pending and are sequenced by the commit: nothing is in the log before it, every
    event of the transaction is after it, in order, with a leaf that recomputes from its row."""
    engine = create_engine(database_url)
    marker = uuid.uuid4()
    with Session(engine) as session:
        before = log_head(session).tree_size
    with Session(engine) as session, session.begin():
        for i in range(3):
            append_event(session, actor="system:test", action=f"test.ordered-{i}", object_id=marker)
        with Session(engine) as other:  # another connection sees nothing of it yet
            assert other.scalars(select(CustodyEvent).where(CustodyEvent.object_id == marker)).all() == []
            assert log_head(other).tree_size == before
    with Session(engine) as session:
        events = session.scalars(
            select(CustodyEvent).where(CustodyEvent.object_id == marker).order_by(CustodyEvent.seq)
        ).all()
        assert [e.action for e in events] == ["test.ordered-0", "test.ordered-1", "test.ordered-2"]
        assert [e.seq for e in events] == [before + 1, before + 2, before + 3]
        assert all(_recomputed_leaf(e) == e.leaf_hash for e in events)
        assert session.scalar(text("SELECT count(*) FROM custody_pending")) == 0
        head = log_head(session)
        leaves = session.scalars(select(CustodyEvent.leaf_hash).order_by(CustodyEvent.seq)).all()
        assert (head.tree_size, head.root_hash) == root_from_leaves(leaves)
    engine.dispose()


def test_the_stored_row_is_what_the_writer_was_given(database_url: str) -> None:
    """The trigger reads the event's columns back from its canonical entry: escapes, control characters,
    non-ASCII text, members named like the entry's own, times and ids all come back as given."""
    engine = create_engine(database_url)
    object_id, case_id = uuid.uuid4(), uuid.uuid4()
    given = {
        "actor": 'user:"quoted" \\ back\\slash',
        "action": "test.escapes",
        "object_type": "clip\ttab",
        "object_id": object_id,
        "sha256": "cd" * 32,
        "version_id": "v/1\n2",
        "case_id": case_id,
        "reason": 'Lý do: \x01\x1f\x7f ☃ 𝄞 ,"seq":1,',
        "where": {"component": "api", "seq": 3, "client": "::1"},
        "outcome": "denied",
        "details": {"seq": None, "sha256": "x", "list": [1.5, "\u00e9", {"at": "now"}], "big": 10**20},
    }
    with Session(engine) as session, session.begin():
        append_event(session, **given)
    with Session(engine) as session:
        stored = session.scalars(select(CustodyEvent).where(CustodyEvent.object_id == object_id)).one()
        assert {key: getattr(stored, key) for key in given} == given
        assert stored.at.tzinfo is not None and _recomputed_leaf(stored) == stored.leaf_hash
    engine.dispose()


def test_numbers_jsonb_would_rewrite_are_stored_as_it_gives_them_back(database_url: str) -> None:
    """JSONB keeps numbers as exact decimals: it has no negative zero and prints large integral floats without
    exponent. Details holding such numbers still recompute to their leaf (verification would otherwise call an
    untouched row edited); NaN and infinities, which JSON cannot hold, are kept as strings instead of failing
    the caller's commit."""
    engine = create_engine(database_url)
    object_id = uuid.uuid4()
    details = {
        "negative_zero": -0.0,
        "in_a_list": [-0.0, 0.0, -1.5],
        "nested": {"z": -0.0},
        "large": 2.5e16,
        "huge": 1e300,
        "subnormal": -5e-324,
        "fraction": 0.1 + 0.2,
        "not_numbers": [float("nan"), float("inf"), float("-inf")],
    }
    with Session(engine) as session, session.begin():
        append_event(session, actor="system:test", action="test.numbers", object_id=object_id, details=details)
    with Session(engine) as session:
        stored = session.scalars(select(CustodyEvent).where(CustodyEvent.object_id == object_id)).one()
        assert _recomputed_leaf(stored) == stored.leaf_hash
        assert stored.details["negative_zero"] == 0 and stored.details["large"] == 25_000_000_000_000_000
        assert stored.details["subnormal"] == -5e-324 and stored.details["fraction"] == 0.1 + 0.2
        assert stored.details["not_numbers"] == ["NaN", "Infinity", "-Infinity"]
    engine.dispose()
