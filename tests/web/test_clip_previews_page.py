"""Clip previews in a real browser: the worker beside the live service makes the poster and keyframe strip after
the clip is cut; the player shows the poster, and choosing a keyframe in the strip moves the video to that
keyframe: the true-time label and the frame's burned-in true-time number agree with the keyframe's time. The
request page shows the strip too. Vietnamese and English, desktop and phone, no sideways scrolling.

Set SCREENSHOTS_DIR to keep screenshots."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from app.core import embedded
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, DESKTOP, PHONE, LiveService, live_service
from tests.web.evidence_scene import FPS, Scene, frame_number, scene, sign_in

SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("previews-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "clip-previews", data_dir) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def one_camera(service: LiveService, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return scene(service, tmp_path_factory.mktemp("preview-videos"), [("Cổng chợ", 10.7725, 106.6981, 0, 42.0)])


def wait_until(page: Page, expression: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        page.wait_for_timeout(100)


def _open_with_previews(page: Page, url: str, selector: str) -> None:
    """Open the page until the worker has made the previews (it runs just after the clip is cut)."""
    deadline = time.monotonic() + 90
    while True:
        page.goto(url)
        if page.locator(selector).count():
            return
        assert time.monotonic() < deadline, "no previews made by the worker"
        page.wait_for_timeout(1000)


def _images_loaded(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            f"Array.from(document.querySelectorAll('{selector}')).every(i => i.complete && i.naturalWidth > 0)"
        )
    )


def shot(page: Page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_poster_shown_and_a_keyframe_chosen_in_the_strip_moves_the_video_there(
    service: LiveService, browser: Browser, one_camera: Scene
) -> None:
    camera = one_camera.cameras[0]
    clip = camera.clip
    actual_start = datetime.fromisoformat(clip["actual_start"])
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, service.base, one_camera.investigator_email)
    _open_with_previews(page, f"{service.base}/clips/{clip['id']}/play", "#keyframe-strip")

    poster = page.locator("#player").get_attribute("poster") or ""
    assert re.fullmatch(r"/previews/[\w-]+\.jpg", poster), poster
    answer = page.request.get(f"{service.base}{poster}")
    assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg"
    assert answer.body()[:3] == b"\xff\xd8\xff"
    wait_until(page, "document.getElementById('player').readyState >= 2")
    page.locator("#keyframe-strip").scroll_into_view_if_needed()  # the thumbnails load lazily, when in sight
    wait_until(page, "Array.from(document.querySelectorAll('#keyframe-strip img')).every(i => i.complete)")
    assert _images_loaded(page, "#keyframe-strip img")

    thumbs = page.locator("#keyframe-strip .keyframe")
    count = thumbs.count()
    assert count >= 6, "a keyframe a second over the 7 s clip"
    # The clip starts at media time 0, so every keyframe lies within the duration Chromium measures from zero.
    assert page.evaluate("document.getElementById('playback').dataset.first") == "0"
    reach = page.evaluate("document.getElementById('player').duration")
    reachable = [i for i in range(count) if float(thumbs.nth(i).get_attribute("data-at") or "nan") < reach]
    assert reachable == list(range(count)), reach
    for index in (count - 1, 1):
        at = float(thumbs.nth(index).get_attribute("data-at") or "nan")
        assert at > 0
        before = page.evaluate("document.getElementById('true-time').dataset.ms")
        thumbs.nth(index).click()
        wait_until(page, f"document.getElementById('true-time').dataset.ms !== '{before}'")
        wait_until(page, "!document.getElementById('player').seeking")
        page.wait_for_timeout(300)
        media = page.evaluate(
            "document.getElementById('player').currentTime - Number(document.getElementById('playback').dataset.first)"
        )
        assert abs(media - at) <= 1 / FPS, (media, at)
        label_ms = int(page.locator("#true-time").get_attribute("data-ms") or "0")
        expected = actual_start + timedelta(seconds=at)
        assert abs(label_ms - expected.timestamp() * 1000) <= 1000 / FPS + 1, "the label is the keyframe's time"
        shown = frame_number(page.locator("#player").screenshot())
        assert abs(one_camera.frame_at(expected) - shown) <= 1, "the frame on screen is the keyframe"
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    shot(page, "player-previews-desktop-vi")
    assert errors == []
    context.close()


def test_the_strip_on_the_request_page_and_the_player_in_english_and_on_a_phone(
    service: LiveService, browser: Browser, one_camera: Scene
) -> None:
    camera = one_camera.cameras[0]
    for language, size, suffix in (("vi", PHONE, "phone-vi"), ("en", DESKTOP, "desktop-en"), ("en", PHONE, "phone-en")):
        context = browser.new_context(viewport=size)
        context.add_cookies([{"name": "lang", "value": language, "url": service.base}])
        page = context.new_page()
        sign_in(page, service.base, one_camera.investigator_email)
        _open_with_previews(page, f"{service.base}/requests/{camera.request_id}", "#strip-1 img")
        page.locator("#strip-1").scroll_into_view_if_needed()  # the thumbnails load lazily, when in sight
        wait_until(page, "Array.from(document.querySelectorAll('#strip-1 img')).every(i => i.complete)")
        assert _images_loaded(page, "#strip-1 img")
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], "no sideways scrolling"
        shot(page, f"request-previews-{suffix}")
        page.goto(f"{service.base}/clips/{camera.clip['id']}/play")
        wait_until(page, "document.getElementById('player').readyState >= 2")
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], "no sideways scrolling"
        visible = page.locator("main").inner_text()
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", visible), "no ids outside the technical details"
        page.locator("#keyframe-strip").scroll_into_view_if_needed()
        label = page.locator("#keyframe-strip").get_attribute("aria-label") or ""
        if language == "vi":
            assert label.startswith("Các khung hình chính"), label
            assert not re.search(r"\b(Keyframe|frame|Watch)\b", visible), visible
        else:
            assert label.startswith("Keyframes"), label
        shot(page, f"player-previews-{suffix}")
        context.close()
