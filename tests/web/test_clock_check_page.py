"""The clock step of the owner link page in a real browser: the true time ticks in the camera's zone; the owner
types what the recorder screen shows, presses the button and reads the measured offset in plain words; the
reading is a clock check the next upload takes. Phone size, Vietnamese (the default), then English.

Set SCREENSHOTS_DIR to keep screenshots of the step (phone and desktop, both languages)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.core import embedded
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, DESKTOP, PHONE, LiveService, live_service

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "a clock check page password"
SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("clock-page-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-clock-page", data_dir) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def shot(page: Page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def approved_request_link(service: LiveService) -> tuple[str, str, dict[str, str]]:
    """An approved request (the owner's consent approves by itself) and its owner link: (request id, link URL,
    the investigator's headers)."""
    tag = uuid.uuid4().hex[:6]
    admin = service.admin_headers
    unit = service.post("/api/v1/units", admin, {"name": "Công an phường Bến Thành", "code": f"CK-{tag}"})
    email = f"investigator-{tag}@example.org"
    service.post(
        "/api/v1/users",
        admin,
        {"email": email, "password": PASSWORD, "full_name": "Lê Văn Điều Tra", "role": "investigator"}
        | {"unit_id": unit["id"]},
    )
    investigator = service.token(email, PASSWORD)
    owner = service.post("/api/v1/owners", admin, {"name": "Tiệm tạp hóa Cô Ba", "kind": "business"})
    service.post(
        f"/api/v1/owners/{owner['id']}/consents",
        admin,
        {
            "scope": "auto_approve",
            "valid_from": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
            "terms_version": "2026-01",
            "legal_basis": "Thoả thuận Camera với ANTT",
        },
    )
    camera = service.post(
        "/api/v1/cameras",
        admin,
        {"owner_id": owner["id"], "label": "Cửa trước", "lat": 10.7725, "lon": 106.6981, "retention_days": 14},
    )
    incident = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    case = service.post(
        "/api/v1/cases",
        investigator,
        {
            "number": f"VV-{tag}",
            "title": "Trộm xe máy",
            "offence": "theft",
            "incident_lat": 10.7725,
            "incident_lon": 106.6981,
            "incident_start": incident.isoformat(),
            "incident_end": (incident + timedelta(minutes=1)).isoformat(),
        },
    )
    request = service.post(
        f"/api/v1/cases/{case['id']}/requests",
        investigator,
        {
            "camera_id": camera["id"],
            "window_start": incident.isoformat(),
            "window_end": (incident + timedelta(seconds=30)).isoformat(),
            "purpose": "Nhận dạng xe máy",
            "legal_basis": "Điều 88 BLTTHS",
        },
    )
    assert request["status"] == "approved"
    link = service.post(f"/api/v1/requests/{request['id']}/links", investigator, {})
    return request["id"], link["url"], investigator


def _screen_time(offset: timedelta) -> str:
    """What a recorder `offset` fast shows now, as its screen reads (camera time, with the seconds)."""
    return (datetime.now(UTC) + offset).astimezone(HCM).strftime("%H:%M:%S")


def test_owner_reads_the_recorder_clock_on_a_phone_in_vietnamese(service: LiveService, browser: Browser) -> None:
    request_id, url, investigator = approved_request_link(service)
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = phone.new_page()
    page.goto(url)
    step = page.locator("#clock-check")
    expect(step.locator("h2")).to_have_text("Đồng hồ của đầu ghi")
    # The step comes before the upload form.
    assert page.evaluate(
        "document.getElementById('clock-check').compareDocumentPosition(document.getElementById('upload-form'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    # The true time ticks in the camera's zone.
    face = page.locator("#true-clock")
    expect(face).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2}"))
    first = face.inner_text()
    page.wait_for_timeout(1300)
    assert face.inner_text() != first, "the clock ticks"
    shown = datetime.strptime(face.inner_text()[:8], "%H:%M:%S").time()
    local_now = datetime.now(UTC).astimezone(HCM)
    difference = abs(
        (datetime.combine(local_now.date(), shown) - local_now.replace(tzinfo=None, microsecond=0)).total_seconds()
    )
    assert difference <= 3 or difference >= 86400 - 3, (shown, local_now)
    shot(page, "owner-clock-check-phone-before")

    # The recorder runs 2 min 5 s fast: the owner types what it shows and presses "Ghi nhận".
    step.get_by_label("Đồng hồ đầu ghi đang hiển thị mấy giờ?").fill(_screen_time(timedelta(seconds=125)))
    step.get_by_role("button", name="Ghi nhận").click()
    result = page.locator("#clock-result")
    expect(result).to_have_text(re.compile(r"^Đầu ghi chạy nhanh 2 phút \d+ giây so với giờ chuẩn\. \(sai số khoảng"))
    expect(result).to_have_class("ok")
    offset = float(result.get_attribute("data-offset") or "nan")
    assert 122 <= offset <= 126
    assert page.locator("#clock-offset").input_value() == str(round(offset))  # carried to the upload form
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    english = re.compile(r"\b(the|recorder|clock|time|Record|seconds?|minutes?)\b")
    assert not english.search(step.inner_text()), step.inner_text()
    shot(page, "owner-clock-check-phone")

    # The reading is a clock check of the request, made through the link, with its uncertainty.
    with service.api() as http:
        checks = http.get(f"/api/v1/requests/{request_id}/clock-checks", headers=investigator).json()
    assert len(checks) == 1 and checks[0]["offset_seconds"] == offset
    assert checks[0]["method"] == "owner_reading" and checks[0]["measured_by"].startswith("owner-link:")
    assert checks[0]["uncertainty_s"] == 5.0, "the page says when the reading was taken"

    # A slow recorder, and a reload shows the latest reading.
    step.get_by_label("Đồng hồ đầu ghi đang hiển thị mấy giờ?").fill(_screen_time(-timedelta(hours=1, seconds=30)))
    step.get_by_role("button", name="Ghi nhận").click()
    expect(result).to_have_text(re.compile(r"^Đầu ghi chạy chậm 1 giờ( \d+ giây)? so với giờ chuẩn"))
    page.reload()
    expect(page.locator("#clock-latest")).to_have_text(re.compile(r"^Đầu ghi chạy chậm 1 giờ"))

    # Typed as on a phone's number pad (no colon), the reading still counts.
    digits_only = _screen_time(timedelta(seconds=7)).replace(":", "")
    step.get_by_label("Đồng hồ đầu ghi đang hiển thị mấy giờ?").fill(digits_only)
    step.get_by_role("button", name="Ghi nhận").click()
    expect(result).to_have_text(re.compile(r"^Đầu ghi chạy nhanh \d+ giây so với giờ chuẩn"))

    # A reading years off (the date typed too) or no time of day is refused in words the owner understands.
    step.locator("summary").click()
    step.get_by_label("Ngày trên màn hình đầu ghi").fill("01/01/2020")
    step.get_by_label("Đồng hồ đầu ghi đang hiển thị mấy giờ?").fill("08:00:00")
    step.get_by_role("button", name="Ghi nhận").click()
    expect(result).to_have_text(re.compile(r"^Vui lòng kiểm tra giờ vừa nhập"))
    expect(result).to_have_class("error")
    with service.api() as http:
        checks = http.get(f"/api/v1/requests/{request_id}/clock-checks", headers=investigator).json()
    assert len(checks) == 3, "the refused reading is not recorded"
    step.get_by_label("Đồng hồ đầu ghi đang hiển thị mấy giờ?").fill("25:61")
    step.get_by_role("button", name="Ghi nhận").click()
    expect(result).to_have_text(re.compile(r"^Vui lòng kiểm tra giờ vừa nhập"))
    phone.close()


def test_clock_step_in_english_and_on_a_desktop(service: LiveService, browser: Browser) -> None:
    _, url, _ = approved_request_link(service)
    for viewport, size in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=size, locale="en-GB")
        # English by the language switch's cookie (the browser's own language is not consulted)
        context.add_cookies([{"name": "lang", "value": "en", "url": service.base}])
        page = context.new_page()
        page.goto(url)
        step = page.locator("#clock-check")
        expect(step.locator("h2")).to_have_text("The recorder's clock")
        step.get_by_label("What time is the recorder's clock showing?").fill(_screen_time(-timedelta(seconds=61)))
        step.get_by_role("button", name="Record").click()
        expect(page.locator("#clock-result")).to_have_text(
            re.compile(r"^The recorder runs 1 minute( \d+ seconds?)? slow compared with the true time\.")
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        shot(page, f"owner-clock-check-{viewport}-en")
        if viewport == "desktop":
            page.goto(f"{service.base}/lang/vi")
            page.goto(url)
            expect(page.locator("#clock-check h2")).to_have_text("Đồng hồ của đầu ghi")
            shot(page, "owner-clock-check-desktop-vi")
        context.close()
