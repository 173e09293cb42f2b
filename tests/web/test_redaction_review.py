"""The redaction review in a real browser against the running service and its worker: from the request page the
investigator begins a redacted copy of a clip with a real face in it (scikit-image's astronaut composited over a
test pattern by ffmpeg); the page shows the detected face's box where the service puts it at that frame, a box is
added and moved on two keyframes with the mouse, saved (the service holds exactly those keyframes), the copy is
rendered with its progress shown, and the result plays. The page works at phone size and in English with no ids
in view and no sideways scrolling.

Set SCREENSHOTS_DIR to keep screenshots (desktop and phone, Vietnamese and English)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright
from skimage import data as samples

from app.core import embedded, media
from app.footage.redaction import box_at
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, DESKTOP, PHONE, LiveService, live_service
from tests.web.evidence_scene import Scene, custody_actions, scene, sign_in

SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


def face_video(path: Path, first_frame: int, seconds: int) -> Path:
    """A 640x360 recording with the astronaut's face moving slowly right (first_frame is not drawn)."""
    photo = path.with_suffix(".png")
    Image.fromarray(samples.astronaut()).save(photo)
    media.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=640x360:rate=25:duration={seconds}",
            "-loop",
            "1",
            "-i",
            str(photo),
            "-filter_complex",
            "[1:v]scale=300:300[face];[0:v][face]overlay=x='40+10*t':y=0:shortest=1",
            "-c:v",
            "libx264",
            "-g",
            "25",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(path),
        ]
    )
    return path


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("review-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "redaction-review", data_dir) as live:
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
def face_scene(service: LiveService, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return scene(
        service, tmp_path_factory.mktemp("review-videos"), [("Cửa trước", 10.7725, 106.6981, 0, 0.0)], video=face_video
    )


def wait_until(page: Page, expression: str, timeout_s: float = 30) -> None:
    """Poll a page expression until true (the page's CSP forbids the eval that wait_for_function's polling uses)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        page.wait_for_timeout(200)


def shot(page: Page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _seek(page: Page, seconds: float) -> None:
    page.evaluate(
        "s => { const v = document.getElementById('review-video');"
        " v.currentTime = Number(document.getElementById('review').dataset.first) + s + 0.001; }",
        seconds,
    )
    wait_until(page, f"Math.abs(Number(document.getElementById('overlay').dataset.t) - {seconds}) < 0.05")
    wait_until(page, "!document.getElementById('review-video').seeking")


def _drag(page: Page, selector: str, dx: float, dy: float) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 3, box["y"] + box["height"] / 3
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=6)
    page.mouse.up()


def _redaction(service: LiveService, headers: dict[str, str], redaction_id: str) -> dict[str, object]:
    with service.api() as http:
        answer = http.get(f"/api/v1/redactions/{redaction_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        result: dict[str, object] = answer.json()
        return result


def test_review_a_detected_face_add_a_box_render_and_play(
    service: LiveService, browser: Browser, face_scene: Scene
) -> None:
    camera = face_scene.cameras[0]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, service.base, face_scene.investigator_email)
    page.goto(f"{service.base}/requests/{camera.request_id}")
    page.locator("#redact-1").click()
    page.wait_for_url(re.compile(r"/clips/[\w-]+/play#redactions$"))
    page.locator("#new-redaction input[value=blur]").check()
    page.locator("#new-redaction button[type=submit]").click()
    page.wait_for_url(re.compile(r"/redactions/[\w-]+$"))
    redaction_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_have_text("Bản che mặt của đoạn trích")

    # the face search runs in the worker; the page follows it and shows the boxes when it is done
    expect(page.locator("#state")).to_have_attribute("data-status", "review", timeout=180_000)
    wait_until(page, "document.getElementById('review').dataset.first !== undefined")
    record = _redaction(service, face_scene.investigator, redaction_id)
    tracks = record["tracks"]
    assert isinstance(tracks, list) and any(t["source"] == "auto" for t in tracks), "a face was found"
    auto = next(t for t in tracks if t["source"] == "auto")
    width, fps = int(str(record["width"])), float(str(record["frame_rate"]))
    hold = int(record["detector"]["parameters"]["sample_every_frames"]) / fps  # type: ignore[index]

    # at an instant between two of the track's keyframes, the page draws the box where the service renders it
    frames = auto["keyframes"]
    middle = round((round((frames[0]["t"] + frames[1]["t"]) / 2 * fps) + 0.3) / fps, 4) if len(frames) > 1 else 0
    _seek(page, middle)
    shown_t = float(page.locator("#overlay").get_attribute("data-t") or "0")
    expected = box_at(auto, shown_t, hold)
    assert expected is not None
    auto_box = page.locator(".box.auto").first
    expect(auto_box).to_be_visible()
    stage = page.locator("#overlay").bounding_box()
    drawn = auto_box.bounding_box()
    assert stage is not None and drawn is not None
    scale = stage["width"] / width
    assert abs((drawn["x"] - stage["x"]) / scale - expected[0]) <= 2
    assert abs(drawn["width"] / scale - expected[2]) <= 2

    # a box drawn by hand: added at 0.4 s, moved there, and moved again at 3 s (a second keyframe)
    _seek(page, 0.4)
    page.locator("#add-box").click()
    manual = page.locator(".box.manual")
    expect(manual).to_have_count(1)
    expect(page.locator("#manual-count")).to_have_text("1")
    _drag(page, ".box.manual", -120 * scale, 40 * scale)
    _seek(page, 3.0)
    second_t = float(page.locator("#overlay").get_attribute("data-t") or "0")
    _drag(page, ".box.manual", 100 * scale, 0)
    expect(page.locator("#review-message")).to_have_text("Thay đổi chưa được lưu.")
    page.locator("#save-boxes").click()
    expect(page.locator("#review-message")).to_have_text("Đã lưu các ô che.")
    saved = _redaction(service, face_scene.investigator, redaction_id)["tracks"]
    assert isinstance(saved, list)
    hand = [t for t in saved if t["source"] == "manual"]
    assert len(hand) == 1 and len([t for t in saved if t["source"] == "auto"]) == len(
        [t for t in tracks if t["source"] == "auto"]
    )
    keys = hand[0]["keyframes"]
    assert [k["t"] for k in keys[:2]] == [0.4, second_t] and abs(second_t - 3.0) <= 0.041 and len(keys) == 3, keys
    before_drag = box_at({"source": "manual", "keyframes": [keys[0], keys[2]]}, second_t, 0)
    assert before_drag is not None, "the added box lasted to the end of the clip"
    assert abs(keys[0]["x"] - (256 - 120)) <= 3 and abs(keys[1]["x"] - (before_drag[0] + 100)) <= 3, keys
    assert keys[2]["x"] == 256, "the last keyframe (end of clip) stays where the box was added"
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    shot(page, "redaction-review-desktop-vi")
    assert "redaction.boxes_saved" in custody_actions(service, face_scene.investigator, redaction_id)

    # the other sizes and language, while the boxes are under review
    for name, size, language in (
        ("redaction-review-phone-vi", PHONE, "vi"),
        ("redaction-review-desktop-en", DESKTOP, "en"),
        ("redaction-review-phone-en", PHONE, "en"),
    ):
        other = browser.new_context(viewport=size)
        other.add_cookies([{"name": "lang", "value": language, "url": service.base}])
        view = other.new_page()
        sign_in(view, service.base, face_scene.investigator_email)
        view.goto(f"{service.base}/redactions/{redaction_id}")
        wait_until(view, "document.getElementById('review').dataset.first !== undefined")
        _seek(view, 1.0)
        expect(view.locator(".box.manual")).to_have_count(1)
        assert view.evaluate("document.documentElement.scrollWidth") <= size["width"], "no sideways scrolling"
        visible = view.locator("main").inner_text()
        assert not UUID.search(visible), "ids only in the collapsed technical details"
        if language == "vi":
            assert not re.search(r"\b(box|Save|Redacted|frame|clip|Found|Drawn)\b", visible), visible
        else:
            expect(view.locator("h1")).to_have_text("Redacted copy of the clip")
        shot(view, name)
        other.close()

    # render: the progress shows, then the copy plays
    page.locator("#render").click()
    expect(page.locator("#state")).to_have_attribute("data-status", "ready", timeout=240_000)
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#edit-controls")).to_be_hidden()
    wait_until(page, "document.getElementById('result-video').readyState >= 2", 60)
    page.evaluate(
        "document.getElementById('result-video').muted = true; document.getElementById('result-video').play()"
    )
    wait_until(page, "document.getElementById('result-video').currentTime > 1", 30)
    assert page.evaluate("document.getElementById('result-video').error") is None
    done = _redaction(service, face_scene.investigator, redaction_id)
    assert done["status"] == "ready" and done["sha256"]
    actions = custody_actions(service, face_scene.investigator, redaction_id)
    assert "redaction.render_requested" in actions and "redaction.rendered" in actions
    assert "redaction.link_fetched" in actions, "playing the copy is logged"
    shot(page, "redaction-ready-desktop-vi")
    assert errors == []
    context.close()
