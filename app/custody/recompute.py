"""Recomputing the leaves of a range of custody events straight from their rows.

This is the hot loop of verification (a million events in seconds), so it reads rows through a
server-side cursor with the time and ids already rendered as text, and rebuilds each entry exactly as
:func:`app.custody.entry.canonical_entry` does. A row whose leaf does not match is checked again with
``canonical_entry`` itself before it is called a suspect, so the fast path can never invent a problem;
and it cannot hide one, since a match means the row's fields hash to the stored leaf.

A range can be walked on the caller's connection or, for large logs, in worker processes that share the
caller's snapshot (``pg_export_snapshot``), so every worker sees the same log.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from app.custody.entry import canonical_entry
from app.custody.merkle import leaf_hash

log = logging.getLogger(__name__)

FETCH_BATCH = 20_000
MAX_SUSPECTS = 2_000  # rows kept whole for the reordering analysis; further suspects keep only their seq
MAX_INVERSIONS = 100

_ROWS = sql.SQL(
    "SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor, action, "
    'object_type, object_id::text, sha256, version_id, case_id::text, reason, "where"::text, outcome, '
    "details::text, leaf_hash, case_prev_seq, encode(case_prev_hash, 'hex') FROM custody_events WHERE {bounds} "
    "ORDER BY seq"
)

# What json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) does, as canonical_entry calls it.
_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_encode_string = json.encoder.encode_basestring


@dataclass
class Suspect:
    """A row whose fields no longer hash to its stored leaf."""

    seq: int
    entry: dict[str, Any] | None  # the canonical fields (without seq), kept for the first MAX_SUSPECTS
    stored: bytes


# The event that records an object version's deletion at the end of its retention: from then on the version
# is expected to be gone, not re-hashed.
DELETED_ACTION = "retention.deleted"
# Fields of an event's details naming a further object version the same event stored, as {object_key,
# version_id, sha256}: a redaction's mask file beside its copy. Each is re-hashed like the event's own object.
ALSO_STORED = ("mask",)


@dataclass
class ObjectReference:
    """An event that stored an object: the hash it recorded for (object_key, version_id)."""

    seq: int
    object_id: str | None
    sha256: str


@dataclass
class RangeResult:
    """What one range of rows says about the log, merged in seq order by the verifier."""

    low: int | None
    high: int | None
    seqs_first: int | None = None
    seqs_last: int | None = None
    rows: int = 0
    leaves: bytearray = field(default_factory=bytearray)  # stored leaf hashes, 32 bytes each, in seq order
    gaps: list[tuple[int, int]] = field(default_factory=list)  # missing seq ranges [first, last] inside
    suspects: list[Suspect] = field(default_factory=list)
    outside: list[int] = field(default_factory=list)  # seqs below 1
    inversions: list[int] = field(default_factory=list)  # seqs whose time is before the previous row's
    first_at: str | None = None
    last_at: str | None = None
    objects: dict[tuple[str, str], list[ObjectReference]] = field(default_factory=dict)
    deleted: set[tuple[str, str]] = field(default_factory=set)  # versions removed at the end of their retention


def reference_leaf(seq: int, entry: dict[str, Any]) -> bytes | None:
    """The leaf through canonical_entry itself, from the text-rendered fields (None: not representable)."""
    try:
        return leaf_hash(
            canonical_entry(
                seq=seq,
                at=datetime.fromisoformat(entry["at"]),
                actor=entry["actor"],
                action=entry["action"],
                object_type=entry["object_type"],
                object_id=UUID(entry["object_id"]) if entry["object_id"] else None,
                sha256=entry["sha256"],
                version_id=entry["version_id"],
                case_id=UUID(entry["case_id"]) if entry["case_id"] else None,
                reason=entry["reason"],
                where=entry["where"],
                outcome=entry["outcome"],
                details=entry["details"],
                **({"case_prev": entry["case_prev"]} if "case_prev" in entry else {}),
            )
        )
    except (TypeError, ValueError, KeyError):
        return None


def entry_leaf(seq: int, entry: dict[str, Any]) -> bytes:
    """The leaf of `entry` (canonical fields without seq) placed at `seq` (fast path)."""
    return hashlib.sha256(b"\x00" + _dumps({**entry, "seq": seq}).encode("utf-8")).digest()


def walk_range(
    conn: psycopg.Connection[Any], low: int | None, high: int | None, *, include_objects: bool
) -> RangeResult:
    """Recompute every row with low < seq <= high (either bound may be open) on `conn`."""
    conditions = []
    params: list[int] = []
    if low is not None:
        conditions.append(sql.SQL("seq > %s"))
        params.append(low)
    if high is not None:
        conditions.append(sql.SQL("seq <= %s"))
        params.append(high)
    bounds = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("TRUE")
    result = RangeResult(low=low, high=high)
    expected = 1 if low is None else low + 1
    prev_at = ""
    sha256, loads, dumps, text = hashlib.sha256, json.loads, _dumps, _text
    rendered_where: dict[str, str] = {}  # the same places recur: render each once
    leaves = result.leaves
    with conn.cursor(name="custody_verify_range") as cursor:
        cursor.itersize = FETCH_BATCH
        cursor.execute(_ROWS.format(bounds=bounds), params)
        while rows := cursor.fetchmany(FETCH_BATCH):
            for (
                seq,
                at,
                actor,
                action,
                otype,
                oid,
                sha,
                vid,
                cid,
                reason,
                where,
                outcome,
                details,
                stored,
                pseq,
                phash,
            ) in rows:
                where_json = rendered_where.get(where)
                if where_json is None:
                    where_json = dumps(loads(where))
                    if len(rendered_where) < 100_000:
                        rendered_where[where] = where_json
                details_json = dumps(loads(details))
                # canonical_entry's JSON, keys in sorted order, assembled from the rendered fields
                entry = (
                    f'{{"action":{text(action)},"actor":{text(actor)},"at":"{at}","case_id":{text(cid)},'
                    f"{_link(pseq, phash)}"
                    f'"details":{details_json},"object_id":{text(oid)},"object_type":{text(otype)},'
                    f'"outcome":{text(outcome)},"reason":{text(reason)},"seq":{seq},"sha256":{text(sha)},'
                    f'"version_id":{text(vid)},"where":{where_json}}}'
                )
                if sha256(b"\x00" + entry.encode("utf-8")).digest() != stored:
                    _suspect(result, seq, _fields(entry), bytes(stored))
                if seq != expected:
                    if seq < 1:
                        result.outside.append(seq)
                    elif seq > expected:
                        result.gaps.append((expected, seq - 1))
                expected = seq + 1
                leaves += stored if len(stored) == 32 else (bytes(stored) + bytes(32))[:32]
                if at < prev_at and len(result.inversions) < MAX_INVERSIONS:
                    result.inversions.append(seq)
                prev_at = at
                if include_objects and vid and '"object_key"' in details:
                    if action == DELETED_ACTION:
                        key = loads(details).get("object_key")
                        if isinstance(key, str):
                            result.deleted.add((key, vid))
                    elif sha:
                        _reference(result, seq, oid, sha, vid, loads(details))
            result.rows += len(rows)
            if result.seqs_first is None:
                result.seqs_first, result.first_at = rows[0][0], rows[0][1]
            result.seqs_last, result.last_at = rows[-1][0], rows[-1][1]
    if high is not None and expected <= high:
        result.gaps.append((expected, high))
    return result


def _link(prev_seq: int | None, prev_hash: str | None) -> str:
    """The entry's case_prev member and its comma (nothing for an event outside the case chains)."""
    if prev_seq is None:
        return ""
    if prev_seq == 0 or prev_hash is None:
        return '"case_prev":null,'
    return f'"case_prev":{{"hash":"{prev_hash}","seq":{prev_seq}}},'


def _text(value: str | None) -> str:
    return "null" if value is None else _encode_string(value)


def _fields(entry: str) -> dict[str, Any]:
    fields: dict[str, Any] = json.loads(entry)
    fields.pop("seq")
    return fields


def _suspect(result: RangeResult, seq: int, entry: dict[str, Any], stored: bytes) -> None:
    if reference_leaf(seq, entry) == stored:
        # The fast rendering disagrees with canonical_entry: trust canonical_entry, never report the row.
        log.warning("custody verification: fast leaf of seq %s differs from canonical_entry's", seq)
        return
    keep = entry if len(result.suspects) < MAX_SUSPECTS else None
    result.suspects.append(Suspect(seq=seq, entry=keep, stored=stored))


def _reference(result: RangeResult, seq: int, object_id: str | None, sha: str, version: str, details: Any) -> None:
    key = details.get("object_key") if isinstance(details, dict) else None
    if isinstance(key, str) and key:
        result.objects.setdefault((key, version), []).append(ObjectReference(seq, object_id, sha))
    for name in ALSO_STORED:
        more = details.get(name) if isinstance(details, dict) else None
        if isinstance(more, dict):
            also_key, also_version, also_sha = more.get("object_key"), more.get("version_id"), more.get("sha256")
            named = isinstance(also_key, str) and isinstance(also_version, str) and isinstance(also_sha, str)
            if named and also_key and also_version:
                reference = ObjectReference(seq, object_id, str(also_sha))
                result.objects.setdefault((str(also_key), str(also_version)), []).append(reference)


def walk_range_in_worker(
    dsn: str, snapshot: str, low: int | None, high: int | None, include_objects: bool
) -> RangeResult:
    """A worker process's range, read in the snapshot the verifier exported."""
    with psycopg.connect(dsn) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        return walk_range(conn, low, high, include_objects=include_objects)
