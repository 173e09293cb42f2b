"""Signed checkpoints of the custody log: the Ed25519 key, the signed bytes, and the append-only table.

A checkpoint says "the log held `tree_size` events and its Merkle root was `root_hash` at `issued_at`",
signed with the service's Ed25519 key. The key lives outside the database (settings
`signing_key_path`), is generated on first use, and is identified by the SHA-256 of its raw public key.

The signed bytes (documented in docs/CUSTODY.md) are ASCII text, one field per line, each line ending
in a line feed::

    footage-custody-checkpoint/v1
    <tree_size, decimal>
    <root_hash, 64 lower-case hex digits>
    <issued_at, YYYY-MM-DDTHH:MM:SS.ffffffZ>
    <key_id, 64 lower-case hex digits>
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, CheckConstraint, Index, LargeBinary, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core import clock
from app.core.config import get_settings
from app.core.db import Base
from app.custody import notes
from app.custody.entry import format_time
from app.custody.service import log_head

# cryptography (some 6 MB resident with its library) is imported where the key is used, so an API process that
# has signed or verified nothing does not carry it.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CHECKPOINT_FORMAT = "footage-custody-checkpoint/v1"
CHECKPOINT_TASK = "custody.checkpoint"  # the periodic signing, by the name it is queued under


class CustodyCheckpoint(Base):
    """One signed statement of the log's size and root. Never updated, never deleted (a trigger enforces it)."""

    __tablename__ = "custody_checkpoints"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        CheckConstraint("tree_size >= 0", name="tree_size_non_negative"),
        CheckConstraint("octet_length(root_hash) = 32", name="root_hash_len"),
        CheckConstraint("octet_length(signature) = 64", name="signature_len"),
        Index("ix_custody_checkpoints_tree_size_issued_at", "tree_size", "issued_at"),
    )


# -- the signing key -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    public: Ed25519PublicKey
    key_id: str

    @property
    def public_raw(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def public_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        pem = self.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return pem.decode("ascii")


def key_id_of(public: Ed25519PublicKey) -> str:
    """Hex SHA-256 of the raw 32-byte public key."""
    from cryptography.hazmat.primitives import serialization

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _create_key_file(path: Path) -> None:
    """Write a new private key to `path` (mode 0600) unless another process already did.

    The key is written to a private temporary file and hard-linked into place, so a concurrent reader
    never sees half a key and two processes starting together end up with the same one.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: its key is the key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load_key(path: Path) -> SigningKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not path.exists():
        _create_key_file(path)
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise RuntimeError(f"{path} holds a {type(private).__name__}, not an Ed25519 private key")
    public = private.public_key()
    return SigningKey(private=private, public=public, key_id=key_id_of(public))


_keys: dict[Path, SigningKey] = {}
_keys_lock = threading.Lock()


def signing_key() -> SigningKey:
    """The service's signing key, at settings `effective_signing_key_path`, generated on first use."""
    path = get_settings().effective_signing_key_path
    with _keys_lock:
        key = _keys.get(path)
        if key is None:
            key = _keys[path] = _load_key(path)
        return key


def public_key_pem() -> str:
    """The public key as PEM (SubjectPublicKeyInfo), for auditors and bundles."""
    return signing_key().public_pem


def public_key_record() -> dict[str, str]:
    """The public key as served: algorithm, key id, PEM, raw 32 bytes in hex, and as the note verifier key."""
    key = signing_key()
    return {
        "algorithm": "Ed25519",
        "key_id": key.key_id,
        "pem": key.public_pem,
        "raw_hex": key.public_raw.hex(),
        "origin": get_settings().custody_origin,
        "note_vkey": str(log_verifier_key()),
    }


def log_verifier_key() -> notes.VerifierKey:
    """The key checkpoint notes are signed with, as a signed-note verifier key named by the log's origin."""
    return notes.VerifierKey(get_settings().custody_origin, notes.SIG_ED25519, signing_key().public_raw)


def note_body(checkpoint: CustodyCheckpoint) -> str:
    """The C2SP checkpoint body of a checkpoint (origin, size, base64 root)."""
    return notes.checkpoint_body(get_settings().custody_origin, checkpoint.tree_size, checkpoint.root_hash)


def checkpoint_note(checkpoint: CustodyCheckpoint, cosignatures: Sequence[notes.SignatureLine] = ()) -> str:
    """The checkpoint as a signed note: its body, the log's signature, then any witnesses' cosignatures."""
    body = note_body(checkpoint)
    lines = [notes.sign_body(body, get_settings().custody_origin, signing_key().private), *cosignatures]
    return body + "\n" + "".join(str(line) for line in lines)


# -- the signed bytes --------------------------------------------------------------------------------
def checkpoint_message(tree_size: int, root_hash: bytes, issued_at: datetime, key_id: str) -> bytes:
    """The exact bytes a checkpoint signature covers (see the module docstring and docs/CUSTODY.md)."""
    return f"{CHECKPOINT_FORMAT}\n{tree_size}\n{root_hash.hex()}\n{format_time(issued_at)}\n{key_id}\n".encode("ascii")


def sign_checkpoint(tree_size: int, root_hash: bytes, issued_at: datetime | None = None) -> CustodyCheckpoint:
    """A signed, not yet stored, checkpoint for a log of `tree_size` events whose root is `root_hash`."""
    key = signing_key()
    # Stored as timestamptz (microseconds), so the signed time is exactly what is read back.
    at = issued_at or clock.now()
    signature = key.private.sign(checkpoint_message(tree_size, root_hash, at, key.key_id))
    return CustodyCheckpoint(
        tree_size=tree_size, root_hash=root_hash, issued_at=at, key_id=key.key_id, signature=signature
    )


def verify_checkpoint(checkpoint: CustodyCheckpoint, public: Ed25519PublicKey | None = None) -> bool:
    """True when the checkpoint's key id and signature are valid under `public` (default: the service's key)."""
    public = public or signing_key().public
    if checkpoint.key_id != key_id_of(public):
        return False
    from cryptography.exceptions import InvalidSignature

    message = checkpoint_message(checkpoint.tree_size, checkpoint.root_hash, checkpoint.issued_at, checkpoint.key_id)
    try:
        public.verify(checkpoint.signature, message)
    except InvalidSignature:
        return False
    return True


# -- issuing and reading -----------------------------------------------------------------------------
def issue_checkpoint(session: Session) -> CustodyCheckpoint:
    """Sign the log head as the caller's transaction sees it, and store the checkpoint.

    Issued on a schedule and on every export. Events the caller appended earlier in the same
    transaction are covered; the checkpoint commits or rolls back with them.
    """
    head = log_head(session)
    checkpoint = sign_checkpoint(head.tree_size, head.root_hash)
    session.add(checkpoint)
    session.flush()
    return checkpoint


def issue_checkpoint_if_grown(session: Session) -> CustodyCheckpoint | None:
    """The scheduled checkpoint: a new one only when the log grew since the latest."""
    latest = latest_checkpoint(session)
    if latest is not None and latest.tree_size >= log_head(session).tree_size:
        return None
    return issue_checkpoint(session)


def latest_checkpoint(session: Session) -> CustodyCheckpoint | None:
    """The checkpoint of the largest tree (the most recent among equals), if any was issued."""
    stmt = select(CustodyCheckpoint).order_by(
        CustodyCheckpoint.tree_size.desc(), CustodyCheckpoint.issued_at.desc(), CustodyCheckpoint.id
    )
    return session.execute(stmt.limit(1)).scalar_one_or_none()


def current_checkpoint(session: Session) -> CustodyCheckpoint:
    """The latest signed checkpoint, a new one issued first when the log grew since it (or none exists yet)."""
    latest = issue_checkpoint_if_grown(session) or latest_checkpoint(session)
    return latest if latest is not None else issue_checkpoint(session)


def covering_checkpoint(session: Session, seq: int) -> CustodyCheckpoint | None:
    """The first signed checkpoint whose tree holds event `seq` (its leaf index, seq - 1, is below the tree size),
    the earliest issued among equals; None when no checkpoint covers it yet."""
    stmt = (
        select(CustodyCheckpoint)
        .where(CustodyCheckpoint.tree_size >= seq)
        .order_by(CustodyCheckpoint.tree_size, CustodyCheckpoint.issued_at, CustodyCheckpoint.id)
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def list_checkpoints(session: Session, *, limit: int | None = None, offset: int = 0) -> Sequence[CustodyCheckpoint]:
    """Checkpoints by tree size, then time of issue."""
    stmt = select(CustodyCheckpoint).order_by(
        CustodyCheckpoint.tree_size, CustodyCheckpoint.issued_at, CustodyCheckpoint.id
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.execute(stmt.offset(offset)).scalars().all()


def checkpoint_record(checkpoint: CustodyCheckpoint) -> dict[str, Any]:
    """A checkpoint as served and exported: hashes and signature in lower-case hex, the time as signed."""
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash.hex(),
        "issued_at": format_time(checkpoint.issued_at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature.hex(),
    }
