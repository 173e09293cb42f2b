"""The case timeline in a real browser: three cameras whose recorders are 0, +42 and −90 s off true time, each
recording starting at another true instant. Clicking an instant on the axis moves every camera's video onto its
frame at that true instant: the true-time frame numbers burned into the three frames agree within one frame, and
with the instant. A marker added there is saved, listed, logged on its clip and exported with the case report.

Set SCREENSHOTS_DIR to keep screenshots (desktop and phone, Vietnamese and English)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.core import embedded
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, DESKTOP, PHONE, LiveService, live_service
from tests.web.evidence_scene import Scene, custody_actions, frame_number, scene, sign_in

SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None
CAMERAS = [
    ("Cửa trước tiệm vàng", 10.7725, 106.6981, 0, 0.0),
    ("Ngã tư Lê Lợi", 10.7729, 106.6987, 1, 42.0),
    ("Hẻm 12 Pasteur", 10.7720, 106.6975, -2, -90.0),
]


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("timeline-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-timeline", data_dir) as live:
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
def three_cameras(service: LiveService, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return scene(service, tmp_path_factory.mktemp("timeline-videos"), CAMERAS)


def shot(page: Page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def wait_until(page: Page, expression: str, timeout_s: float = 90) -> None:  # seeks settle slowly on a busy CI machine
    """Poll a page expression until true (the page's CSP forbids the eval that wait_for_function's polling uses)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        page.wait_for_timeout(100)


SETTLED = (
    "Array.from(document.querySelectorAll('#frames .tile')).every(t => t.dataset.first !== undefined"
    " && !t.querySelector('video').seeking && t.querySelector('video').readyState >= 2"
    " && (t.dataset.frame === '' || t.dataset.presented === t.dataset.frame))"
)


LOADED = (
    "Array.from(document.querySelectorAll('#frames .tile')).every(t => t.dataset.first !== undefined"
    " && !t.querySelector('video').seeking)"
)


def _frames(page: Page) -> dict[str, int]:
    """Each camera's burned-in true-time frame number, read off the screen (the tiles in view, so that the
    browser paints their frames)."""
    page.locator("#frames").scroll_into_view_if_needed()
    wait_until(page, SETTLED)
    page.wait_for_timeout(400)
    shown = {}
    for tile in page.locator("#frames .tile").all():
        camera = tile.locator("figcaption strong").inner_text()
        shown[camera] = frame_number(tile.locator("video").screenshot())
    return shown


def _open_timeline(page: Page, service: LiveService, case: Scene) -> None:
    page.goto(f"{service.base}/cases/{case.case_id}")
    page.locator("#timeline-link").click()
    page.wait_for_url(re.compile(r"/timeline"))
    wait_until(page, LOADED)


def test_three_cameras_off_by_0_42_and_minus_90_s_show_the_same_true_instant(
    service: LiveService, browser: Browser, three_cameras: Scene
) -> None:
    case = three_cameras
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, service.base, case.investigator_email)
    _open_timeline(page, service, case)
    expect(page.locator(".lane")).to_have_count(3)
    expect(page.locator("#frames .tile")).to_have_count(3)

    axis = page.locator("#axis")
    box = axis.bounding_box()
    assert box is not None
    for fraction in (0.37, 0.71):
        axis.click(position={"x": box["width"] * fraction, "y": box["height"] / 2})
        instant = datetime.fromtimestamp(int(page.locator("#instant").get_attribute("data-ms") or "0") / 1000, UTC)
        assert case.window[0] - timedelta(seconds=1) <= instant <= case.window[1] + timedelta(seconds=1)
        shown = _frames(page)
        expected = case.frame_at(instant)
        assert set(shown) == {c[0] for c in CAMERAS}
        assert max(shown.values()) - min(shown.values()) <= 1, shown
        for camera, frame in shown.items():
            assert abs(frame - expected) <= 1, (camera, frame, expected)
        # each tile's labels: the frame's true time, and the recorder's clock with that camera's offset
        for tile in page.locator("#frames .tile").all():
            true_ms = int(tile.locator(".true-time").get_attribute("data-ms") or "0")
            assert abs(true_ms - instant.timestamp() * 1000) <= 40
    # one frame on: every camera moves one frame
    before = _frames(page)
    page.locator("#instant-forward").click()
    after = _frames(page)
    assert all(after[c] == before[c] + 1 for c in before), (before, after)
    recorder_texts = [t.inner_text() for t in page.locator("#frames .recorder-time").all()]
    true_texts = [t.inner_text() for t in page.locator("#frames .true-time").all()]
    assert recorder_texts[0] == true_texts[0], "the recorder without offset shows true time"
    assert recorder_texts[1] != true_texts[1]
    assert errors == []
    shot(page, "timeline-desktop-vi")

    # a marker at the chosen instant, on the clip of the second camera
    chosen_ms = int(page.locator("#instant").get_attribute("data-ms") or "0")
    page.locator("#marker-clip").select_option(label=CAMERAS[1][0])
    page.locator("#marker-form input[name=note]").fill("Đối tượng mặc áo đỏ đi qua")
    page.locator("#marker-form button[type=submit]").click()
    expect(page.locator("#marker-list")).to_contain_text("Đối tượng mặc áo đỏ đi qua")
    expect(page.locator("#marker-list")).to_contain_text(CAMERAS[1][0])
    expect(page.locator("#instant")).to_have_attribute("data-ms", str(chosen_ms))  # the page returns to it
    context.close()

    with httpx.Client(base_url=service.base, timeout=30) as http:
        markers = http.get(f"/api/v1/cases/{case.case_id}/markers", headers=case.investigator).json()
        assert markers["total"] == 1
        marker = markers["items"][0]
        assert int(datetime.fromisoformat(marker["at"]).timestamp() * 1000) == chosen_ms
        assert marker["clip_id"] == case.cameras[1].clip["id"]
        assert "marker.created" in custody_actions(service, case.investigator, marker["clip_id"])
        report = http.get(
            f"/api/v1/cases/{case.case_id}/custody-report", params={"format": "json"}, headers=case.investigator
        ).json()
        assert [m["note"] for m in report["markers"]] == ["Đối tượng mặc áo đỏ đi qua"]
        assert report["markers"][0]["camera_name"].startswith(CAMERAS[1][0])

        # the API timeline: one lane per camera, each with its recorder's offset
        line = http.get(f"/api/v1/cases/{case.case_id}/timeline", headers=case.investigator).json()
        offsets = {lane["camera_label"]: lane["clips"][0]["clock_offset_s"] for lane in line["lanes"]}
        assert offsets == {c[0]: c[4] for c in CAMERAS}
        for lane in line["lanes"]:
            clip = lane["clips"][0]
            shift = datetime.fromisoformat(clip["recorder_start"]) - datetime.fromisoformat(clip["true_start"])
            assert shift == timedelta(seconds=clip["clock_offset_s"])
        assert "clip.record_read" in custody_actions(service, case.investigator, case.cameras[0].clip["id"])
        assert "clip.page_viewed" in custody_actions(service, case.investigator, case.cameras[0].clip["id"])

        # a marker outside its clip, or on another case's clip, is refused naming the field
        clip = case.cameras[0].clip
        outside = http.post(
            f"/api/v1/cases/{case.case_id}/markers",
            headers=case.investigator,
            json={"clip_id": clip["id"], "at": (case.window[1] + timedelta(minutes=5)).isoformat(), "note": "x"},
        )
        assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "at"
        stranger = http.post(
            f"/api/v1/cases/{case.case_id}/markers",
            headers=case.investigator,
            json={"clip_id": str(case.case_id), "at": case.window[0].isoformat(), "note": "x"},
        )
        assert stranger.status_code == 422 and stranger.json()["errors"][0]["field"] == "clip_id"


def test_the_timeline_on_a_phone_and_in_english(service: LiveService, browser: Browser, three_cameras: Scene) -> None:
    for name, size, language in (("timeline-phone-vi", PHONE, "vi"), ("timeline-desktop-en", DESKTOP, "en")):
        context = browser.new_context(viewport=size)
        context.add_cookies([{"name": "lang", "value": language, "url": service.base}])
        page = context.new_page()
        sign_in(page, service.base, three_cameras.investigator_email)
        page.goto(f"{service.base}/cases/{three_cameras.case_id}/timeline")
        wait_until(page, LOADED)
        page.wait_for_timeout(400)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], "no sideways scrolling"
        visible = page.locator("main").inner_text()
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", visible), "no ids on the page"
        expect(page.locator("#instant")).to_have_text(re.compile(r"\(Asia/Ho_Chi_Minh\)$"))
        if language == "vi":
            assert not re.search(r"\b(True time|Recorder|Markers|camera at|Note)\b", visible), visible
        else:
            expect(page.locator("h1")).to_contain_text("Case timeline")
        shot(page, name)
        context.close()
