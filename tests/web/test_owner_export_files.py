"""The owner link page takes an export the recorder split into several files: in Chromium at phone size, in
Vietnamese, three segment files (recorder names carrying their start) are chosen at once and listed with their
size and progress; the second one's connection drops mid-way until the page is reloaded; after the reload the page
shows from the server's state the file already received and the one stopped half-way, the same three files are
chosen again, the received one is not sent again, the stopped one goes on from the server's offset, the third is
sent, and "All files sent" completes the export: the request is footage_received with the three originals, and
the page says in plain words the files' order on the real timeline, the gap and the overlap, in camera time to the
second with the zone. In English on a desktop, two files are handed over the same way."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Request, Route, expect

from app.core import media
from app.footage.uploads import UPLOAD_PART_SIZE
from tests.web.browser import DESKTOP, PHONE, LiveService
from tests.web.test_clock_check_page import HCM, approved_request_link, browser, service, shot

__all__ = ["browser", "service"]  # the module-scoped fixtures of the clock page test
CHUNK = UPLOAD_PART_SIZE  # upload.js's chunk, given by the page: one S3 part of the server's (default limit)


def segment(directory: Path, start: datetime, seconds: int, bitrate: str = "1M", size: str = "640x480") -> Path:
    """A recorder-style segment: H.264 in MP4 named as Hikvision names it (channel, camera-local start)."""
    path = directory / f"ch01_{start.astimezone(HCM):%Y%m%d%H%M%S}.mp4"
    media.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=25:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-b:v",
            bitrate,
            "-maxrate",
            bitrate,
            "-bufsize",
            bitrate,
            "-movflags",
            "+faststart",
            "-y",
            str(path),
        ]  # fmt: skip
    )
    return path


def _detail(service: LiveService, headers: dict[str, str], request_id: str) -> dict[str, Any]:
    with service.api() as http:
        answer = http.get(f"/api/v1/requests/{request_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _no_sideways_scroll(page: Page, width: int) -> None:
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "document.documentElement.clientWidth).map(e => e.tagName + '#' + e.id + '.' + e.className)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, wide


def _local(moment: datetime) -> str:
    return f"{moment.astimezone(HCM):%H:%M:%S}"


def cut_the_second_file(page: Page, pattern: str) -> tuple[list[str], list[int]]:
    """Route the uploads under `pattern` so that every PATCH of the second file past its first chunk is cut (until
    the test unroutes it); returns the upload URLs in the order their first PATCH left, and the offsets cut."""
    patched: list[str] = []
    dropped: list[int] = []

    def drop(route: Route, request: Request) -> None:
        if request.method == "PATCH":
            if request.url not in patched:
                patched.append(request.url)
            at = int(request.headers.get("upload-offset", "-1"))
            if len(patched) > 1 and request.url == patched[1] and at >= CHUNK:
                dropped.append(at)
                route.abort("connectionreset")
                return
        route.continue_()

    page.route(pattern, drop)
    return patched, dropped


def test_three_segments_dropped_reloaded_resumed_and_completed_on_a_phone_in_vietnamese(
    service: LiveService, browser: Browser, tmp_path: Path
) -> None:
    request_id, url, investigator = approved_request_link(service)
    window_start = datetime.fromisoformat(_detail(service, investigator, request_id)["window_start"])
    # the true timeline: A, a 3 s gap, B, a 2 s overlap with C
    a_start, b_start, c_start = (window_start + timedelta(seconds=s) for s in (-2, 13, 21))
    first = segment(tmp_path, a_start, 12)
    second = segment(tmp_path, b_start, 10, "20M", "1280x720")  # more than one chunk: it stops half-way
    third = segment(tmp_path, c_start, 12)
    assert second.stat().st_size > CHUNK + 1024 * 1024, second.stat().st_size
    files = [str(first), str(second), str(third)]
    digests = {hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files}

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = phone.new_page()
    page.goto(url)
    sent: list[tuple[str, str, int]] = []  # (method, url, Upload-Offset) of every tus request that left the page
    page.on(
        "request",
        lambda r: (
            sent.append((r.method, r.url, int(r.headers.get("upload-offset", "-1"))))
            if "/api/v1/uploads" in r.url
            else None
        ),
    )
    patched, dropped = cut_the_second_file(page, "**/api/v1/uploads/**")
    page.locator("#upload-file").set_input_files(files)
    rows = page.locator("#upload-list li")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text(first.name)
    expect(rows.nth(1)).to_contain_text(re.compile(r"^\S+ \d+(,\d)? MiB"))
    expect(rows.nth(2)).to_contain_text("đang chờ")
    # several files: a start under each (from the file's own name when left empty), the single field is hidden
    expect(page.locator("#recording-start")).to_be_hidden()
    expect(page.locator("#several-start-hint")).to_be_visible()
    expect(page.locator("#upload-add")).to_have_text("Thêm tệp")
    _no_sideways_scroll(page, PHONE["width"])
    shot(page, "owner-link-export-files-chosen-phone-vi")
    page.locator("#clock-offset").fill("0")
    page.locator("#upload-form button[type=submit]").click()
    for _ in range(900):
        if dropped:
            break
        page.wait_for_timeout(100)
    assert dropped, "the second file's upload was cut half-way"
    expect(rows.nth(0)).to_contain_text("đã nhận")
    page.wait_for_timeout(500)
    shot(page, "owner-link-export-files-dropped-phone-vi")

    # The person reloads: the page shows what the server holds, before any file is chosen again.
    page.reload()  # the cut stays until the old page is gone: none of its retries gets through
    page.unroute("**/api/v1/uploads/**")
    before_reload = len(sent)
    received = page.locator("#upload-list li[data-server=done]")
    expect(received).to_have_count(1)
    expect(received).to_contain_text(first.name)
    expect(received).to_contain_text("đã nhận")
    stopped = page.locator("#upload-list li[data-server=paused]")
    expect(stopped).to_have_count(1)
    expect(stopped).to_contain_text(second.name)
    expect(stopped).to_contain_text(re.compile(r"dừng ở \d+%: chọn lại tệp này để gửi tiếp"))
    expect(page.locator("#upload-finish")).to_be_hidden()  # not all files are in yet
    _no_sideways_scroll(page, PHONE["width"])
    shot(page, "owner-link-export-files-after-reload-phone-vi")

    page.locator("#upload-file").set_input_files(files)
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("đã nhận từ trước")
    page.locator("#clock-offset").fill("0")
    page.locator("#upload-form button[type=submit]").click()
    finish = page.get_by_role("button", name="Đã gửi đủ tệp")
    expect(finish).to_be_enabled(timeout=180_000)
    expect(page.locator("#upload-result")).to_contain_text("Đã gửi mọi tệp đã chọn")
    after = sent[before_reload:]
    creations = [u for method, u, _ in after if method == "POST"]
    assert len(creations) == 1, after  # only the third file is new: the first is not sent again
    second_patches = [at for method, u, at in after if method == "PATCH" and u == patched[1]]
    assert second_patches and second_patches[0] >= CHUNK, after  # goes on from the server's offset
    assert page.locator("#upload-form").get_attribute("data-resumed") == "1"
    detail = _detail(service, investigator, request_id)
    assert detail["status"] == "approved", "nothing is complete before the person says so"
    assert len(detail["originals"]) == 3
    shot(page, "owner-link-export-files-all-sent-phone-vi")

    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/originals/complete") else None)
    finish.click()
    order = page.locator("#upload-order")
    expect(order).to_be_visible(timeout=30_000)
    expect(order).to_contain_text("Xin cảm ơn: công an đã nhận 3 tệp")
    items = order.locator("ol li")
    expect(items).to_have_count(3)
    for item, path, start in zip(items.all(), (first, second, third), (a_start, b_start, c_start), strict=True):
        expect(item).to_contain_text(path.name)
        expect(item).to_contain_text(_local(start))
    zone = "(giờ Việt Nam, UTC+7)"
    gap = order.locator(".junction-gap")
    expect(gap).to_have_text(
        f"Khoảng trống 3 giây giữa {first.name} và {second.name}: không có hình nào được ghi từ "
        f"{_local(a_start + timedelta(seconds=12))}, {a_start.astimezone(HCM):%d/%m/%Y} đến "
        f"{_local(b_start)}, {b_start.astimezone(HCM):%d/%m/%Y} {zone}."
    )
    expect(order.locator(".junction-overlap")).to_contain_text(
        f"Trùng 2 giây giữa {second.name} và {third.name}: đoạn từ {_local(c_start)}"
    )
    expect(page.get_by_role("link", name="Xem trang yêu cầu")).to_be_visible()
    expect(page.locator("#upload-form button[type=submit]")).to_be_hidden()
    assert answers == [200], answers
    assert not re.search(r"\b(the|file|files|gap|overlap|seconds|Upload)\b", order.inner_text()), order.inner_text()
    _no_sideways_scroll(page, PHONE["width"])
    shot(page, "owner-link-export-files-completed-phone-vi")

    detail = _detail(service, investigator, request_id)
    assert {o["sha256"] for o in detail["originals"]} == digests
    assert {o["recording_start_source"] for o in detail["originals"]} == {"filename"}, detail["originals"]
    moved = [t for t in detail["history"] if t["to"] == "footage_received"]
    assert moved and "3 files" in moved[-1]["reason"], detail["history"]
    assert len(detail["export"]["gaps"]) == 1 and len(detail["export"]["overlaps"]) == 1, detail["export"]

    # The page, opened again, keeps the order in words (from the server's record).
    page.reload()
    kept = page.locator("#export-order")
    expect(kept.locator("li")).to_have_count(3)
    expect(kept).to_contain_text(f"Khoảng trống 3 giây giữa {first.name} và {second.name}")
    expect(kept).to_contain_text("Trùng 2 giây")
    _no_sideways_scroll(page, PHONE["width"])
    phone.close()


def test_two_files_handed_over_in_english_on_a_desktop(service: LiveService, browser: Browser, tmp_path: Path) -> None:
    request_id, url, investigator = approved_request_link(service)
    window_start = datetime.fromisoformat(_detail(service, investigator, request_id)["window_start"])
    first = segment(tmp_path, window_start - timedelta(seconds=1), 8)
    second = segment(tmp_path, window_start + timedelta(seconds=12), 8)  # a 5 s gap after the first
    context = browser.new_context(viewport=DESKTOP)
    context.add_cookies([{"name": "lang", "value": "en", "url": service.base}])
    page = context.new_page()
    page.goto(url)
    page.locator("#upload-file").set_input_files(str(first))
    expect(page.locator("#recording-start")).to_be_visible()  # one file so far: the one-step form
    page.locator("#upload-file").set_input_files(str(second))  # "add more": the list grows
    expect(page.locator("#upload-list li")).to_have_count(2)
    expect(page.locator("#recording-start")).to_be_hidden()
    page.locator("#upload-form button[type=submit]").click()
    page.get_by_role("button", name="All files sent").click(timeout=120_000)
    order = page.locator("#upload-order")
    expect(order).to_contain_text("Thank you: the police received 2 files", timeout=30_000)
    expect(order.locator(".junction-gap")).to_contain_text(
        f"Gap of 5 seconds between {first.name} and {second.name}: nothing was recorded from"
    )
    expect(order).to_contain_text("(Vietnam time, UTC+7)")
    _no_sideways_scroll(page, DESKTOP["width"])
    shot(page, "owner-link-export-files-completed-desktop-en")
    assert _detail(service, investigator, request_id)["status"] in (
        "footage_received",
        "clip_ready",
        "footage_mismatch",
    )
    context.close()
