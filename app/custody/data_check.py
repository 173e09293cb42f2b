"""Verification of the data tables against the custody log, and of evidence locks against S3.

The log's events carry the tracked state of each row they write (app/custody/rows.py). Replaying them in seq
order gives every tracked row's expected values; each table is then read once, streamed, and compared:

- "<noun> <id>… <field> is X in the table but Y in the log" (kind "row differs from the log");
- "<noun> <id>… is in the table but not in the log": a row no event wrote (kind "row not in the log"). Rows
  that existed before the log recorded row states got a baseline event from migration 0015, so this is a row
  written around the services, e.g. a consent inserted with SQL;
- "<noun> <id>… is in the log but not in the table" (kind "row missing from the table").

The lock of each evidence object (retention mode and date, legal hold) read from S3 by the objects pass is
compared with its row: "<noun> <id>… legal hold is off in S3 but on in the table" (kind "lock differs from
S3"). The comparison of one row with its last event is also what filing uses to refuse a consent whose row
was changed around the service (:func:`differs_from_log`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.custody.rows import TRACKED, canonical

DIFFERS = "row differs from the log"
NOT_IN_LOG = "row not in the log"
NOT_IN_TABLE = "row missing from the table"
LOCK_DIFFERS = "lock differs from S3"
STREAM_ROWS = 5_000
_LOCK_COLUMNS = "id, {key}, {version}, retention_mode, retain_until, legal_hold FROM {table} WHERE deleted_at IS NULL"
# The live evidence objects of each table, as (row id, object key, version, retention mode and date, legal hold):
# a redaction holds two, its mask file and its copy, locked alike.
EVIDENCE_LOCKS = {
    **{
        table: "SELECT " + _LOCK_COLUMNS.format(key="object_key", version="version_id", table=table)
        for table in ("originals", "clips", "appeal_submissions")
    },
    "redactions": " UNION ALL ".join(
        "SELECT "
        + _LOCK_COLUMNS.format(key=f"{part}object_key", version=f"{part}version_id", table="redactions")
        + " AND status = 'ready'"
        for part in ("", "mask_")
    ),
}


@dataclass(frozen=True)
class DataProblem:
    kind: str
    object_id: str
    what: str
    detail: str | None = None


@dataclass(frozen=True)
class RowLock:
    """What a live evidence row says of its object's lock in S3."""

    noun: str
    row_id: str
    retention_mode: str | None
    retain_until: datetime | None
    legal_hold: bool


def _short(value: Any) -> str:
    shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return shown if len(shown) <= 60 else shown[:57] + "…"


def _differences(
    noun: str, row_id: str, live: dict[str, Any], logged: dict[str, Any], seq: int
) -> Iterator[DataProblem]:
    for name, value in live.items():
        if name not in logged:
            continue  # a field the log began to record after this row's last write
        expected = logged[name]
        if value != expected:
            yield DataProblem(
                DIFFERS,
                row_id,
                f"{noun} {row_id[:8]}… {name} is {_short(value)} in the table but {_short(expected)} in the log",
                f"last recorded by seq {seq}",
            )


def _stream(session: Session, statement: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
    # Options for this statement only: Connection.execution_options() changes the session's connection in
    # place, and every later statement of the session (an INSERT of a custody event) would go to a cursor.
    streamed = text(statement).execution_options(stream_results=True, yield_per=STREAM_ROWS)
    yield from session.connection().execute(streamed, params or {})


def _canonical_sql(column: str, data_type: str) -> str:
    """A column as JSON in the log's canonical form (app/custody/rows.py canonical), computed by PostgreSQL."""
    if data_type == "timestamp with time zone":
        return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    if data_type == "uuid":
        return f"{column}::text"
    return column


def _comparison(session: Session) -> str:
    """One statement comparing every tracked table with the last recorded state of each of its rows: the log's
    states (one pass over the events) full-joined with the tables' canonical rows, answering only the rows that
    differ, lack an event or lack their row. PostgreSQL does the matching; Python only words the answers."""
    types = {
        (table, column): data_type
        for table, column, data_type in session.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ANY(:tables)"
            ),
            {"tables": list(TRACKED)},
        )
    }
    live = []
    for table, (_, fields) in TRACKED.items():
        pairs = ", ".join(f"'{name}', {_canonical_sql(name, types[(table, name)])}" for name in fields)
        live.append(f"SELECT '{table}' AS tbl, id::text AS id, jsonb_build_object({pairs}) AS live FROM {table}")
    return f"""
        WITH logged AS (
            SELECT DISTINCT ON (details->'row'->>'table', details->'row'->>'id')
                   details->'row'->>'table' AS tbl, details->'row'->>'id' AS id, seq, details->'row'->'values' AS vals
            FROM custody_events WHERE details ? 'row'
            ORDER BY details->'row'->>'table', details->'row'->>'id', seq DESC
        ), live AS ({" UNION ALL ".join(live)})
        SELECT coalesce(live.tbl, logged.tbl) AS tbl, coalesce(live.id, logged.id) AS id, logged.seq, logged.vals,
               live.live
        FROM live FULL JOIN logged ON logged.tbl = live.tbl AND logged.id = live.id
        WHERE (logged.tbl IS NULL OR logged.tbl = ANY(:tables))
          AND (live.id IS NULL OR logged.id IS NULL OR NOT live.live @> logged.vals)
        ORDER BY logged.seq NULLS FIRST, 2
    """


def check_rows(session: Session) -> tuple[list[DataProblem], dict[tuple[str, str], list[RowLock]], int]:
    """Compare every tracked row with the log: (problems, the live evidence rows' locks by (key, version),
    the number of rows compared). One statement for the comparison, one per evidence table for the locks."""
    problems: list[DataProblem] = []
    for table, row_id, seq, logged, live in _stream(session, _comparison(session), {"tables": list(TRACKED)}):
        noun = TRACKED[table][0]
        if logged is None:
            problems.append(DataProblem(NOT_IN_LOG, row_id, f"{noun} {row_id[:8]}… is in the table but not in the log"))
        elif live is None:
            problems.append(
                DataProblem(
                    NOT_IN_TABLE,
                    row_id,
                    f"{noun} {row_id[:8]}… is in the log but not in the table",
                    f"last recorded by seq {seq}",
                )
            )
        else:
            problems.extend(_differences(noun, row_id, live, logged, seq))
    count = 0
    for table in TRACKED:
        count += session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    locks: dict[tuple[str, str], list[RowLock]] = {}
    for table, statement in EVIDENCE_LOCKS.items():
        noun = TRACKED[table][0]
        for row_id, key, version, mode, until, hold in _stream(session, statement):
            locks.setdefault((key, version), []).append(RowLock(noun, str(row_id), mode, until, hold))
    return problems, locks, count


def lock_problems(
    lock: RowLock, mode: str | None, until: datetime | None, hold: bool, where: str
) -> Iterator[DataProblem]:
    """How an object's lock as S3 reports it differs from its row (S3 keeps retention dates to the second)."""
    name = f"{lock.noun} {lock.row_id[:8]}…"
    if hold != lock.legal_hold:
        state = {True: "on", False: "off"}
        yield DataProblem(
            LOCK_DIFFERS,
            lock.row_id,
            f"{name} legal hold is {state[hold]} in S3 but {state[lock.legal_hold]} in the table",
            where,
        )
    ours = lock.retain_until
    moved = (until is None) != (ours is None) or (
        until is not None and ours is not None and abs((until - ours).total_seconds()) >= 1
    )
    if mode != lock.retention_mode or moved:
        s3 = f"{mode} until {canonical(until)}" if mode else "none"
        table = f"{lock.retention_mode} until {canonical(ours)}" if lock.retention_mode else "none"
        yield DataProblem(LOCK_DIFFERS, lock.row_id, f"{name} retention is {s3} in S3 but {table} in the table", where)


# -- one row, at the moment it is used -----------------------------------------------------------------
def logged_state(session: Session, table: str, row_id: UUID) -> dict[str, Any] | None:
    """The tracked values the log last recorded for one row (None: no event recorded it). One indexed read."""
    found = session.execute(
        text(
            "SELECT details FROM custody_events WHERE object_id = :id "
            "AND (details->'row'->>'table') = :table ORDER BY seq DESC LIMIT 1"
        ),
        {"id": row_id, "table": table},
    ).scalar()
    if not isinstance(found, dict):
        return None
    values = found["row"].get("values")
    return values if isinstance(values, dict) else None


def differs_from_log(session: Session, table: str, row: Any) -> list[str]:
    """The tracked fields of a loaded row that differ from what the log last recorded for it ("row" when no
    committed event recorded it at all). Events of the caller's own uncommitted transaction are not seen."""
    logged = logged_state(session, table, row.id)
    if logged is None:
        return ["row"]
    return [name for name in TRACKED[table][1] if name in logged and canonical(getattr(row, name)) != logged[name]]
