"""The owner link page's upload form says only what the owner filled in: in Chromium at phone size, in Vietnamese,
a recorder clock read on the page and a Dahua .dav sent without a typed start or offset take the file's own time
and the clock check (no empty or zero header stands in for them); a file that nothing here plays goes with the
box "the maker's own format" ticked and is kept for conversion, named as the owner typed it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.footage.recorder_exports import write_dav, write_vendor_blob
from tests.web.browser import DESKTOP, PHONE, LiveService
from tests.web.test_clock_check_page import HCM, approved_request_link, browser, service, shot

__all__ = ["browser", "service"]  # the module-scoped fixtures of the clock page test
FAST = timedelta(seconds=125)  # the recorder's clock runs this much fast


def _detail(service: LiveService, headers: dict[str, str], request_id: str) -> dict[str, Any]:
    with service.api() as http:
        answer = http.get(f"/api/v1/requests/{request_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _window_start(service: LiveService, headers: dict[str, str], request_id: str) -> datetime:
    return datetime.fromisoformat(_detail(service, headers, request_id)["window_start"])


def _wait_uploaded(page: Page) -> None:
    expect(page.locator("#upload-result")).to_have_text("Đã tải lên xong. Xin cảm ơn.", timeout=120_000)


def test_dav_without_typed_start_or_offset_takes_the_file_time_and_the_clock_check(
    service: LiveService, browser: Browser, tmp_path: Path
) -> None:
    request_id, url, investigator = approved_request_link(service)
    window_start = _window_start(service, investigator, request_id)
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = phone.new_page()
    page.goto(url)
    # no offset is made up: the field starts empty
    assert page.locator("#clock-offset").input_value() == ""
    step = page.locator("#clock-check")
    shown = (datetime.now(UTC) + FAST).astimezone(HCM).strftime("%H:%M:%S")
    step.get_by_label("Đồng hồ đầu ghi đang hiển thị mấy giờ?").fill(shown)
    step.get_by_role("button", name="Ghi nhận").click()
    expect(page.locator("#clock-result")).to_have_text(re.compile(r"^Đầu ghi chạy nhanh 2 phút"))
    # measured on this page: the form carries it
    assert 122 <= int(page.locator("#clock-offset").input_value()) <= 128
    # a reload (the phone slept): the check is on the record, the field is empty again, not "0"
    page.reload()
    expect(page.locator("#clock-latest")).to_have_text(re.compile(r"^Đầu ghi chạy nhanh 2 phút"))
    assert page.locator("#clock-offset").input_value() == ""

    stamped = (window_start - timedelta(seconds=2) + FAST).astimezone(HCM).replace(tzinfo=None, microsecond=0)
    dav = write_dav(tmp_path / "export.dav", stamped, seconds=12)
    sent: list[dict[str, str]] = []
    page.on("request", lambda r: sent.append(r.headers) if r.method == "POST" and "/api/v1/uploads" in r.url else None)
    page.locator("#upload-file").set_input_files(str(dav))
    shot(page, "owner-link-upload-fields-phone-vi")
    page.locator("#upload-form button[type=submit]").click()
    _wait_uploaded(page)
    metadata = sent[0]["upload-metadata"]
    keys = {pair.split(" ")[0] for pair in metadata.split(",")}
    assert keys == {"token", "filename"}, metadata  # nothing the owner left empty

    original = _detail(service, investigator, request_id)["originals"][0]
    assert original["recording_start_source"] == "file"
    recorder = datetime.fromisoformat(original["recording_start_recorder"])
    assert recorder.astimezone(HCM).replace(tzinfo=None) == stamped
    assert original["clock_offset_source"] == "clock_check" and 122 <= original["clock_offset_s"] <= 128
    true_start = datetime.fromisoformat(original["recording_start_true"])
    assert abs((true_start - (window_start - timedelta(seconds=2))).total_seconds()) <= 4  # the check's reading
    phone.close()


def test_a_file_in_the_makers_own_format_is_kept_when_the_box_is_ticked(
    service: LiveService, browser: Browser, tmp_path: Path
) -> None:
    request_id, url, investigator = approved_request_link(service)
    window_start = _window_start(service, investigator, request_id)
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = phone.new_page()
    page.goto(url)
    name_field = page.locator("#vendor-format-name")
    expect(name_field).to_be_hidden()
    page.get_by_label("Tệp không mở được trên máy tính: tệp theo định dạng riêng của hãng đầu ghi").check()
    expect(name_field).to_be_visible()
    name_field.fill("Phần mềm SmartPlayer")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    shot(page, "owner-link-vendor-format-phone-vi")
    blob = write_vendor_blob(tmp_path / "xvr_export.bin")
    page.locator("#upload-file").set_input_files(str(blob))
    local = window_start.astimezone(HCM).strftime("%Y-%m-%dT%H:%M:%S")
    page.locator("#recording-start").fill(local)
    page.locator("#upload-form button[type=submit]").click()
    _wait_uploaded(page)

    detail = _detail(service, investigator, request_id)
    assert detail["status"] == "needs_conversion"
    kept = detail["originals"][0]
    assert kept["needs_conversion"] is True and kept["clock_offset_source"] == "none"
    with service.api() as http:
        read = http.get(f"/api/v1/originals/{kept['id']}", headers=investigator).json()
    assert read["vendor_format"] == "Phần mềm SmartPlayer", read
    phone.close()


def test_without_the_box_a_file_nothing_plays_is_refused_in_vietnamese(
    service: LiveService, browser: Browser, tmp_path: Path
) -> None:
    request_id, url, investigator = approved_request_link(service)
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = phone.new_page()
    page.goto(url)
    page.locator("#upload-file").set_input_files(str(write_vendor_blob(tmp_path / "xvr_export.bin")))
    page.locator("#upload-form button[type=submit]").click()
    result = page.locator("#upload-result")
    # neither the file nor its name carries a time, and none was typed: said in the owner's words
    expect(result).to_have_text(re.compile(r"^Tải lên không thành công.*Hãy nhập giờ đầu ghi"), timeout=60_000)
    assert _detail(service, investigator, request_id)["originals"] == []
    phone.close()


def test_the_upload_fields_in_both_languages_at_both_sizes(service: LiveService, browser: Browser) -> None:
    _, url, _ = approved_request_link(service)
    words = {
        "vi": ("Tệp không mở được trên máy tính", "Hãng đầu ghi, hoặc tên phần mềm xem tệp của hãng"),
        "en": ("The file does not play on a computer", "Maker of the recorder, or the name of its player program"),
    }
    for locale, (box, name) in words.items():
        for viewport, size in (("phone", PHONE), ("desktop", DESKTOP)):
            phone = {"is_mobile": True, "has_touch": True} if viewport == "phone" else {}
            context = browser.new_context(viewport=size, **phone)
            context.add_cookies([{"name": "lang", "value": locale, "url": service.base}])
            page = context.new_page()
            page.goto(url)
            page.get_by_label(re.compile(re.escape(box))).check()
            expect(page.get_by_label(name)).to_be_visible()
            assert page.locator("#recording-start").get_attribute("required") is None
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
                "document.documentElement.clientWidth).map(e => e.tagName + '#' + e.id + '.' + e.className)"
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], wide
            form = page.locator("#upload-form").inner_text()
            if locale == "vi":
                assert not re.search(r"\b(the|file|recorder|maker|Upload)\b", form), form
            page.locator("#upload-form").scroll_into_view_if_needed()
            shot(page, f"owner-link-upload-form-{viewport}-{locale}")
            context.close()
