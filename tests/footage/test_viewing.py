"""Every view of evidence is in the custody log: the record read through the API, the player page opened, playback
started, and each fetch of the bytes through an evidence link (logged once per fetch; an expired link refused).
The owner's ledger shows these views of the owner's footage. Real PostgreSQL, S3 and ffmpeg."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core import clock
from app.core.db import session_factory
from app.custody.models import CustodyEvent
from app.footage import viewing
from app.footage.cutting import make_clip
from app.footage.models import Clip
from app.web.error_pages import LINK_REFUSALS
from tests.factories import PASSWORD, Account, web_login
from tests.footage.test_footage import FORMATS, _upload, _video, approved_request

OFFSET_S = 42  # the recorder runs 42 s fast


@pytest.fixture()
def clip_ready(client: TestClient, tmp_path: Path) -> Iterator[tuple[Account, Account, Clip, str]]:
    """A clip cut from an MP4 whose recorder was 42 s fast: (investigator, owner, clip, original id)."""
    investigator, owner, request_id, t0 = approved_request(client)
    path = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1])
    recorder_clock = (t0 + timedelta(seconds=OFFSET_S)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None)
    sent = _upload(
        client, owner, request_id, path, recorder_clock.isoformat(), **{"X-Clock-Offset-Seconds": str(OFFSET_S)}
    )
    assert sent.status_code == 201, sent.text
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    yield investigator, owner, clip, sent.json()["id"]
    clock.set_clock(None)


def _events(object_id: uuid.UUID | str, action: str) -> list[CustodyEvent]:
    with session_factory()() as session:
        return list(
            session.scalars(
                select(CustodyEvent)
                .where(CustodyEvent.object_id == uuid.UUID(str(object_id)), CustodyEvent.action == action)
                .order_by(CustodyEvent.seq)
            )
        )


def _sign_in_pages(client: TestClient, who: Account) -> str:
    client.cookies.clear()
    assert web_login(client, data={"email": who.email, "password": PASSWORD}, follow_redirects=False).status_code
    return client.cookies["footage_session"]


def test_reads_page_views_and_playback_are_logged_and_in_the_owner_ledger(
    client: TestClient, clip_ready: tuple[Account, Account, Clip, str]
) -> None:
    investigator, owner, clip, original_id = clip_ready
    assert _events(clip.id, "clip.record_read") == []
    assert client.get(f"/api/v1/clips/{clip.id}", headers=investigator.headers).status_code == 200
    assert client.get(f"/api/v1/originals/{original_id}", headers=owner.headers).status_code == 200
    (read,) = _events(clip.id, "clip.record_read")
    assert read.actor == f"user:{investigator.id}" and read.version_id == clip.version_id
    assert read.sha256 == clip.sha256 and read.where["client_address"]
    (original_read,) = _events(original_id, "original.record_read")
    assert original_read.actor == f"user:{owner.id}"

    # the player page: opening it and starting playback are each an event, the video comes through a link
    _sign_in_pages(client, investigator)
    page = client.get(f"/clips/{clip.id}/play")
    assert page.status_code == 200, page.text
    media = re.search(r'<video id="player"[^>]* src="(/api/v1/links/[\w-]+)"', page.text)
    assert media is not None
    (viewed,) = _events(clip.id, "clip.page_viewed")
    assert viewed.where["component"] == "web" and viewed.reason == viewing.PLAYBACK_PURPOSE
    # the first frame's true time (actual start) and the recorder's offset go with the page, in milliseconds
    assert f'data-true-start-ms="{int(clip.actual_start.timestamp() * 1000)}"' in page.text
    assert f'data-offset-ms="{OFFSET_S * 1000}"' in page.text
    assert clip.actual_start.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%H:%M:%S") in page.text
    csrf = re.search(r'data-csrf="([^"]+)"', page.text)
    assert csrf is not None
    refused = client.post(f"/clips/{clip.id}/played", headers={"X-CSRF-Token": "forged"})
    assert refused.status_code == 403 and _events(clip.id, "clip.playback_started") == []
    played = client.post(f"/clips/{clip.id}/played", headers={"X-CSRF-Token": csrf.group(1)})
    assert played.status_code == 204
    (started,) = _events(clip.id, "clip.playback_started")
    assert started.actor == f"user:{investigator.id}"
    fetched = client.get(media.group(1), follow_redirects=False)
    assert fetched.status_code == 302
    assert len(_events(clip.id, "clip.link_fetched")) == 1

    # the owner may open the original's player, not the clip's (clips are the investigation's)
    _sign_in_pages(client, owner)
    assert client.get(f"/originals/{original_id}/play").status_code == 200
    assert client.get(f"/clips/{clip.id}/play").status_code == 404
    client.cookies.clear()

    ledger = client.get("/api/v1/me/ledger", headers=owner.headers).json()["items"]
    actions = {e["action"] for e in ledger}
    assert {"clip.record_read", "clip.page_viewed", "clip.playback_started", "clip.link_fetched"} <= actions
    assert {"original.record_read", "original.page_viewed"} <= actions
    viewed_row = next(e for e in ledger if e["action"] == "clip.page_viewed")
    assert viewed_row["who"].startswith("điều tra viên · ") and viewed_row["reason"] == "xem trong trình phát"
    _sign_in_pages(client, owner)
    ledger_page = client.get("/owner/ledger").text
    assert "Mở trang xem đoạn trích" in ledger_page and "Phát đoạn trích" in ledger_page
    assert "Tải đoạn trích qua đường dẫn" in ledger_page


def test_a_link_fetch_is_logged_once_per_fetch_and_an_expired_link_is_refused(
    client: TestClient, clip_ready: tuple[Account, Account, Clip, str]
) -> None:
    investigator, _, clip, _ = clip_ready
    issued = client.post(
        f"/api/v1/clips/{clip.id}/download-link",
        json={"purpose": "Trình viện kiểm sát", "expires_in_s": 120},
        headers=investigator.headers,
    )
    assert issued.status_code == 200, issued.text
    url = issued.json()["url"]
    assert "/api/v1/links/" in url and "X-Amz" not in url, "the link is the service's, not storage's"
    (issue,) = _events(clip.id, "clip.download_link_issued")
    assert _events(clip.id, "clip.link_fetched") == []

    for fetch in (1, 2):
        answer = client.get(url, follow_redirects=False)
        assert answer.status_code == 302
        location = answer.headers["location"]
        query = parse_qs(urlparse(location).query)
        assert query["versionId"] == [clip.version_id], "pinned to the exact version"
        assert int(query["X-Amz-Expires"][0]) <= 120
        body = httpx.get(location)
        assert body.status_code == 200 and hashlib.sha256(body.content).hexdigest() == clip.sha256
        fetches = _events(clip.id, "clip.link_fetched")
        assert len(fetches) == fetch, "one event per fetch"
    last = fetches[-1]
    assert last.actor == f"user:{investigator.id}" and last.reason == "Trình viện kiểm sát"
    assert last.version_id == clip.version_id and last.sha256 == clip.sha256
    assert last.details["link_id"] == issue.details["link_id"] and last.where["client_address"]

    # two minutes later the link is gone: 410, in the reader's language, and nothing logged
    clock.set_clock(lambda: datetime.now(UTC) + timedelta(seconds=121))
    expired = client.get(url, follow_redirects=False)
    assert expired.status_code == 410
    assert expired.json()["detail"] == viewing.EXPIRED and viewing.EXPIRED in LINK_REFUSALS
    worded = client.get(url, follow_redirects=False, headers={"Accept-Language": "vi"})
    assert worded.status_code == 410 and "Đường dẫn đã hết hạn" in worded.json()["detail"]
    assert len(_events(clip.id, "clip.link_fetched")) == 2
    clock.set_clock(None)

    unknown = client.get(url[: url.rindex("/") + 1] + "x" * 43, follow_redirects=False)
    assert unknown.status_code == 404 and unknown.json()["detail"] == viewing.UNKNOWN
    # a link too long-lived is refused naming the field
    too_long = client.post(
        f"/api/v1/clips/{clip.id}/download-link",
        json={"purpose": "Trình viện kiểm sát", "expires_in_s": 86400},
        headers=investigator.headers,
    )
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "expires_in_s"


def test_mp4_clips_carry_their_index_first(clip_ready: tuple[Account, Account, Clip, str]) -> None:
    """faststart: the 'moov' box comes before 'mdat', so playback starts without fetching the file's end."""
    from app.core.storage import get_storage

    _, _, clip, _ = clip_ready
    assert clip.container == "mp4" and "+faststart" in clip.command[-1]
    head = get_storage().read_range(clip.object_key, clip.version_id, 0, 64 * 1024)
    assert 0 <= head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head
    assert b"moov" in head
