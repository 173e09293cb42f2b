"""The player in a real browser: a clip plays from its logged link (the video gets past one second with no error),
the true time beside it is the clip's actual start plus the time played, the recorder's clock 42 s ahead of it, and
the frame on screen (its burned-in true-time number) agrees with the label within one frame, also after stepping
frame by frame. The page opening, the playback and the fetches are in the custody log and the owner's ledger.

Set SCREENSHOTS_DIR to keep screenshots (desktop and phone, Vietnamese and English)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.core import embedded
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, DESKTOP, PHONE, LiveService, live_service
from tests.web.evidence_scene import FPS, Scene, custody_actions, frame_number, scene, sign_in

SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None
OFFSET_S = 42.0


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("player-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-player", data_dir) as live:
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


@pytest.fixture(scope="module")
def one_camera(service: LiveService, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return scene(service, tmp_path_factory.mktemp("player-videos"), [("Cửa trước", 10.7725, 106.6981, 0, OFFSET_S)])


def shot(page: Page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def wait_until(page: Page, expression: str, timeout_s: float = 20) -> None:
    """Poll a page expression until true (the page's CSP forbids the eval that wait_for_function's polling uses)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        page.wait_for_timeout(100)


def _label_ms(page: Page, which: str) -> int:
    return int(page.locator(f"#{which}").get_attribute("data-ms") or "0")


def _shown_frame(page: Page) -> int:
    png = page.locator("#player").screenshot()
    return frame_number(png)


def test_a_clip_plays_with_its_true_time_and_every_view_is_logged(
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
    page.goto(f"{service.base}/requests/{camera.request_id}")
    page.locator("#play-1").click()
    page.wait_for_url(re.compile(r"/clips/[\w-]+/play$"))
    expect(page.locator("h1")).to_have_text("Xem đoạn trích")
    wait_until(page, "document.getElementById('player').readyState >= 2")

    # before playing: the first frame, at the clip's actual start; the recorder's clock 42 s ahead
    assert _label_ms(page, "true-time") == int(actual_start.timestamp() * 1000)
    assert _label_ms(page, "recorder-time") - _label_ms(page, "true-time") == OFFSET_S * 1000
    shown_text = page.locator("#true-time").inner_text()
    assert shown_text.endswith("(Asia/Ho_Chi_Minh)") and re.match(
        r"^\d{2}:\d{2}:\d{2}\.\d{3} \d{2}/\d{2}/\d{4}", shown_text
    )
    assert abs(one_camera.frame_at(actual_start) - _shown_frame(page)) <= 1, "the label is the frame's true time"

    # it plays: past one second of media time, no error
    page.evaluate("document.getElementById('player').play()")
    played = "document.getElementById('player').currentTime - Number(document.getElementById('playback').dataset.first)"
    wait_until(page, f"{played} > 1.2")
    page.evaluate("document.getElementById('player').pause()")
    page.wait_for_timeout(200)
    wait_until(page, "!document.getElementById('player').seeking")
    page.wait_for_timeout(300)
    assert page.evaluate("document.getElementById('player').error") is None
    assert page.evaluate("document.getElementById('playback').dataset.reported") == "yes"
    label = datetime.fromtimestamp(_label_ms(page, "true-time") / 1000, UTC)
    assert label - actual_start > timedelta(seconds=1)
    assert abs(one_camera.frame_at(label) - _shown_frame(page)) <= 1

    # frame stepping: one frame forward is 40 ms later, on the label and on the frame itself
    before, frame_before = _label_ms(page, "true-time"), _shown_frame(page)
    page.locator("#step-forward").click()
    wait_until(page, f"Number(document.getElementById('true-time').dataset.ms) !== {before}")
    page.wait_for_timeout(200)
    assert abs(_label_ms(page, "true-time") - before - 1000 / FPS) <= 2
    assert _shown_frame(page) == frame_before + 1
    page.locator("#step-back").click()
    wait_until(page, f"Number(document.getElementById('true-time').dataset.ms) === {before}")
    page.wait_for_timeout(200)
    assert _shown_frame(page) == frame_before
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    shot(page, "player-desktop-vi")
    assert errors == []

    actions = custody_actions(service, one_camera.investigator, clip["id"])
    assert "clip.page_viewed" in actions and "clip.playback_started" in actions and "clip.link_fetched" in actions
    context.close()


def test_the_whole_clip_can_be_sought_and_played_to_its_end(
    service: LiveService, browser: Browser, one_camera: Scene
) -> None:
    """The window starts 5 s into the recording; the clip starts at media time 0 all the same, so Chromium's duration
    (measured from zero) is the clip's length, a seek to half a second before the end lands there, the frame there
    is the one its true-time label names, and playback runs to the end."""
    camera = one_camera.cameras[0]
    clip = camera.clip
    actual_start, actual_end = (datetime.fromisoformat(clip[k]) for k in ("actual_start", "actual_end"))
    assert actual_start - camera.true_start >= timedelta(seconds=4), "the window lies seconds into the recording"
    length = (actual_end - actual_start).total_seconds()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, service.base, one_camera.investigator_email)
    page.goto(f"{service.base}/clips/{clip['id']}/play")
    wait_until(page, "document.getElementById('player').readyState >= 2")
    wait_until(page, "document.getElementById('playback').dataset.first !== undefined")
    assert page.evaluate("document.getElementById('playback').dataset.first") == "0"
    duration = page.evaluate("document.getElementById('player').duration")
    assert abs(duration - length) <= 1 / FPS + 0.001, (duration, length)

    page.evaluate("document.getElementById('player').currentTime = document.getElementById('player').duration - 0.5")
    wait_until(page, "!document.getElementById('player').seeking")
    page.wait_for_timeout(300)
    assert page.evaluate("document.getElementById('player').currentTime") > duration - 1
    label = datetime.fromtimestamp(_label_ms(page, "true-time") / 1000, UTC)
    assert actual_end - timedelta(seconds=1) < label < actual_end
    assert abs(one_camera.frame_at(label) - _shown_frame(page)) <= 1, "the frame near the end is the one labelled"

    page.evaluate("document.getElementById('player').play()")
    wait_until(page, "document.getElementById('player').ended")
    assert page.evaluate("document.getElementById('player').currentTime") >= duration - 1 / FPS
    assert page.evaluate("document.getElementById('player').error") is None
    context.close()


def test_the_player_on_a_phone_and_in_english(service: LiveService, browser: Browser, one_camera: Scene) -> None:
    clip_id = one_camera.cameras[0].clip["id"]
    for name, size, language in (("player-phone-vi", PHONE, "vi"), ("player-desktop-en", DESKTOP, "en")):
        context = browser.new_context(viewport=size)
        context.add_cookies([{"name": "lang", "value": language, "url": service.base}])
        page = context.new_page()
        sign_in(page, service.base, one_camera.investigator_email)
        page.goto(f"{service.base}/clips/{clip_id}/play")
        wait_until(page, "document.getElementById('player').readyState >= 2")
        expect(page.locator("#true-time")).to_have_text(re.compile(r"\(Asia/Ho_Chi_Minh\)$"))
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], "no sideways scrolling"
        visible = page.locator("main").inner_text()
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", visible), "no ids outside the technical details"
        if language == "vi":
            assert not re.search(r"\b(frame|True time|Recorder|clock|Watch)\b", visible), visible
        else:
            expect(page.locator("h1")).to_have_text("Watch the clip")
        shot(page, name)
        context.close()
