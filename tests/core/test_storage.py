from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from datetime import timedelta

import httpx
import pytest

from app.core import clock, multipart
from app.core.storage import StorageError, get_storage


def test_streaming_put_is_versioned_and_reads_are_version_pinned(configured: str) -> None:
    store = get_storage()
    first = store.put_stream("tests/pinned", io.BytesIO(b"first"), length=5)
    second = store.put_stream("tests/pinned", io.BytesIO(b"second!"), length=7)
    assert first.version_id and second.version_id and first.version_id != second.version_id
    assert b"".join(store.iter_version("tests/pinned", first.version_id)) == b"first"
    assert b"".join(store.iter_version("tests/pinned", second.version_id)) == b"second!"
    url = store.presign_get("tests/pinned", first.version_id, timedelta(minutes=1), filename="a.bin")
    got = httpx.get(url)
    assert got.status_code == 200 and got.content == b"first"
    assert "a.bin" in got.headers.get("content-disposition", "")


def test_unknown_length_stream_uses_multipart(configured: str) -> None:
    payload = os.urandom(17 * 1024 * 1024 + 3)
    stored = get_storage().put_stream("tests/multipart", io.BytesIO(payload), part_size=5 * 1024 * 1024)
    digest = hashlib.sha256()
    for chunk in get_storage().iter_version("tests/multipart", stored.version_id):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()
    assert get_storage().stat("tests/multipart", stored.version_id).size == len(payload)


def test_locked_version_refuses_deletion_and_reports_its_lock(configured: str) -> None:
    store = get_storage()
    stored = store.put_stream("tests/locked", io.BytesIO(b"evidence"), length=8)
    until = clock.now() + timedelta(days=1)
    store.lock(stored.key, stored.version_id, mode="COMPLIANCE", until=until)
    store.set_legal_hold(stored.key, stored.version_id, True)
    state = store.stat(stored.key, stored.version_id)
    assert state.retention_mode == "COMPLIANCE"
    assert state.legal_hold is True
    assert state.retain_until is not None and abs((state.retain_until - until).total_seconds()) < 2
    with pytest.raises(StorageError):
        store.remove_version(stored.key, stored.version_id)
    assert b"".join(store.iter_version(stored.key, stored.version_id)) == b"evidence"


def test_unlocked_version_can_be_removed(configured: str) -> None:
    store = get_storage()
    stored = store.put_stream("tests/unlocked", io.BytesIO(b"tmp"), length=3)
    store.remove_version(stored.key, stored.version_id)
    with pytest.raises(StorageError):
        store.stat(stored.key, stored.version_id)


def _versions_under(key: str) -> list[str]:
    store = get_storage()
    return [str(o.version_id) for o in store.client.list_objects(store.bucket, prefix=key, include_version=True)]


@pytest.mark.parametrize("size", [3000, 12 * 1024 * 1024], ids=["single put", "multipart"])
def test_bytes_that_do_not_match_their_checksum_are_refused_and_nothing_is_kept(
    configured: str, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """Each request carries the CRC32 of the bytes meant; the server checks it (the payload is not signed)."""
    calls = {"n": 0}
    real = multipart.crc32_of

    def altered_in_transit(pieces: Sequence[bytes]) -> int:
        calls["n"] += 1
        return real(pieces) ^ (1 if calls["n"] == 2 or size < 5 * 1024 * 1024 else 0)

    monkeypatch.setattr(multipart, "crc32_of", altered_in_transit)
    key = f"tests/altered-{size}"
    with pytest.raises(StorageError, match="BadDigest"):
        get_storage().put_stream(key, io.BytesIO(os.urandom(size)), length=size, part_size=5 * 1024 * 1024)
    assert _versions_under(key) == []


def test_an_object_assembled_from_other_parts_than_were_sent_is_removed(
    configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After completing, the object's composite checksum (as the server reports it) must be that of the parts."""
    monkeypatch.setattr(multipart, "composite_crc32", lambda crcs: f"AAAAAA==-{len(crcs)}")
    key = "tests/assembled"
    with pytest.raises(StorageError, match="other bytes"):
        get_storage().put_stream(key, io.BytesIO(os.urandom(11 * 1024 * 1024)), part_size=5 * 1024 * 1024)
    assert _versions_under(key) == []


def test_a_stream_shorter_than_declared_is_refused(configured: str) -> None:
    with pytest.raises(StorageError, match="ended after"):
        get_storage().put_stream("tests/short", io.BytesIO(b"x" * (6 * 1024 * 1024)), length=11 * 1024 * 1024)
    assert _versions_under("tests/short") == []
