"""The player plays what a resident sent through a community appeal, in a real browser against the running service:
from the appeal's page, the accepted video's original and its clip open in the player and play past one second
with no error; opening the page, the playback and the fetches are in the custody log; the clip's poster and strip
(made by the service's worker) are on the page; an investigator of another unit gets 404 for both.

Set SCREENSHOTS_DIR to keep the phone screenshot (390x844, Vietnamese)."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.core import embedded
from tests.appeals.helpers import phone_video, publish, send
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, PHONE, LiveService, live_service
from tests.web.evidence_scene import PASSWORD, custody_actions, sign_in

SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None


@dataclass
class Headers:
    headers: dict[str, str]


@dataclass
class AppealScene:
    investigator_email: str
    investigator: dict[str, str]
    stranger_email: str
    appeal_id: str
    original_id: str
    clip_id: str


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("appeal-player-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "appeal-player", data_dir) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            yield launched
        finally:
            launched.close()


def _investigator(service: LiveService, tag: str) -> tuple[str, dict[str, str]]:
    unit = service.post("/api/v1/units", service.admin_headers, {"name": "Công an phường Điện Biên", "code": tag})
    email = f"investigator-{tag.lower()}@example.org"
    service.post(
        "/api/v1/users",
        service.admin_headers,
        {"email": email, "password": PASSWORD, "full_name": "Lê Văn Điều Tra", "role": "investigator"}
        | {"unit_id": unit["id"]},
    )
    return email, service.token(email, PASSWORD)


@pytest.fixture(scope="module")
def appeal_scene(service: LiveService, tmp_path_factory: pytest.TempPathFactory) -> AppealScene:
    tag = uuid.uuid4().hex[:6].upper()
    email, investigator = _investigator(service, f"AP-{tag}")
    stranger_email, _ = _investigator(service, f"OT-{tag}")
    start = datetime.now(UTC) - timedelta(hours=3)
    case = service.post(
        "/api/v1/cases",
        investigator,
        {
            "number": f"KH-{tag}",
            "title": "Va chạm giao thông bỏ chạy, Đại lộ Lê Lợi",
            "offence": "hit_and_run",
            "incident_lat": 19.8075,
            "incident_lon": 105.7764,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=20)).isoformat(),
            "district": "Thành phố Thanh Hóa",
            "ward": "Phường Điện Biên",
        },
    )
    video = phone_video(tmp_path_factory.mktemp("appeal-video") / "v.mp4", seconds=5).read_bytes()
    with service.api() as http:
        appeal = publish(http, Headers(investigator), case)  # type: ignore[arg-type]
        sent = send(
            http,
            appeal["slug"],
            video,
            "video/mp4",
            "v.mp4",
            X_Taken_At="2026-12-02T20:15:00",
            X_Contact_Name="Nguy%E1%BB%85n%20V%C4%83n%20A",
        )
        assert sent.status_code == 202, sent.text
        items = http.get(f"/api/v1/appeals/{appeal['id']}/submissions", headers=investigator).json()["items"]
    submission = items[0]
    service.post(f"/api/v1/submissions/{submission['id']}/accept", investigator, {})
    clip = service.post(
        f"/api/v1/submissions/{submission['id']}/clips",
        investigator,
        {"window_start": "2026-12-02T13:15:00+00:00", "window_end": "2026-12-02T13:15:03+00:00"},
    )
    with service.api() as http:
        shown: dict[str, Any] = http.get(f"/api/v1/submissions/{submission['id']}", headers=investigator).json()
    return AppealScene(email, investigator, stranger_email, appeal["id"], shown["original_id"], clip["id"])


def wait_until(page: Page, expression: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        page.wait_for_timeout(100)


def _plays(page: Page) -> None:
    wait_until(page, "document.getElementById('player').readyState >= 2")
    page.evaluate("document.getElementById('player').play()")
    wait_until(page, "document.getElementById('player').currentTime > 1.2")
    page.evaluate("document.getElementById('player').pause()")
    assert page.evaluate("document.getElementById('player').error") is None
    wait_until(page, "document.getElementById('playback').dataset.reported === 'yes'")


def test_an_appeals_original_and_clip_play_in_the_player_for_the_cases_unit_only(
    service: LiveService, browser: Browser, appeal_scene: AppealScene
) -> None:
    scene = appeal_scene
    deadline = time.monotonic() + 90  # the worker makes the clip's poster and strip
    while "clip.read_for_previews" not in custody_actions(service, scene.investigator, scene.clip_id):
        assert time.monotonic() < deadline, "no previews made for the appeal's clip"
        time.sleep(1)

    context = browser.new_context(viewport=PHONE)
    context.add_cookies([{"name": "lang", "value": "vi", "url": service.base}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, service.base, scene.investigator_email)

    page.goto(f"{service.base}/appeals/{scene.appeal_id}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # the new links fit a phone
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "appeal-page-phone-vi.png"), full_page=True)
    page.locator("a.play-clip").first.click()
    page.wait_for_url(re.compile(r"/clips/[\w-]+/play$"))
    expect(page.locator("h1")).to_have_text("Xem đoạn trích")
    expect(page.locator("#player-summary")).to_contain_text("Nguyễn Văn A")
    expect(page.locator("#back")).to_have_text("Quay lại lời kêu gọi")
    assert page.locator("#player[poster^='/previews/']").count() == 1  # the poster the worker made
    assert page.locator("img[src^='/previews/']").count() >= 1  # and its keyframe strip
    _plays(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert scene.clip_id not in page.locator("main").inner_text()
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "appeal-clip-player-phone-vi.png"), full_page=True)
    actions = custody_actions(service, scene.investigator, scene.clip_id)
    assert {"clip.page_viewed", "clip.playback_started", "clip.link_fetched"} <= set(actions), actions

    page.goto(f"{service.base}/appeals/{scene.appeal_id}")
    page.locator("a.play-original").first.click()
    page.wait_for_url(re.compile(r"/originals/[\w-]+/play$"))
    expect(page.locator("h1")).to_have_text("Xem bản ghi gốc")
    _plays(page)
    actions = custody_actions(service, scene.investigator, scene.original_id)
    assert {"original.page_viewed", "original.playback_started", "original.link_fetched"} <= set(actions), actions
    assert errors == []
    context.close()

    other = browser.new_context(viewport=PHONE)
    page = other.new_page()
    sign_in(page, service.base, scene.stranger_email)
    for path in (f"/clips/{scene.clip_id}/play", f"/originals/{scene.original_id}/play"):
        answer = page.goto(f"{service.base}{path}")
        assert answer is not None and answer.status == 404, path
    other.close()
    actions = custody_actions(service, scene.investigator, scene.clip_id)
    assert actions.count("clip.page_viewed") == 1  # the other unit's attempts opened nothing
