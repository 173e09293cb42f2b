"""RFC 3161 time-stamps of checkpoints: a Time-Stamp Authority outside the service attests when a checkpoint
existed.

When settings `tsa_url` is set, each scheduled checkpoint is sent to the TSA: the message imprint is the
SHA-256 of the checkpoint's note as the log signs it (body, empty line, the log's signature line; no
cosignatures), a nonce is asked for and the TSA's certificate requested. The TSA's whole answer (DER
TimeStampResp) is kept, append-only, and served with the checkpoint and put in bundles, where
scripts/verify_bundle.py checks it offline against the TSA's root certificate.

A TSA that does not answer, or answers something else than a granted time-stamp of this imprint with this
nonce, leaves the checkpoint without a time-stamp (logged); the next one is sent again.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, CheckConstraint, Index, LargeBinary, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core import clock
from app.core.config import get_settings
from app.core.db import Base
from app.custody.checkpoints import CustodyCheckpoint, checkpoint_note

log = logging.getLogger(__name__)


class CustodyTimestamp(Base):
    """A TSA's time-stamp of the checkpoint of this size and root. Never updated, never deleted."""

    __tablename__ = "custody_timestamps"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    response: Mapped[bytes] = mapped_column(LargeBinary)  # the DER TimeStampResp, as the TSA sent it
    gen_time: Mapped[datetime]
    received_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("tree_size >= 0", name="tree_size_non_negative"),
        CheckConstraint("octet_length(root_hash) = 32", name="root_hash_len"),
        Index("ix_custody_timestamps_tree_size", "tree_size"),
    )


class TimestampRefused(Exception):
    """The TSA did not give a time-stamp of the imprint asked for."""


def stamped_message(checkpoint: CustodyCheckpoint) -> bytes:
    """What a time-stamp's imprint is the SHA-256 of: the note as the log signs it."""
    return checkpoint_note(checkpoint).encode("utf-8")


def request_timestamp(message: bytes, url: str, timeout: float) -> tuple[bytes, datetime]:
    """Ask the TSA at `url` for a time-stamp of SHA-256(`message`); (its DER answer, its time)."""
    # Imported here: only the worker asks a TSA, and the API process need not carry httpx and rfc3161-client.
    import httpx
    from rfc3161_client import HashAlgorithm, PKIStatus, TimestampRequestBuilder, decode_timestamp_response

    request = (
        TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(HashAlgorithm.SHA256)
        .cert_request(cert_request=True)
        .nonce(nonce=True)
        .build()
    )
    answer = httpx.post(
        url,
        content=request.as_bytes(),
        headers={"Content-Type": "application/timestamp-query"},
        timeout=timeout,
    )
    if answer.status_code != 200:
        raise TimestampRefused(f"the TSA answered HTTP {answer.status_code}")
    try:
        response = decode_timestamp_response(answer.content)
    except ValueError as exc:
        raise TimestampRefused("the TSA's answer is not a time-stamp response") from exc
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampRefused(f"the TSA refused (status {response.status})")
    info = response.tst_info
    if info.message_imprint.message != hashlib.sha256(message).digest():
        raise TimestampRefused("the TSA stamped another imprint")
    if info.nonce != request.nonce:
        raise TimestampRefused("the TSA's answer carries another nonce")
    return answer.content, info.gen_time


def timestamp_checkpoint(session: Session, checkpoint: CustodyCheckpoint) -> CustodyTimestamp | None:
    """Have the configured TSA time-stamp `checkpoint` and store it; None when no TSA is set or it failed."""
    settings = get_settings()
    if not settings.tsa_url:
        return None
    import httpx

    try:
        response, gen_time = request_timestamp(
            stamped_message(checkpoint), settings.tsa_url, settings.tsa_timeout_seconds
        )
    except (httpx.HTTPError, TimestampRefused) as exc:
        log.warning("custody checkpoint of %s events not time-stamped: %s", checkpoint.tree_size, exc)
        return None
    stamp = CustodyTimestamp(
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        response=response,
        gen_time=gen_time,
        received_at=clock.now(),
    )
    session.add(stamp)
    session.flush()
    return stamp


def latest_timestamp(session: Session, *, at_most: int | None = None) -> CustodyTimestamp | None:
    """The time-stamp of the largest checkpoint (no larger than `at_most` events), the earliest among equals."""
    stmt = select(CustodyTimestamp)
    if at_most is not None:
        stmt = stmt.where(CustodyTimestamp.tree_size <= at_most)
    stmt = stmt.order_by(CustodyTimestamp.tree_size.desc(), CustodyTimestamp.gen_time)
    return session.execute(stmt.limit(1)).scalars().first()


def timestamp_of(session: Session, tree_size: int, root_hash: bytes) -> CustodyTimestamp | None:
    """The earliest time-stamp of the checkpoint of this size and root."""
    stmt = (
        select(CustodyTimestamp)
        .where(CustodyTimestamp.tree_size == tree_size, CustodyTimestamp.root_hash == root_hash)
        .order_by(CustodyTimestamp.gen_time)
    )
    return session.execute(stmt.limit(1)).scalars().first()
