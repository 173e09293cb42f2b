"""An original in a container browsers cannot open, in a real browser: a Dahua .dav recording whose frames carry
their true time gets its MP4 playback copy from the worker; the original's player page plays the copy (past one
second, no error), says it is a stream-copy playback copy with the original's hash, and the true time beside the
frame is the frame's own (read from the frame) within one frame. The page view, the fetch of the copy and the
playback are views of the original in the custody log, naming the copy; the download on the page is of the
original itself. An HEVC recording says plainly that browsers cannot play its codec and keeps the download.

Set SCREENSHOTS_DIR to keep screenshots (desktop and phone, Vietnamese and English)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.core import embedded, media
from tests.footage.recorder_exports import write_dav
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, DESKTOP, PHONE, LiveService, live_service
from tests.web.evidence_scene import FPS, HEIGHT, WIDTH, Scene, frame_number, scene, sign_in, true_time_units

SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None
OFFSET_S = 42.0


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("playable-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-playable", data_dir) as live:
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


def dav_recording(path: Path, first_frame: int, seconds: int, recorder_clock: datetime) -> Path:
    """A Dahua .dav export of the numbered picture, stamped with the recorder's clock at its first frame."""
    units = true_time_units(first_frame, seconds)
    return write_dav(path.with_suffix(".dav"), recorder_clock, seconds=seconds, size=(WIDTH, HEIGHT), units=units)


def hevc_recording(path: Path, first_frame: int, seconds: int) -> Path:
    out = path.with_suffix(".ts")
    media.run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration={seconds}", "-c:v", "libx265"]
        + ["-x265-params", "keyint=25:log-level=error", "-f", "mpegts", "-y", str(out)]
    )
    return out


@pytest.fixture(scope="module")
def dav_scene(service: LiveService, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    where = [("Cửa sau", 10.7725, 106.6981, 0, OFFSET_S)]
    return scene(service, tmp_path_factory.mktemp("dav-videos"), where, video=dav_recording, stamped=True)


def _original(service: LiveService, made: Scene) -> dict[str, Any]:
    with service.api() as http:
        detail = http.get(f"/api/v1/requests/{made.cameras[0].request_id}", headers=made.investigator).json()
        original_id = detail["originals"][0]["id"]
        deadline = time.monotonic() + 120
        while True:  # the worker makes the copy after the upload
            body: dict[str, Any] = http.get(f"/api/v1/originals/{original_id}", headers=made.investigator).json()
            if body["playback_copy"] or body["media"]["video_codec"] != "h264":
                return body
            assert time.monotonic() < deadline, "no playback copy made"
            time.sleep(0.5)


def shot(page: Page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def wait_until(page: Page, expression: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        page.wait_for_timeout(100)


def _label_ms(page: Page) -> int:
    return int(page.locator("#true-time").get_attribute("data-ms") or "0")


def _shown_frame(page: Page) -> int:
    return frame_number(page.locator("#player").screenshot())


def _events(service: LiveService, made: Scene, object_id: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=service.base, timeout=30) as http:
        answer = http.get("/api/v1/custody", params={"object_id": object_id, "limit": 500}, headers=made.investigator)
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_a_dav_original_plays_from_its_stream_copy_at_the_frames_true_time(
    service: LiveService, browser: Browser, dav_scene: Scene
) -> None:
    original = _original(service, dav_scene)
    copy = original["playback_copy"]
    assert original["media"]["container"] == "dhav" and copy["parent_sha256"] == original["sha256"]
    assert "-c copy" in " ".join(copy["command"]) and copy["tool"] == "ffmpeg"
    true_start = dav_scene.cameras[0].true_start
    assert datetime.fromisoformat(original["recording_start_true"]) == true_start

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, service.base, dav_scene.investigator_email)
    page.goto(f"{service.base}/originals/{original['id']}/play")
    expect(page.locator("#playback-copy-note")).to_contain_text("sao chép luồng")
    expect(page.locator("#original-hash")).to_have_text(original["sha256"])
    expect(page.locator("#copy-hash")).to_have_text(copy["sha256"])
    expect(page.locator("#not-playable")).to_have_count(0)
    wait_until(page, "document.getElementById('player').readyState >= 2")

    # the first frame: its true time is the recording's start, and the frame itself says so
    assert _label_ms(page) == int(true_start.timestamp() * 1000)
    assert abs(dav_scene.frame_at(true_start) - _shown_frame(page)) <= 1

    page.evaluate("document.getElementById('player').play()")
    played = "document.getElementById('player').currentTime - Number(document.getElementById('playback').dataset.first)"
    wait_until(page, f"{played} > 1.2")
    page.evaluate("document.getElementById('player').pause()")
    page.wait_for_timeout(200)
    wait_until(page, "!document.getElementById('player').seeking")
    page.wait_for_timeout(300)
    assert page.evaluate("document.getElementById('player').currentTime") > 1
    assert page.evaluate("document.getElementById('player').error") is None
    assert page.evaluate("document.getElementById('playback').dataset.reported") == "yes"
    label = datetime.fromtimestamp(_label_ms(page) / 1000, UTC)
    assert label - true_start > timedelta(seconds=1)
    assert abs(dav_scene.frame_at(label) - _shown_frame(page)) <= 1, "the label is the frame's true time"
    page.locator("#step-forward").click()
    page.wait_for_timeout(400)
    assert abs(dav_scene.frame_at(datetime.fromtimestamp(_label_ms(page) / 1000, UTC)) - _shown_frame(page)) <= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    shot(page, "playable-desktop-vi")
    assert errors == []

    # every view is one of the original, naming the copy it was played from
    events = _events(service, dav_scene, original["id"])
    by_action = {e["action"]: e for e in events}
    for action in ("original.page_viewed", "original.link_fetched", "original.playback_started"):
        assert by_action[action]["details"]["playback_copy_id"] == copy["id"], action
        assert by_action[action]["sha256"] == original["sha256"]
    fetched = by_action["original.link_fetched"]["details"]
    assert (
        fetched["playback_copy_sha256"] == copy["sha256"] and fetched["playback_copy_version_id"] == copy["version_id"]
    )

    # the download on the page is of the original itself, its exact version
    csrf = page.locator("#original-download input[name=csrf_token]").get_attribute("value")
    answer = page.request.post(
        f"{service.base}/originals/{original['id']}/download",
        form={"csrf_token": csrf or "", "purpose": "gửi cơ quan giám định"},
        max_redirects=0,
    )
    assert answer.status == 303
    link = answer.headers["location"]
    with httpx.Client(timeout=30) as http:
        target = http.get(link).headers["location"]
    assert "/originals/" in target and f"/{original['id']}/" in target and "/playable/" not in target
    assert f"versionId={original['version_id']}" in target
    context.close()


def test_the_playback_copy_page_on_a_phone_and_in_english(
    service: LiveService, browser: Browser, dav_scene: Scene
) -> None:
    original = _original(service, dav_scene)
    for name, size, language in (("playable-phone-vi", PHONE, "vi"), ("playable-desktop-en", DESKTOP, "en")):
        context = browser.new_context(viewport=size)
        context.add_cookies([{"name": "lang", "value": language, "url": service.base}])
        page = context.new_page()
        sign_in(page, service.base, dav_scene.investigator_email)
        page.goto(f"{service.base}/originals/{original['id']}/play")
        wait_until(page, "document.getElementById('player').readyState >= 2")
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], "no sideways scrolling"
        visible = page.locator("main").inner_text()
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", visible), "no ids outside the technical details"
        assert original["sha256"] in visible
        if language == "vi":
            assert not re.search(r"\b(copy|stream|frame|original|Download)\b", visible, re.IGNORECASE), visible
        else:
            expect(page.locator("#playback-copy-note")).to_contain_text("stream copy, no re-encoding")
        shot(page, name)
        context.close()


def test_an_hevc_original_says_browsers_cannot_play_its_codec(
    service: LiveService, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    made = scene(
        service, tmp_path_factory.mktemp("hevc-videos"), [("Cổng", 10.77, 106.69, 0, 0.0)], video=hevc_recording
    )
    original = _original(service, made)
    assert original["media"]["video_codec"] == "hevc" and original["playback_copy"] is None
    for language, words in (("vi", "HEVC, trình duyệt không phát được"), ("en", "HEVC, which browsers cannot play")):
        context = browser.new_context(viewport=PHONE)
        context.add_cookies([{"name": "lang", "value": language, "url": service.base}])
        page = context.new_page()
        sign_in(page, service.base, made.investigator_email)
        page.goto(f"{service.base}/originals/{original['id']}/play")
        expect(page.locator("#not-playable")).to_contain_text(words)
        expect(page.locator("#player")).to_have_count(0)
        expect(page.locator("#playback-copy-note")).to_have_count(0)
        expect(page.locator("#download-original")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, f"playable-hevc-phone-{language}")
        context.close()
