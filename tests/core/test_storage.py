from __future__ import annotations

import hashlib
import io
import os
from datetime import timedelta

import httpx
import pytest

from app.core import clock
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
