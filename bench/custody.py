"""Custody log benchmark: concurrent appends, and full verification of a million events.

    .venv/bin/python bench/custody.py [--server URL] [--writers 8] [--per-writer 1000] [--events 1000000]

(a) `--writers` processes append `--per-writer` events each through the real writer
    (app.custody.service.append_event, one transaction per event), all at once; then the log is checked
    for forks: seqs 1..N without gaps, every leaf recomputed, the root equal to the head's. Before them, in
    the same database and run, the same writers commit the raw operation: one plain row of the same entry bytes
    per transaction, into a table with no custody log; the appends are reported as a ratio to it as well.
(b) `--events` events are generated in Python (canonical entries, leaf hashes and the Merkle frontier computed
    exactly as the writer does) and COPYed into a fresh database; the head is set to their size and root in
    one UPDATE with triggers bypassed (session_replication_role = replica, this benchmark's own database
    only), and four checkpoints are signed at quarter sizes. Then `verify_log(include_objects=False)` is
    timed, in one process and with the default number of worker processes.

Each part runs in a database of its own on the server, dropped at the end (`--keep` keeps them).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import multiprocessing.synchronize
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.core import clock, migrate
from app.core.config import override_settings
from app.custody.checkpoints import sign_checkpoint
from app.custody.entry import canonical_entry, entry_around_seq
from app.custody.merkle import frontier_append, frontier_root, leaf_hash
from app.custody.recompute import _ROWS, FETCH_BATCH
from app.custody.service import append_event
from app.custody.verify import verify_log

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
COLUMNS = (
    "seq, at, actor, action, object_type, object_id, sha256, version_id, case_id, reason, "
    '"where", outcome, details, leaf_hash'
)


def create_database(server: str, prefix: str) -> str:
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = make_url(server).set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
    migrate.upgrade("heads", database_url=url)
    return url


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


# -- (a) concurrent appends ----------------------------------------------------------------------------
PLAIN_TABLE = "bench_plain_rows"


def _writer(url: str, writer: int, count: int, start: multiprocessing.synchronize.Event, plain: bool) -> None:
    """One writer: `count` transactions through a Session, each appending one event (or, with `plain`, each
    inserting one row of the same two byte strings into a table with no custody log: the raw operation)."""
    engine = create_engine(url, pool_size=1)
    with engine.connect():
        pass  # connect before the clock starts
    start.wait()
    try:
        for i in range(count):
            with Session(engine) as session, session.begin():
                event: dict[str, Any] = {
                    "actor": f"system:bench-writer-{writer}",
                    "action": "bench.append",
                    "object_type": "clip",
                    "object_id": uuid.uuid4(),
                    "reason": "đo tốc độ ghi",
                    "where": {"component": "bench", "writer": writer},
                    "details": {"i": i},
                }
                if plain:
                    entry = entry_around_seq(
                        at=clock.now(), sha256=None, version_id=None, case_id=None, outcome="ok", **event
                    )
                    session.connection().exec_driver_sql(
                        f"INSERT INTO {PLAIN_TABLE} (head, tail) VALUES (%s, %s)", entry
                    )
                else:
                    append_event(session, **event)
    finally:
        engine.dispose()


def _run_writers(url: str, writers: int, per_writer: int, plain: bool) -> float:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    procs = [context.Process(target=_writer, args=(url, w, per_writer, start, plain)) for w in range(writers)]
    for p in procs:
        p.start()
    time.sleep(3)  # let every writer import and connect
    began = time.perf_counter()
    start.set()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - began
    if any(p.exitcode for p in procs):
        sys.exit(f"a writer failed: exit codes {[p.exitcode for p in procs]}")
    return elapsed


def bench_appends(server: str, writers: int, per_writer: int, keep: bool) -> None:
    url = create_database(server, "bench_custody_appends")
    try:
        total = writers * per_writer
        # The raw operation first, in the same database: one plain row per transaction, same writers, same bytes.
        with psycopg.connect(dsn(url), autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {PLAIN_TABLE} (id bigserial PRIMARY KEY, head bytea, tail bytea)")
        plain = _run_writers(url, writers, per_writer, plain=True)
        elapsed = _run_writers(url, writers, per_writer, plain=False)
        engine = create_engine(url)
        with Session(engine) as session:
            seqs_ok = session.execute(
                select(func.count(), func.min(text("seq")), func.max(text("seq"))).select_from(text("custody_events"))
            ).one()
            result = verify_log(session, include_objects=False, workers=1)
        engine.dispose()
        print(f"appends: {writers} writers x {per_writer} = {total} events in {elapsed:.2f} s")
        print(f"  {total / elapsed:,.0f} events/s (one transaction per event)")
        print(
            f"  raw operation, same writers: {total / plain:,.0f} plain one-row transactions/s; "
            f"appends / raw = {plain / elapsed:.2f}x"
        )
        print(f"  rows, min seq, max seq: {tuple(seqs_ok)}; gap-free: {tuple(seqs_ok) == (total, 1, total)}")
        print(f"  verification: ok={result.ok}, tree size {result.tree_size}, problems {len(result.problems)}")
        if not result.ok or tuple(seqs_ok) != (total, 1, total):
            sys.exit("the concurrent log forked or has gaps")
    finally:
        if not keep:
            drop_database(url)


# -- (b) verification of a large log ---------------------------------------------------------------------
def load_events(url: str, count: int, checkpoints: int = 4) -> float:
    """Generate `count` realistic events and COPY them in; set the head; sign checkpoints. Returns seconds."""
    rng = random.Random(20261125)
    actors = [f"user:{uuid.UUID(int=rng.getrandbits(128))}" for _ in range(60)] + ["system:worker"]
    actions = ["request.submitted", "request.approved", "original.stored", "clip.created", "clip.download_link"]
    objects = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(20_000)]
    cases = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(2_000)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    marks = {count * (i + 1) // checkpoints for i in range(checkpoints)}
    signed = []
    frontier: list[bytes] = []
    began = time.perf_counter()
    with psycopg.connect(dsn(url)) as conn:
        with conn.cursor() as cursor, cursor.copy(f"COPY custody_events ({COLUMNS}) FROM STDIN") as copy:
            for seq in range(1, count + 1):
                kind = rng.randrange(len(actions))
                stores = actions[kind] in ("original.stored", "clip.created")
                object_id = objects[rng.randrange(len(objects))]
                fields = {
                    "seq": seq,
                    "at": start + timedelta(microseconds=seq * 97_000 + rng.randrange(90_000)),
                    "actor": actors[rng.randrange(len(actors))],
                    "action": actions[kind],
                    "object_type": "clip" if stores else "request",
                    "object_id": object_id,
                    "sha256": f"{rng.getrandbits(256):064x}" if stores else None,
                    "version_id": str(uuid.UUID(int=rng.getrandbits(128))) if stores else None,
                    "case_id": cases[rng.randrange(len(cases))],
                    "reason": "Trích xuất theo yêu cầu điều tra",
                    "where": {"component": "api", "client": f"10.1.{rng.randrange(256)}.{rng.randrange(256)}"},
                    "outcome": "ok",
                    "details": {"object_key": f"clips/{object_id}.mp4", "size": rng.randrange(1 << 30)}
                    if stores
                    else {"from": "submitted", "to": "approved", "window_s": rng.randrange(3600)},
                }
                leaf = leaf_hash(canonical_entry(**fields))
                frontier = frontier_append(frontier, seq - 1, leaf)
                if seq in marks:
                    signed.append(sign_checkpoint(seq, frontier_root(frontier)))
                row = list(fields.values())
                row[10], row[12] = Jsonb(row[10]), Jsonb(row[12])
                copy.write_row((*row, leaf))
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(
                "UPDATE custody_log_head SET tree_size = %s, frontier = %s, root_hash = %s WHERE id = 1",
                (count, frontier, frontier_root(frontier)),
            )
            for c in signed:
                conn.execute(
                    "INSERT INTO custody_checkpoints (id, tree_size, root_hash, issued_at, key_id, signature) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (uuid.uuid4(), c.tree_size, c.root_hash, c.issued_at, c.key_id, c.signature),
                )
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE custody_events")
    return time.perf_counter() - began


def raw_read_and_hash(url: str) -> tuple[float, int]:
    """The raw baseline of verification: read every row of the log out of PostgreSQL (the same columns, rendered
    the same way, through the same kind of server-side cursor and batch size as the verifier) and hash each
    row's bytes once with SHA-256. Returns (seconds, rows)."""
    query = _ROWS.format(bounds=sql.SQL("TRUE"))
    rows_seen = 0
    sha256 = hashlib.sha256
    began = time.perf_counter()
    with psycopg.connect(dsn(url)) as conn, conn.transaction(), conn.cursor(name="bench_raw_read") as cursor:
        cursor.itersize = FETCH_BATCH
        cursor.execute(query)
        while rows := cursor.fetchmany(FETCH_BATCH):
            for row in rows:
                sha256("\x1f".join(map(str, row[:13])).encode("utf-8") + bytes(row[13])).digest()
            rows_seen += len(rows)
    return time.perf_counter() - began, rows_seen


def bench_verification(server: str, count: int, keep: bool) -> None:
    url = create_database(server, "bench_custody_verify")
    try:
        loaded = load_events(url, count)
        print(f"verification: {count:,} events generated and loaded by COPY in {loaded:.1f} s (not timed below)")
        raw, raw_rows = raw_read_and_hash(url)
        print(f"  raw: read {raw_rows:,} rows out of PostgreSQL and hashed each once in {raw:.2f} s")
        engine = create_engine(url)
        for label, workers in (("1 process", 1), (f"default ({os.cpu_count()} CPUs)", None)):
            with Session(engine) as session:
                began = time.perf_counter()
                result = verify_log(session, include_objects=False, workers=workers)
                elapsed = time.perf_counter() - began
            print(
                f"  {label}: {elapsed:.2f} s ({count / elapsed:,.0f} events/s), ok={result.ok}, "
                f"tree size {result.tree_size}, {result.checkpoints_checked} checkpoints, "
                f"problems {len(result.problems)}; verification / raw = {elapsed / raw:.2f}x"
            )
            if not result.ok:
                sys.exit(f"verification failed: {result.problems[:5]}")
        engine.dispose()
    finally:
        if not keep:
            drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER))
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--per-writer", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-appends", action="store_true")
    parser.add_argument("--skip-verification", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = parser.parse_args()
    # The signing key of the checkpoints goes to a scratch folder, never the service's.
    override_settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-custody-")))
    print(f"machine: {os.cpu_count()} CPUs; PostgreSQL at {make_url(args.server).host}")
    if not args.skip_appends:
        bench_appends(args.server, args.writers, args.per_writer, args.keep)
    if not args.skip_verification:
        bench_verification(args.server, args.events, args.keep)


if __name__ == "__main__":
    main()
