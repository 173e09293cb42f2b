"""The owner's account page takes an export in several files as the link page does: in Chromium at phone size, in
Vietnamese, the signed-in owner chooses two segment files of one export; the second one's connection drops
mid-way until the page is reloaded; after the reload the page shows from the server's state the file received and
the one stopped half-way, the same files chosen again go on from the server's offset (the received one is not
sent again), and "All files sent" completes the export: the request holds both originals with their SHA-256s and
the page says the files' order on the real timeline. Every tus request and the completion carry the page's CSRF
token. In English on a desktop, two files are handed over the same way.

Set SCREENSHOTS_DIR to keep screenshots of the account page with the two files and their order."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.web.browser import DESKTOP, PHONE, LiveService, second_step
from tests.web.test_clock_check_page import HCM, approved_request_link, browser, service, shot
from tests.web.test_owner_export_files import CHUNK, cut_the_second_file, segment

__all__ = ["browser", "service"]  # the module-scoped fixtures of the clock page test
PASSWORD = "an owner account export password"


def _detail(service: LiveService, headers: dict[str, str], request_id: str) -> dict[str, Any]:
    with service.api() as http:
        answer = http.get(f"/api/v1/requests/{request_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _owner_account(service: LiveService) -> tuple[str, str, dict[str, str]]:
    """An approved request and an account for its camera's owner: (request id, the owner's email, the
    investigator's headers)."""
    request_id, _, investigator = approved_request_link(service)
    camera_id = _detail(service, investigator, request_id)["camera_id"]
    with service.api() as http:
        camera = http.get(f"/api/v1/cameras/{camera_id}", headers=service.admin_headers)
    assert camera.status_code == 200, camera.text
    email = f"co-ba-{uuid.uuid4().hex[:6]}@example.org"
    service.post(
        "/api/v1/users",
        service.admin_headers,
        {"email": email, "password": PASSWORD, "full_name": "Nguyễn Thị Ba", "role": "owner"}
        | {"owner_id": camera.json()["owner_id"]},
    )
    return request_id, email, investigator


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label(re.compile("Email|Thư điện tử", re.I)).fill(email)
    page.get_by_label(re.compile("Password|Mật khẩu", re.I)).fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url or "/login/" in url, timeout=10_000)
    second_step(page, email)
    page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)


def _no_sideways_scroll(page: Page, width: int) -> None:
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "document.documentElement.clientWidth).map(e => e.tagName + '#' + e.id + '.' + e.className)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, wide


def _local(moment: datetime) -> str:
    return f"{moment.astimezone(HCM):%H:%M:%S}"


def _same_page_at(browser: Browser, signed_in: BrowserContext, url: str, **options: Any) -> Page:
    """The signed-in owner's page in another window size or language (the same session cookie)."""
    context = browser.new_context(**options)
    context.add_cookies(signed_in.cookies())
    page = context.new_page()
    page.goto(url)
    return page


def _kept_order(page: Page, request_id: str, names: list[str], width: int) -> None:
    """The page, opened again, keeps the files' order in words (from the server's record), without ids."""
    kept = page.locator("#export-order")
    items = kept.locator("li")
    expect(items).to_have_count(len(names))
    for item, name in zip(items.all(), names, strict=True):
        expect(item).to_contain_text(name)
    assert request_id not in page.locator("main").inner_text()
    _no_sideways_scroll(page, width)


def test_two_segments_dropped_reloaded_resumed_and_completed_on_the_account_page_in_vietnamese(
    service: LiveService, browser: Browser, tmp_path: Path
) -> None:
    request_id, email, investigator = _owner_account(service)
    window_start = datetime.fromisoformat(_detail(service, investigator, request_id)["window_start"])
    a_start, b_start = window_start - timedelta(seconds=2), window_start + timedelta(seconds=13)  # a 3 s gap
    first = segment(tmp_path, a_start, 12)
    second = segment(tmp_path, b_start, 10, "20M", "1280x720")  # more than one chunk: it stops half-way
    assert second.stat().st_size > CHUNK + 1024 * 1024, second.stat().st_size
    files = [str(first), str(second)]
    digests = {hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files}

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = phone.new_page()
    _sign_in(page, service.base, email)
    url = f"{service.base}/owner/requests/{request_id}"
    page.goto(url)
    csrf = page.locator("#upload-form").get_attribute("data-csrf")
    assert csrf
    sent: list[tuple[str, str, int, str | None]] = []  # (method, url, Upload-Offset, X-CSRF-Token) of each request
    page.on(
        "request",
        lambda r: (
            sent.append((r.method, r.url, int(r.headers.get("upload-offset", "-1")), r.headers.get("x-csrf-token")))
            if "/owner/uploads" in r.url or r.url.endswith("/originals/complete")
            else None
        ),
    )
    patched, dropped = cut_the_second_file(page, "**/owner/uploads/**")
    page.locator("#upload-file").set_input_files(files)
    rows = page.locator("#upload-list li")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("đang chờ")
    expect(page.locator("#recording-start")).to_be_hidden()
    expect(page.locator("#several-start-hint")).to_be_visible()
    _no_sideways_scroll(page, PHONE["width"])
    page.locator("#clock-offset").fill("0")
    page.locator("#upload-form button[type=submit]").click()
    for _ in range(900):
        if dropped:
            break
        page.wait_for_timeout(100)
    assert dropped, "the second file's upload was cut half-way"
    expect(rows.nth(0)).to_contain_text("đã nhận")

    # The owner reloads: the page shows what the server holds, before any file is chosen again.
    page.reload()
    page.unroute("**/owner/uploads/**")
    before_reload = len(sent)
    received = page.locator("#upload-list li[data-server=done]")
    expect(received).to_have_count(1)
    expect(received).to_contain_text(first.name)
    stopped = page.locator("#upload-list li[data-server=paused]")
    expect(stopped).to_have_count(1)
    expect(stopped).to_contain_text(second.name)
    expect(stopped).to_contain_text(re.compile(r"dừng ở \d+%: chọn lại tệp này để gửi tiếp"))
    expect(page.locator("#upload-finish")).to_be_hidden()

    page.locator("#upload-file").set_input_files(files)
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("đã nhận từ trước")
    page.locator("#clock-offset").fill("0")
    page.locator("#upload-form button[type=submit]").click()
    finish = page.get_by_role("button", name="Đã gửi đủ tệp")
    expect(finish).to_be_enabled(timeout=180_000)
    after = sent[before_reload:]
    assert not [u for method, u, _, _ in after if method == "POST"], after  # no file is begun again
    second_patches = [at for method, u, at, _ in after if method == "PATCH" and u == patched[1]]
    assert second_patches and second_patches[0] >= CHUNK, after  # goes on from the server's offset
    assert page.locator("#upload-form").get_attribute("data-resumed") == "1"
    assert all(u.startswith(f"{service.base}/owner/uploads") for _, u, _, _ in sent if "/uploads" in u), sent
    assert _detail(service, investigator, request_id)["status"] == "approved", "not complete before it is said"

    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/originals/complete") else None)
    finish.click()
    order = page.locator("#upload-order")
    expect(order).to_be_visible(timeout=30_000)
    expect(order).to_contain_text("Xin cảm ơn: công an đã nhận 2 tệp")
    items = order.locator("ol li")
    expect(items).to_have_count(2)
    for item, path, start in zip(items.all(), (first, second), (a_start, b_start), strict=True):
        expect(item).to_contain_text(path.name)
        expect(item).to_contain_text(_local(start))
    expect(order.locator(".junction-gap")).to_contain_text(
        f"Khoảng trống 3 giây giữa {first.name} và {second.name}: không có hình nào được ghi từ"
    )
    assert answers == [200], answers
    assert all(token == csrf for _, _, _, token in sent), sent  # every tus request and the completion
    assert not re.search(r"\b(the|file|files|gap|overlap|seconds|Upload)\b", order.inner_text()), order.inner_text()

    detail = _detail(service, investigator, request_id)
    assert {o["sha256"] for o in detail["originals"]} == digests
    assert len(detail["originals"]) == 2
    assert detail["status"] in ("footage_received", "clip_ready", "footage_mismatch"), detail["status"]
    assert len(detail["export"]["files"]) == 2 and len(detail["export"]["gaps"]) == 1, detail["export"]

    page.reload()
    _kept_order(page, request_id, [first.name, second.name], PHONE["width"])
    expect(page.locator("#export-order")).to_contain_text(f"Khoảng trống 3 giây giữa {first.name} và {second.name}")
    main = page.locator("main").inner_text()
    assert not re.search(r"\b(the|files|gap|overlap|seconds|Upload|received)\b", main), main
    shot(page, "owner-account-export-files-phone-vi")
    desk = _same_page_at(browser, phone, url, viewport=DESKTOP, locale="vi-VN")
    _kept_order(desk, request_id, [first.name, second.name], DESKTOP["width"])
    shot(desk, "owner-account-export-files-desktop-vi")
    desk.context.close()
    phone.close()


def test_two_files_handed_over_on_the_account_page_in_english_on_a_desktop(
    service: LiveService, browser: Browser, tmp_path: Path
) -> None:
    request_id, email, investigator = _owner_account(service)
    window_start = datetime.fromisoformat(_detail(service, investigator, request_id)["window_start"])
    first = segment(tmp_path, window_start - timedelta(seconds=1), 8)
    second = segment(tmp_path, window_start + timedelta(seconds=12), 8)  # a 5 s gap after the first
    context = browser.new_context(viewport=DESKTOP)
    context.add_cookies([{"name": "lang", "value": "en", "url": service.base}])
    page = context.new_page()
    _sign_in(page, service.base, email)
    url = f"{service.base}/owner/requests/{request_id}"
    page.goto(url)
    page.locator("#upload-file").set_input_files(str(first))
    expect(page.locator("#recording-start")).to_be_visible()  # one file so far: the one-step form
    page.locator("#upload-file").set_input_files(str(second))  # "add more": the list grows
    expect(page.locator("#upload-list li")).to_have_count(2)
    refused: list[str] = []  # any tus request or completion the server refused, to say why if the page stalls
    page.on(
        "response",
        lambda r: (
            refused.append(f"{r.request.method} {r.url} {r.status}") if "/owner/" in r.url and r.status >= 400 else None
        ),
    )
    page.locator("#upload-form button[type=submit]").click()
    finish = page.get_by_role("button", name="All files sent")
    try:
        expect(finish).to_be_enabled(timeout=180_000)
    except AssertionError as stalled:
        raise AssertionError(f"{page.locator('#upload-list').inner_text()!r} {refused}") from stalled
    expect(page.locator("#upload-list li.done")).to_have_count(2)
    finish.click()
    order = page.locator("#upload-order")
    expect(order).to_contain_text("Thank you: the police received 2 files", timeout=30_000)
    expect(order.locator(".junction-gap")).to_contain_text(
        f"Gap of 5 seconds between {first.name} and {second.name}: nothing was recorded from"
    )
    expect(order).to_contain_text("(Vietnam time, UTC+7)")
    page.get_by_role("link", name="See the request page").click()
    _kept_order(page, request_id, [first.name, second.name], DESKTOP["width"])
    expect(page.locator("#export-order")).to_contain_text(f"Gap of 5 seconds between {first.name} and {second.name}")
    shot(page, "owner-account-export-files-desktop-en")
    phone = _same_page_at(browser, context, url, viewport=PHONE, is_mobile=True, has_touch=True)
    _kept_order(phone, request_id, [first.name, second.name], PHONE["width"])
    shot(phone, "owner-account-export-files-phone-en")
    phone.context.close()
    assert len(_detail(service, investigator, request_id)["originals"]) == 2
    context.close()


def test_without_tus_the_account_page_sends_one_file_by_put(
    service: LiveService, browser: Browser, tmp_path: Path
) -> None:
    """A browser without the tus client (here: its script does not load) keeps the one streamed PUT."""
    request_id, email, investigator = _owner_account(service)
    window_start = datetime.fromisoformat(_detail(service, investigator, request_id)["window_start"])
    only = segment(tmp_path, window_start - timedelta(seconds=1), 8)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = context.new_page()
    page.route(
        "**/static/vendor/tus.min.js", lambda route: route.fulfill(status=200, body="", content_type="text/javascript")
    )
    _sign_in(page, service.base, email)
    methods: list[str] = []
    page.on(
        "request", lambda r: methods.append(f"{r.method} {r.url}") if "/owner/" in r.url and r.method != "GET" else None
    )
    page.goto(f"{service.base}/owner/requests/{request_id}")
    page.locator("#upload-file").set_input_files(str(only))
    page.locator("#upload-form button[type=submit]").click()
    expect(page.locator("#upload-result")).to_have_text("Đã tải lên xong. Xin cảm ơn.", timeout=120_000)
    assert methods == [f"PUT {service.base}/owner/requests/{request_id}/original"], methods
    detail = _detail(service, investigator, request_id)
    assert [o["sha256"] for o in detail["originals"]] == [hashlib.sha256(only.read_bytes()).hexdigest()]
    context.close()
