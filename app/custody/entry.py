"""The canonical bytes of a custody event: what its Merkle leaf commits to.

Format (documented in docs/CUSTODY.md): UTF-8 JSON, keys sorted, no insignificant whitespace, non-ASCII
kept as is; times as ISO 8601 UTC with microseconds and a "Z"; UUIDs lower-case hex with hyphens; absent
values as null. Anyone can rebuild these bytes from an exported event and check its leaf hash.

An event of a case recorded since the custody_case_chains migration also carries ``case_prev``: the case's
previous event as ``{"hash": <its leaf hash, hex>, "seq": <its seq>}``, or null for the first event of the
case's chain. It is
filled in at commit, when the seq is given (see :func:`entry_parts`). Events without a case, and events of
a case recorded before that migration, have no such key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

ENTRY_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "sha256",
    "version_id",
    "case_id",
    "reason",
    "where",
    "outcome",
    "details",
)


ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()  # an entry without the key


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _entry(
    *,
    seq: int | None,
    at: datetime,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: UUID | None,
    sha256: str | None,
    version_id: str | None,
    case_id: UUID | None,
    reason: str | None,
    where: dict[str, Any],
    outcome: str,
    details: dict[str, Any],
    case_prev: Any = ABSENT,
) -> dict[str, Any]:
    entry = {
        "seq": seq,
        "at": format_time(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id else None,
        "sha256": sha256,
        "version_id": version_id,
        "case_id": str(case_id) if case_id else None,
        "reason": reason,
        "where": where,
        "outcome": outcome,
        "details": details,
    }
    if case_prev is not ABSENT:
        entry["case_prev"] = case_prev
    return entry


def case_prev_value(prev_seq: int | None, prev_hash: bytes | None) -> Any:
    """The entry's ``case_prev`` from the stored columns: ABSENT (no chain), None (the first) or the link."""
    if prev_seq is None:
        return ABSENT
    if prev_seq == 0 or prev_hash is None:
        return None
    return {"hash": prev_hash.hex(), "seq": prev_seq}


def _encode(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_entry(*, seq: int, **fields: Any) -> bytes:
    """The bytes the event's leaf hashes (fields as :func:`_entry` takes them)."""
    return _encode(_entry(seq=seq, **fields))


_ENCODE_SORTED = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def entry_around_seq(**fields: Any) -> tuple[bytes, bytes]:
    """The canonical entry's bytes (fields as :func:`_entry` takes them) before and after the digits of its seq,
    for an event whose seq is given at commit: head + str(seq) + tail is, byte for byte, :func:`canonical_entry`
    with that seq.

    A JSON object with sorted keys and these separators is "{" + the members joined by "," + "}", each member
    the key's JSON, ":", the value's JSON; "seq" sorts between "reason" and "sha256". So the members before
    it are one such object without its "}", those after it one without its "{" (two encodings in all)."""
    members = _entry(seq=None, **fields)
    before = _ENCODE_SORTED({key: value for key, value in members.items() if key < "seq"})
    after = _ENCODE_SORTED({key: value for key, value in members.items() if key > "seq"})
    return (before[:-1] + ',"seq":').encode("utf-8"), ("," + after[1:]).encode("utf-8")


def entry_parts(**fields: Any) -> tuple[bytes, bytes | None, bytes]:
    """The canonical entry of an event whose seq (and, for a case's event, case_prev) are given at commit, in
    the pieces around them: for an event without a case (head, None, tail) as :func:`entry_around_seq`; for a
    case's event (head, mid, tail) with head + case_prev JSON + mid + str(seq) + tail, byte for byte,
    :func:`canonical_entry` with that case_prev and seq ("case_prev" sorts between "case_id" and "details")."""
    if fields.get("case_id") is None:
        head, tail = entry_around_seq(**fields)
        return head, None, tail
    members = _entry(seq=None, **fields)
    before = _ENCODE_SORTED({key: value for key, value in members.items() if key < "case_prev"})
    between = _ENCODE_SORTED({key: value for key, value in members.items() if "case_prev" < key < "seq"})
    after = _ENCODE_SORTED({key: value for key, value in members.items() if key > "seq"})
    return (
        (before[:-1] + ',"case_prev":').encode("utf-8"),
        ("," + between[1:-1] + ',"seq":').encode("utf-8"),
        ("," + after[1:]).encode("utf-8"),
    )
