"""A clip that cannot be cut (here: evidence storage unreachable while the footage waits, a real refused
connection) is not retried every minute for ever in silence: each failure is counted and recorded in custody
without paths or addresses, the sweep leaves the request 1, 2, 4 … minutes after each failure, the investigators
are told once at the third failure, the request page says why the clip is late and when the next try is, in the
reader's language; when storage is back the clip is cut and the notice goes."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core import clock, embedded, storage
from app.core.config import get_settings, override_settings
from app.core.db import session_factory
from app.custody.models import CustodyEvent
from app.extractions.models import ExtractionRequest
from app.footage import clip_failures, failures
from app.jobs import tasks
from app.notifications import service as outbox
from app.notifications import staff
from app.notifications.staff_models import StaffNotification
from tests.factories import PASSWORD, web_login
from tests.footage.test_footage import FORMATS, _upload, _video, approved_request


@contextmanager
def storage_unreachable() -> Iterator[None]:
    """Evidence storage at an address where nothing listens: every request is refused."""
    previous = get_settings().s3_endpoint
    override_settings(s3_endpoint=f"127.0.0.1:{embedded.free_ports(1)[0]}")
    storage.reset_storage()
    try:
        yield
    finally:
        override_settings(s3_endpoint=previous)
        storage.reset_storage()


def _request(request_id: str) -> ExtractionRequest:
    with session_factory()() as session:
        row = session.get(ExtractionRequest, uuid.UUID(request_id))
        assert row is not None
        session.expunge(row)
        return row


def _due(request_id: str) -> bool:
    with session_factory()() as session:
        return uuid.UUID(request_id) in clip_failures.due(session)


def look(client: TestClient, url: str, selector: str, name: str) -> None:
    """The page at `url` (signed in as the client is) in a real browser at desk and phone size in both languages:
    `selector` is visible, no horizontal overflow; kept as screenshots `name-<size>-<lang>.png` when
    SCREENSHOTS_DIR is set."""
    from playwright.sync_api import sync_playwright

    from tests.web.browser import CHROMIUM, DESKTOP, PHONE

    css = client.get("/static/css/app.css").text
    shots = os.environ.get("SCREENSHOTS_DIR")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for language in ("vi", "en"):
                client.cookies.set("lang", language)
                html = client.get(url).text
                html = html.replace('<link rel="stylesheet" href="/static/css/app.css">', f"<style>{css}</style>")
                for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                    page = browser.new_page(viewport=viewport)
                    page.set_content(html)
                    assert page.locator(selector).is_visible()
                    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
                    if shots:
                        page.locator(selector).scroll_into_view_if_needed()
                        page.screenshot(path=str(Path(shots) / f"{name}-{size}-{language}.png"))
                    page.close()
        finally:
            browser.close()


def _notice(client: TestClient, request_id: str, language: str) -> str:
    client.cookies.set("lang", language)
    page = client.get(f"/requests/{request_id}")
    assert page.status_code == 200, page.text
    found = re.search(r'<section class="card" id="clip-problem".*?</section>', page.text, re.S)
    return re.sub(r"<[^>]+>|\s+", " ", found.group(0)).strip() if found else ""


def test_a_clip_that_cannot_be_cut_waits_longer_each_time_and_its_investigators_are_told(
    client: TestClient, tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved_request(client)
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=15)
    assert _upload(client, owner, request_id, video, t0.isoformat()).status_code == 201
    assert web_login(client, data={"email": investigator.email, "password": PASSWORD}).status_code == 200
    assert _notice(client, request_id, "vi") == ""  # nothing failed yet

    frozen = clock.FrozenClock(datetime.now(UTC))
    clock.set_clock(frozen)
    try:
        with storage_unreachable():
            for count, wait_minutes in ((1, 1), (2, 2), (3, 4)):
                assert _due(request_id)
                tasks.sweep_clips(0)
                row = _request(request_id)
                assert (row.status, row.clip_failures, row.clip_problem) == ("footage_received", count, "storage")
                assert not _due(request_id), "tried again before its wait"
                frozen.advance(minutes=wait_minutes - 0.5)
                assert not _due(request_id)
                frozen.advance(minutes=0.5)
            assert _due(request_id)

        vi = _notice(client, request_id, "vi")
        assert "Chưa cắt được đoạn trích" in vi and "Kho lưu trữ chứng cứ không hoạt động." in vi, vi
        assert "Số lần thử không thành công: 3" in vi and "Asia/Ho_Chi_Minh" in vi, vi
        en = _notice(client, request_id, "en")
        assert "Evidence storage was unavailable." in en and "Failed tries so far: 3" in en, en
        look(client, f"/requests/{request_id}", "#clip-problem", "request-clip-problem")
        for shown in (vi, en):
            assert "127.0.0.1" not in shown and "http" not in shown and "/tmp" not in shown

        with session_factory()() as session:
            failed = list(
                session.scalars(
                    select(CustodyEvent)
                    .where(CustodyEvent.object_id == uuid.UUID(request_id), CustodyEvent.action == "clip.failed")
                    .order_by(CustodyEvent.seq)
                )
            )
            told = list(
                session.scalars(
                    select(StaffNotification).where(
                        StaffNotification.request_id == uuid.UUID(request_id), StaffNotification.kind == "clip_failed"
                    )
                )
            )
        assert [e.details["failures"] for e in failed] == [1, 2, 3]
        assert all(e.details["problem"] == "storage" and e.outcome == "failed" for e in failed)
        assert all("127.0.0.1" not in (e.reason or "") and "://" not in (e.reason or "") for e in failed)
        assert [n.user_id for n in told] == [investigator.id], "told once, at the third failure"
        assert told[0].params["problem"] == "storage"
        assert staff.text_of(told[0], "vi").startswith("Không cắt được đoạn trích")
        assert staff.text_of(told[0], "en").startswith("The clip could not be cut")
        body = outbox.render(staff.TEMPLATE, "vi", staff.words("clip_failed", told[0].params, "vi")).text
        assert "kho lưu trữ chứng cứ không hoạt động" in body, body

        # storage is back: the next sweep cuts the clip and the page says nothing of the failures any more
        tasks.sweep_clips(0)
        assert _request(request_id).status == "clip_ready"
        assert _notice(client, request_id, "vi") == ""
    finally:
        clock.set_clock(None)


def test_the_technical_words_keep_no_path_or_address() -> None:
    from app.core.media import MediaError

    words = failures.technical_words(
        MediaError("ffmpeg: /tmp/footage-clip-1/cut.mkv: Invalid data; http://127.0.0.1:8333/evidence/x?X-Amz=1")
    )
    assert "/tmp" not in words and "127.0.0.1" not in words and "Invalid data" in words
    assert failures.problem_of(MediaError("x")) == "media"
    assert failures.problem_of(RuntimeError("x")) == "internal"
