"""What the writer computes in Python: the canonical entry split around the seq digits is canonical_entry, byte
for byte, and details that skip the JSON round trip come out as the round trip would make them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.custody import service
from app.custody.entry import canonical_entry, entry_around_seq, entry_parts
from app.custody.service import _json_safe

BASE: dict[str, Any] = {
    "at": datetime(2026, 12, 1, 8, 30, 5, 7, tzinfo=UTC),
    "actor": "system:test",
    "action": "test.entry",
    "object_type": None,
    "object_id": None,
    "sha256": None,
    "version_id": None,
    "case_id": None,
    "reason": None,
    "where": {},
    "outcome": "ok",
    "details": {},
}

VARIANTS: list[dict[str, Any]] = [
    {},
    {
        "object_type": "clip",
        "object_id": uuid.UUID("0b7e4f0c-8d1b-4c5e-9a55-1c2d3e4f5a6b"),
        "sha256": "ab" * 32,
        "version_id": "3f2a-v1",
        "case_id": uuid.UUID("6f1c0000-0000-4000-8000-000000000001"),
        "reason": "Trích xuất camera phường Bến Nghé",
    },
    # members named like the top-level ones, nested on both sides of the seq
    {"details": {"seq": 0, "sha256": "x", "reason": None}, "where": {"seq": 7, "action": "a", "z": [1, 2]}},
    {"reason": 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f ,"seq":1,', "actor": "user:ß→☃"},
    {"details": {"offset_s": -2.5, "tiny": 1e-7, "big": 25_000_000_000_000_000, "nested": {"l": [None, True]}}},
    {"at": datetime(2026, 12, 1, 15, 0, tzinfo=timezone(timedelta(hours=7)))},
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("seq", [1, 9, 10, 4_294_967_297])
def test_head_seq_tail_is_the_canonical_entry(variant: dict[str, Any], seq: int) -> None:
    fields = {**BASE, **variant}
    head, tail = entry_around_seq(**fields)
    assert head + str(seq).encode() + tail == canonical_entry(seq=seq, **fields)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("link", [None, {"hash": "cd" * 32, "seq": 41}])
def test_a_case_events_pieces_with_its_link_are_the_canonical_entry(variant: dict[str, Any], link: Any) -> None:
    fields = {**BASE, **variant, "case_id": uuid.UUID("6f1c0000-0000-4000-8000-000000000002")}
    head, mid, tail = entry_parts(**fields)
    assert mid is not None
    link_json = json.dumps(link, sort_keys=True, separators=(",", ":")).encode()
    assert head + link_json + mid + b"77" + tail == canonical_entry(seq=77, case_prev=link, **fields)
    assert entry_parts(**{**fields, "case_id": None})[1] is None


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"component": "api", "client": "10.0.0.1", "n": 3, "ok": True, "none": None, "f": -2.5, "tiny": 1e-7},
        {"nested": {"list": [1, "hai", None, True, {"deep": [0.5]}]}, "big_int": 10**20},
        {"big_float": 2.5e16, "nested": [1e16, -1e17, 1e15]},
        {"when": datetime(2026, 12, 1, tzinfo=UTC), "id": uuid.UUID(int=7), "raw": b"\x01\xff"},
        {2: "int key", None: "none key", False: "bool key"},
        {"tuple": (1, 2), "nan": float("nan")},
        {"negative_zero": -0.0, "list": [-0.0, -3.0, 0.0, {"z": -0.0}]},
        {"inf": float("inf"), "in_a_list": [float("-inf"), 1.5]},
    ],
)
def test_plain_details_skip_the_json_round_trip_with_the_same_result(
    value: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = _json_safe(value)
    monkeypatch.setattr(service, "_comes_back_as_is", lambda _: False)
    assert json.dumps(quick, sort_keys=True) == json.dumps(_json_safe(value), sort_keys=True)
