from __future__ import annotations

import hashlib
import stat
from datetime import timedelta

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.custody import checkpoints
from app.custody.checkpoints import (
    CustodyCheckpoint,
    checkpoint_record,
    issue_checkpoint,
    issue_checkpoint_if_grown,
    latest_checkpoint,
    list_checkpoints,
    public_key_record,
    signing_key,
    verify_checkpoint,
)
from app.custody.service import log_head
from tests.custody.conftest import append


def _copy(checkpoint: CustodyCheckpoint, **changes: object) -> CustodyCheckpoint:
    fields = {k: getattr(checkpoint, k) for k in ("tree_size", "root_hash", "issued_at", "key_id", "signature")}
    return CustodyCheckpoint(**{**fields, **changes})


def test_key_is_generated_once_outside_the_database_with_mode_0600(configured: str) -> None:
    key = signing_key()
    path = get_settings().effective_signing_key_path
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key.key_id == hashlib.sha256(key.public_raw).hexdigest()
    checkpoints._keys.clear()  # a restart reads the same key back from its file
    assert signing_key().key_id == key.key_id
    record = public_key_record()
    assert record["raw_hex"] == key.public_raw.hex() and len(record["raw_hex"]) == 64
    loaded = serialization.load_pem_public_key(record["pem"].encode())
    assert isinstance(loaded, Ed25519PublicKey)
    assert hashlib.sha256(bytes.fromhex(record["raw_hex"])).hexdigest() == record["key_id"]


def test_signature_covers_the_documented_bytes(own_log: Engine) -> None:
    append(own_log, 5)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        checkpoint = issue_checkpoint(session)
        head = log_head(session)
        assert (checkpoint.tree_size, checkpoint.root_hash) == (head.tree_size, head.root_hash)
    record = checkpoint_record(checkpoint)
    # Rebuilt by hand from docs/CUSTODY.md, so the format cannot drift unnoticed.
    message = (
        "footage-custody-checkpoint/v1\n"
        f"{record['tree_size']}\n{record['root_hash']}\n{record['issued_at']}\n{record['key_id']}\n"
    ).encode()
    public = serialization.load_pem_public_key(public_key_record()["pem"].encode())
    assert isinstance(public, Ed25519PublicKey)
    public.verify(bytes.fromhex(record["signature"]), message)
    assert record["issued_at"].endswith("Z") and len(record["issued_at"]) == 27
    assert verify_checkpoint(checkpoint)


def test_any_tampering_breaks_the_signature(own_log: Engine) -> None:
    append(own_log, 3)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        checkpoint = issue_checkpoint(session)
    flipped_root = bytes([checkpoint.root_hash[0] ^ 1]) + checkpoint.root_hash[1:]
    flipped_signature = checkpoint.signature[:-1] + bytes([checkpoint.signature[-1] ^ 0x80])
    for tampered in (
        _copy(checkpoint, tree_size=checkpoint.tree_size + 1),
        _copy(checkpoint, root_hash=flipped_root),
        _copy(checkpoint, issued_at=checkpoint.issued_at + timedelta(microseconds=1)),
        _copy(checkpoint, signature=flipped_signature),
        _copy(checkpoint, key_id="0" * 64),
    ):
        assert not verify_checkpoint(tampered)
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify_checkpoint(checkpoint, other)
    with pytest.raises(InvalidSignature):
        other.verify(checkpoint.signature, b"anything")


def test_checkpoints_are_append_only(own_log: Engine) -> None:
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        issue_checkpoint(session)
    for statement in (
        "UPDATE custody_checkpoints SET tree_size = tree_size + 1",
        "DELETE FROM custody_checkpoints",
        "TRUNCATE custody_checkpoints",
    ):
        with Session(own_log) as session, pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))


def test_reading_and_scheduled_issue(own_log: Engine) -> None:
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        assert latest_checkpoint(session) is None
        empty = issue_checkpoint(session)
        assert empty.tree_size == 0 and empty.root_hash == hashlib.sha256(b"").digest()
        assert issue_checkpoint_if_grown(session) is None  # nothing appended since
    append(own_log, 2)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        grown = issue_checkpoint_if_grown(session)
        assert grown is not None and grown.tree_size == 2
    with Session(own_log) as session:
        assert [c.tree_size for c in list_checkpoints(session)] == [0, 2]
        latest = latest_checkpoint(session)
        assert latest is not None and latest.tree_size == 2 and verify_checkpoint(latest)
