"""The canonical bytes of a custody event: what its Merkle leaf commits to.

Format (documented in docs/CUSTODY.md): UTF-8 JSON, keys sorted, no insignificant whitespace, non-ASCII
kept as is; times as ISO 8601 UTC with microseconds and a "Z"; UUIDs lower-case hex with hyphens; absent
values as null. Anyone can rebuild these bytes from an exported event and check its leaf hash.
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


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_entry(
    *,
    seq: int,
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
) -> bytes:
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
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
