"""The owner link page's upload resumes: in Chromium at phone size, in Vietnamese, the connection drops during
the upload (the client retries by itself), then again until the page is reloaded; choosing the same file again
goes on from the server's offset, and the stored original's SHA-256 is the file's."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Request, Route, expect

from app.core import media
from app.footage.uploads import UPLOAD_PART_SIZE
from tests.web.browser import PHONE, LiveService
from tests.web.test_browser_flow import HCM, PASSWORD, browser, seed, service

CHUNK = UPLOAD_PART_SIZE  # upload.js's chunk, given by the page: one S3 part of the server's (default limit)
__all__ = ["browser", "service"]  # the module-scoped fixtures, shared with the whole-flow test


def big_recording(directory: Path) -> Path:
    """A little over two chunks of H.264 in MP4."""
    path = directory / "NVR_CH01_resume.mp4"
    media.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x480:rate=25:duration=25",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-b:v",
            "10M",
            "-maxrate",
            "10M",
            "-bufsize",
            "10M",
            "-movflags",
            "+faststart",
            "-y",
            str(path),
        ]  # fmt: skip
    )
    assert path.stat().st_size > 2 * CHUNK + 1024
    return path


def test_owner_link_upload_resumes_after_a_drop_and_a_reload(
    service: LiveService, browser: Browser, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    seeded = seed(service, tag)
    incident = datetime.fromisoformat(seeded["incident"])
    investigator = service.token(seeded["investigator"], PASSWORD)
    filed = service.post(
        f"/api/v1/cases/{seeded['case']}/requests",
        investigator,
        {
            "camera_id": seeded["camera"],
            "window_start": incident.isoformat(),
            "window_end": (incident + timedelta(seconds=8)).isoformat(),
            "purpose": "Nhận dạng nghi phạm",
            "legal_basis": "Điều 88 BLTTHS",
        },
    )
    email = service.inbox.wait_for(seeded["owner"])
    body = email.get_body(preferencelist=("plain",))
    assert body is not None
    link = re.findall(rf"{re.escape(service.base)}/respond/[A-Za-z0-9_-]+", body.get_content())[0]
    video = big_recording(tmp_path)
    digest = hashlib.sha256(video.read_bytes()).hexdigest()

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = phone.new_page()
    page.goto(link)
    page.get_by_role("button", name="Đồng ý cung cấp toàn bộ khoảng thời gian").click()
    expect(page.locator("#request-status")).to_have_text("đã đồng ý")
    assert page.locator("#upload-form").get_attribute("data-chunk") == str(CHUNK)

    sent: list[tuple[str, int]] = []  # (method, Upload-Offset) of every tus request that left the page
    dropped: list[int] = []

    def on_request(request: Request) -> None:
        if "/api/v1/uploads" in request.url:
            sent.append((request.method, int(request.headers.get("upload-offset", "-1"))))

    def drop(route: Route, request: Request) -> None:
        at = int(request.headers.get("upload-offset", "-1"))
        # The second chunk's first try is cut (the client retries by itself); from the third chunk on every try
        # is cut, until the person reloads the page.
        if request.method == "PATCH" and ((at == CHUNK and CHUNK not in dropped) or at >= 2 * CHUNK):
            dropped.append(at)
            route.abort("connectionreset")
            return
        route.continue_()

    page.on("request", on_request)
    page.route("**/api/v1/uploads/**", drop)

    def fill_and_send() -> None:
        page.locator("#upload-file").set_input_files(str(video))
        start = (incident - timedelta(seconds=2)).astimezone(HCM)
        page.locator("#recording-start").fill(start.strftime("%Y-%m-%dT%H:%M:%S"))
        page.locator("#clock-offset").fill("0")
        page.locator("#upload-form button[type=submit]").click()

    fill_and_send()
    for _ in range(600):
        if any(at >= 2 * CHUNK for at in dropped):
            break
        page.wait_for_timeout(100)
    assert dropped[0] == CHUNK and any(at >= 2 * CHUNK for at in dropped), dropped
    assert sent.count(("PATCH", CHUNK)) >= 2, "the cut chunk was sent again without the person doing anything"

    # The person reloads the page and chooses the same file again: it goes on from where the server is.
    # The cut stays until the old page is gone: none of its own retries gets through in between.
    page.reload()
    page.unroute("**/api/v1/uploads/**")
    before_reload = len(sent)
    fill_and_send()
    expect(page.locator("#upload-result")).to_have_text("Đã tải lên xong. Xin cảm ơn.", timeout=120_000)
    expect(page.locator("#upload-percent")).to_have_text("100%")
    after = sent[before_reload:]
    assert ("POST", -1) not in after, "no new upload after the reload"
    patches = [at for method, at in after if method == "PATCH"]
    assert patches and patches[0] == 2 * CHUNK, after
    assert page.locator("#upload-form").get_attribute("data-resumed") == "1"

    with service.api() as http:
        detail = http.get(f"/api/v1/requests/{filed['id']}", headers=investigator).json()
    assert [o["sha256"] for o in detail["originals"]] == [digest]
    phone.close()
