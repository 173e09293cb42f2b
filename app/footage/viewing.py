"""Every view of evidence in the custody log: reading an original's or clip's record, opening its player page,
starting playback, and fetching its bytes through an evidence link.

Links are served by the service (GET /api/v1/links/{token}): the fetch is written to the custody log, then the
caller is redirected to a presigned URL of the exact object version, valid for a few minutes only. Issuing a
link is logged too (with its purpose), as before. `record_view` with an action in REACHED is the one place that
hears "this object's bytes were played or fetched by a reader": what such a fetch sets in motion hooks in there.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, ensure_role, ensure_visible, may
from app.core import clock
from app.core.config import get_settings
from app.core.errors import Gone, NotFound, RuleViolation
from app.core.storage import get_storage
from app.custody.service import append_event
from app.footage import failures
from app.footage.delivery import USES, mark_delivered
from app.footage.link_models import EvidenceLink
from app.footage.models import Clip, Original
from app.footage.playable_models import COPY_FAILURES_SHOWN, PlaybackCopy, PlaybackCopyAttempt
from app.footage.service import case_of, get_clip, get_original

Kind = Literal["original", "clip"]
KINDS: tuple[Kind, ...] = ("original", "clip")

# The custody actions of a view, after the object kind ("clip.page_viewed", ...).
RECORD_READ = "record_read"  # the record read through the API
PAGE_VIEWED = "page_viewed"  # its player page opened
PLAYBACK_STARTED = "playback_started"  # the player started playing it
LINK_FETCHED = "link_fetched"  # its bytes fetched through an evidence link
VIEW_ACTIONS = (RECORD_READ, PAGE_VIEWED, PLAYBACK_STARTED, LINK_FETCHED)
REACHED = (PLAYBACK_STARTED, LINK_FETCHED)  # the views in which the bytes reached the reader

# The presigned URL a link redirects to lives this long at most (the link itself may live longer).
REDIRECT_SECONDS = 300
PLAYBACK_PURPOSE = "playback in the player"
EXPIRED = "This link has expired. Ask for a new one from the clip's page."
UNKNOWN = "No such link."


def evidence_item(session: Session, actor: Actor, kind: Kind, object_id: UUID) -> Original | Clip:
    """The original or clip within the actor's scope (404 otherwise, logged as any denial)."""
    return get_original(session, actor, object_id) if kind == "original" else get_clip(session, actor, object_id)


def _case_of(session: Session, item: Original | Clip) -> UUID | None:
    return case_of(session, item)


def record_view(
    session: Session,
    actor_label: str,
    kind: Kind,
    item: Original | Clip,
    action: str,
    *,
    where: dict[str, str | None],
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write one view of `item` (who, which object version, purpose, client address) in the caller's transaction."""
    assert action in VIEW_ACTIONS
    append_event(
        session,
        actor=actor_label,
        action=f"{kind}.{action}",
        object_type=kind,
        object_id=item.id,
        sha256=item.sha256,
        version_id=item.version_id,
        case_id=_case_of(session, item),
        reason=purpose,
        where=where,
        details=details or {},
    )


def read_record(session: Session, actor: Actor, kind: Kind, object_id: UUID) -> Original | Clip:
    """An original's or clip's record within scope; the read is a custody event."""
    item = evidence_item(session, actor, kind, object_id)
    record_view(session, actor.label, kind, item, RECORD_READ, where=actor.where())
    return item


def may_fetch(actor: Actor, kind: Kind, object_id: UUID) -> None:
    ensure_role(actor, "footage.download")
    if kind == "clip" and not may(actor, "clips.download"):
        # Owners handed over the original; clips are the investigation's derivative.
        ensure_visible(False, actor, "clip", object_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _filename(item: Original | Clip) -> str:
    if isinstance(item, Original):
        return item.filename
    return f"clip-{item.id}{PurePosixPath(item.object_key).suffix}"


def _new_link(
    session: Session,
    actor: Actor,
    kind: Kind,
    item: Original | Clip,
    purpose: str,
    seconds: int,
    copy: PlaybackCopy | None = None,
) -> tuple[EvidenceLink, str]:
    """A link to the item's exact version, or to its playback copy's (`copy`): still a view of the item."""
    token = secrets.token_urlsafe(32)  # 256 bits; only its hash is stored
    now = clock.now()
    link = EvidenceLink(
        token_sha256=_digest(token),
        object_type=kind,
        object_id=item.id,
        object_key=copy.object_key if copy else item.object_key,
        version_id=copy.version_id if copy else item.version_id,
        sha256=copy.sha256 if copy else item.sha256,
        filename=f"{PurePosixPath(_filename(item)).stem}-playback.mp4" if copy else _filename(item),
        case_id=_case_of(session, item),
        purpose=purpose,
        issued_by=actor.label,
        issued_at=now,
        expires_at=now + timedelta(seconds=seconds),
    )
    session.add(link)
    session.flush()
    return link, token


def link_url(token: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/api/v1/links/{token}"


def issue_link(
    session: Session,
    actor: Actor,
    kind: Kind,
    object_id: UUID,
    purpose: str,
    expires_in_s: int | None,
    use: str = "download",
) -> dict[str, Any]:
    """A short-lived link to the exact version, answered by the service (each fetch logged), and written to the
    custody log with its purpose and use (download or play). The filing unit's first link to a ready clip
    delivers the request (app.footage.delivery)."""
    if use not in USES:
        raise RuleViolation("use", f"one of {', '.join(USES)}")
    ensure_role(actor, "footage.download")
    item = evidence_item(session, actor, kind, object_id)
    may_fetch(actor, kind, object_id)
    settings = get_settings()
    seconds = expires_in_s or settings.download_link_minutes * 60
    if seconds > settings.download_link_max_minutes * 60:
        raise RuleViolation("expires_in_s", f"at most {settings.download_link_max_minutes * 60} seconds")
    link, token = _new_link(session, actor, kind, item, purpose, seconds)
    append_event(
        session,
        actor=actor.label,
        action=f"{kind}.download_link_issued",
        object_type=kind,
        object_id=item.id,
        sha256=item.sha256,
        version_id=item.version_id,
        case_id=link.case_id,
        reason=purpose,
        where=actor.where(),
        details={
            "expires_at": link.expires_at.isoformat(),
            "object_key": item.object_key,
            "link_id": str(link.id),
            "use": use,
        },
    )
    if isinstance(item, Clip):
        mark_delivered(session, item, actor, use, purpose)
    return {"url": link_url(token), "expires_at": link.expires_at, "sha256": item.sha256, "version_id": item.version_id}


def fetch_link(session: Session, token: str, client_address: str | None) -> str:
    """Follow an evidence link: 404 for an unknown token, 410 once expired; else the fetch is logged (who the
    link was issued to, the version, the purpose, the fetching address) and a presigned URL of that version,
    valid a few minutes at most, is returned."""
    link = session.scalar(select(EvidenceLink).where(EvidenceLink.token_sha256 == _digest(token)))
    if link is None:
        raise NotFound(UNKNOWN)
    now = clock.now()
    if now >= link.expires_at:
        raise Gone(EXPIRED)
    kind: Kind = "original" if link.object_type == "original" else "clip"
    item: Original | Clip | None = (
        session.get(Original, link.object_id) if kind == "original" else session.get(Clip, link.object_id)
    )
    if item is None or item.deleted_at is not None:
        raise Gone(EXPIRED)
    details = {"link_id": str(link.id)}
    if link.object_key != item.object_key:  # the playback copy of an original, pinned to its version
        copy = session.scalar(
            select(PlaybackCopy).where(
                PlaybackCopy.object_key == link.object_key, PlaybackCopy.version_id == link.version_id
            )
        )
        if copy is None or copy.deleted_at is not None or copy.original_id != item.id:
            raise Gone(EXPIRED)
        details |= copy_details(copy)
    seconds = max(1, min(REDIRECT_SECONDS, int((link.expires_at - now).total_seconds())))
    url = get_storage().presign_get(
        link.object_key, link.version_id, timedelta(seconds=seconds), filename=link.filename
    )
    record_view(
        session,
        link.issued_by,
        kind,
        item,
        LINK_FETCHED,
        where={"component": "api", "client_address": client_address},
        purpose=link.purpose,
        details=details,
    )
    return url


@dataclass(frozen=True)
class Player:
    """What the player page shows of one original or clip: where its bytes come from (a logged link), and the
    times needed to put the true time beside the recorder's time of the current frame."""

    kind: Kind
    item: Original | Clip
    media_url: str
    link_expires_at: datetime
    true_start: datetime  # true time of the first frame
    # media time of the first video frame: 0 for a clip cut zero-based; None when only the video tells (an
    # original, or a clip cut before, whose timestamps kept their offsets in the original)
    first_pts_s: float | None
    clock_offset_s: float  # recorder minus true time
    frame_rate: float
    playable: bool  # a browser can play the container and codec (of the playback copy, when there is one)
    playback_copy: PlaybackCopy | None  # the stream-copied MP4 played in place of an original
    codec_unplayable: bool  # the video codec itself is one a browser cannot decode (no copy can help)
    copy_coming: bool  # an original whose container alone does not play: its playback copy is not made yet
    # of an original whose copy is coming: how many attempts at it failed, and when the sweep tries again
    copy_failures: int
    copy_next_try: datetime | None
    request_id: UUID | None  # None for an appeal's original and its clips: they belong to the case alone
    case_id: UUID | None

    @property
    def copy_failed(self) -> bool:
        """The copy is still missing after several failed tries: the page says so instead of "being made"."""
        return self.copy_coming and self.copy_failures >= COPY_FAILURES_SHOWN


PLAYABLE_CONTAINERS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "mp4", "mkv")
PLAYABLE_CODECS = ("h264", "vp8", "vp9", "av1")


def container_playable(container: str) -> bool:
    return container in PLAYABLE_CONTAINERS


def codec_playable(codec: str) -> bool:
    return codec in PLAYABLE_CODECS


def _playable(container: str, codec: str | None) -> bool:
    return container_playable(container) and codec_playable(codec or "")


def copy_details(copy: PlaybackCopy) -> dict[str, str]:
    """What a view's custody event says of the playback copy that was played in place of the original."""
    return {
        "played_from": "playback_copy",
        "playback_copy_id": str(copy.id),
        "playback_copy_object_key": copy.object_key,
        "playback_copy_version_id": copy.version_id,
        "playback_copy_sha256": copy.sha256,
    }


def playback_copy_of(session: Session, original: Original) -> PlaybackCopy | None:
    """The original's playback copy, when its container is one a browser cannot play and a copy is stored."""
    if container_playable(str(original.media.get("container") or "")):
        return None
    return session.scalar(
        select(PlaybackCopy).where(PlaybackCopy.original_id == original.id, PlaybackCopy.deleted_at.is_(None))
    )


def open_player(
    session: Session, actor: Actor, kind: Kind, object_id: UUID, *, purpose: str = PLAYBACK_PURPOSE
) -> Player:
    """Open the player on an original or clip: the page view is logged, and a playback link issued (each fetch of
    it logged as well). An original in a container a browser cannot play is played from its playback copy (the
    same frames by stream copy); the link and the view say so."""
    item = evidence_item(session, actor, kind, object_id)
    may_fetch(actor, kind, object_id)
    seconds = get_settings().download_link_minutes * 60
    copy = playback_copy_of(session, item) if isinstance(item, Original) else None
    attempt = session.get(PlaybackCopyAttempt, item.id) if isinstance(item, Original) and copy is None else None
    link, token = _new_link(session, actor, kind, item, purpose, seconds, copy)
    record_view(
        session,
        actor.label,
        kind,
        item,
        PAGE_VIEWED,
        where=actor.where("web"),
        purpose=purpose,
        details={
            "link_id": str(link.id),
            "link_expires_at": link.expires_at.isoformat(),
            **(copy_details(copy) if copy else {}),
        },
    )
    if isinstance(item, Clip):
        original = session.get(Original, item.original_id)
        assert original is not None
        true_start, media, container = item.actual_start, original.media, item.container
        codec = str(media.get("video_codec") or "")
        container = "mp4" if container == "mp4" else "mkv"
    else:
        true_start, media = item.recording_start_true, item.media
        container, codec = str(media.get("container") or ""), str(media.get("video_codec") or "")
        if copy is not None:
            container, codec = str(copy.media.get("container") or ""), str(copy.media.get("video_codec") or "")
    return Player(
        kind=kind,
        item=item,
        media_url=f"/api/v1/links/{token}",
        link_expires_at=link.expires_at,
        true_start=true_start,
        first_pts_s=item.first_pts_s if isinstance(item, Clip) else None,
        clock_offset_s=item.clock_offset_s,
        frame_rate=float(media.get("frame_rate") or 25),
        playable=_playable(container, codec),
        playback_copy=copy,
        codec_unplayable=bool(codec) and not codec_playable(codec),
        copy_coming=isinstance(item, Original)
        and copy is None
        and not item.needs_conversion
        and codec_playable(codec)
        and not container_playable(container),
        copy_failures=attempt.failures if attempt is not None else 0,
        copy_next_try=attempt.failed_at + failures.wait_after(attempt.failures) if attempt is not None else None,
        request_id=item.request_id,
        case_id=link.case_id,
    )


def playback_started(session: Session, actor: Actor, kind: Kind, object_id: UUID) -> None:
    """The player started playing the object: a custody event (the bytes' fetches are logged by the link)."""
    item = evidence_item(session, actor, kind, object_id)
    may_fetch(actor, kind, object_id)
    copy = playback_copy_of(session, item) if isinstance(item, Original) else None
    record_view(
        session,
        actor.label,
        kind,
        item,
        PLAYBACK_STARTED,
        where=actor.where("web"),
        purpose=PLAYBACK_PURPOSE,
        details=copy_details(copy) if copy else None,
    )
    if isinstance(item, Clip):
        # the filing unit's first playback of a ready clip delivers its request, as a first download does
        mark_delivered(session, item, actor, "play", PLAYBACK_PURPOSE)
