"""Community appeals in a real browser: an investigator publishes an appeal on the pages and gets its QR code; the
code (decoded here) leads a phone at 390×844 to the public page in Vietnamese, where a resident sends a generated
video anonymously with a map pin and a time; the unit's investigator sees it in quarantine and accepts it, another
unit and the public do not see it; then the statistics page. Screenshots with SCREENSHOTS_DIR."""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from app.core import embedded
from tests.appeals.helpers import phone_video
from tests.services import fresh_database
from tests.web.browser import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CHROMIUM,
    DESKTOP,
    PHONE,
    LiveService,
    live_service,
    second_step,
)

PASSWORD = "an appeal page password"
SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
VISIBLE = (
    "() => { const c = document.body.cloneNode(true); c.querySelectorAll('details, script, template, svg')"
    ".forEach(n => n.remove()); return c.innerText; }"
)


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("appeal-pages-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-appeal-pages", data_dir) as live:
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


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    second_step(page, email)
    page.wait_for_load_state()


def staff(service: LiveService, role: str, unit_name: str) -> str:
    tag = uuid.uuid4().hex[:6]
    unit = service.post("/api/v1/units", service.admin_headers, {"name": unit_name, "code": f"AP-{tag}"})
    email = f"{role}-{tag}@example.org"
    service.post(
        "/api/v1/users",
        service.admin_headers,
        {"email": email, "password": PASSWORD, "full_name": "Lê Thị Điều Tra", "role": role, "unit_id": unit["id"]},
    )
    return email


def no_overflow(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


def test_appeal_from_publishing_to_acceptance(service: LiveService, browser: Browser, tmp_path: Path) -> None:
    email = staff(service, "investigator", "Công an phường Điện Biên")
    headers = service.token(email, PASSWORD)
    start = (datetime.now(UTC) - timedelta(hours=5)).replace(microsecond=0)
    case = service.post(
        "/api/v1/cases",
        headers,
        {
            "number": f"TH-{uuid.uuid4().hex[:6]}",
            "title": "Va chạm giao thông bỏ chạy",
            "offence": "hit_and_run",
            "incident_lat": 19.8075,
            "incident_lon": 105.7764,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=30)).isoformat(),
            "district": "Thành phố Thanh Hóa",
        },
    )

    # the investigator publishes the appeal on the pages (Vietnamese, desktop)
    desk = browser.new_context(viewport=DESKTOP)
    page = desk.new_page()
    sign_in(page, service.base, email, PASSWORD)
    page.goto(f"{service.base}/cases/{case['id']}")
    page.click("#case-appeals")
    page.fill("input[name=title]", "Tìm nhân chứng vụ va chạm trên Đại lộ Lê Lợi")
    page.fill(
        "textarea[name=text]",
        "Khoảng 20 giờ tối qua, một xe máy va chạm với người đi bộ trên Đại lộ Lê Lợi rồi bỏ chạy. "
        "Ai quay được video hoặc chụp ảnh, xin gửi cho công an.",
    )
    page.fill("input[name=place]", "Đại lộ Lê Lợi, phường Điện Biên")
    page.click("#publish-appeal button[type=submit]")
    page.wait_for_url(re.compile(r"/appeals/"))
    assert page.locator("#appeal-qr svg").count() == 1
    appeal_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    public_url = page.locator("#public-url").inner_text()
    shot(page, "investigator-appeal-published")

    # the QR code, as posted in the Zalo groups, decodes to the public page
    png = httpx.get(f"{service.base}/a/{public_url.rsplit('/', 1)[-1]}/qr.png").content
    decoded = [code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
    assert decoded == [public_url]

    # a resident opens it on a phone, anonymously, and sends a video with a pin and a time
    phone = browser.new_context(
        viewport=PHONE, geolocation={"latitude": 19.8081, "longitude": 105.7771}, permissions=["geolocation"]
    )
    resident = phone.new_page()
    resident.goto(decoded[0])
    assert resident.locator("html").get_attribute("lang") == "vi"
    assert "Tìm nhân chứng" in resident.inner_text("h1")
    text = resident.evaluate(VISIBLE)
    assert not UUID_TEXT.search(text) and case["number"] not in text
    assert "Asia/Ho_Chi_Minh" in text  # times in the camera's zone, to the second
    no_overflow(resident)
    shot(resident, "public-appeal-phone")
    video = phone_video(tmp_path / "VID_20261204_201533.mp4")
    resident.set_input_files("#appeal-file", str(video))
    resident.click("#use-location")
    resident.wait_for_function("document.getElementById('pin-lat').value !== ''")
    taken = (start + timedelta(minutes=10)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    resident.fill("#taken-at", taken.strftime("%Y-%m-%dT%H:%M:%S"))
    resident.click("#appeal-send")  # not yet attested: the browser holds the form
    assert resident.locator("#appeal-done").is_hidden()
    resident.check("#attest")
    resident.click("#appeal-send")
    resident.wait_for_selector("#appeal-done", state="visible", timeout=60000)
    assert resident.evaluate("document.getElementById('appeal-progress').value") == 100
    assert re.fullmatch(r"[0-9a-f]{64}", resident.inner_text("#receipt-hash"))
    no_overflow(resident)
    shot(resident, "public-appeal-sent-phone")

    # the public sees no quarantine: the unit's pages need a sign-in, the API a token of the unit
    assert httpx.get(f"{service.base}/api/v1/appeals/{appeal_id}/submissions").status_code == 401
    stranger = service.token(staff(service, "investigator", "Công an phường Ba Đình"), PASSWORD)
    assert httpx.get(f"{service.base}/api/v1/appeals/{appeal_id}/submissions", headers=stranger).status_code == 404

    # the unit's investigator looks and accepts
    page.reload()
    assert page.locator("article.submission").count() == 1
    assert "ẩn danh" in page.inner_text("article.submission")
    shot(page, "investigator-appeal-quarantine")
    page.click("article.submission button.accept")
    page.wait_for_load_state()
    assert "Đã tiếp nhận" in page.inner_text("article.submission")
    listed = httpx.get(f"{service.base}/api/v1/appeals/{appeal_id}/submissions", headers=headers).json()
    assert [s["status"] for s in listed["items"]] == ["accepted"]
    assert listed["items"][0]["lat"] == pytest.approx(19.8081, abs=1e-4)

    # accepted, the video is cut like any original: one second from the stated time of its first frame
    page.click("details.cut-clip summary")
    page.fill("details.cut-clip input[name=window_start]", taken.strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("details.cut-clip input[name=window_end]", (taken + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.click("details.cut-clip button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".clip-row").count() == 1
    submission_id = listed["items"][0]["id"]
    clips = httpx.get(f"{service.base}/api/v1/submissions/{submission_id}/clips", headers=headers).json()
    assert clips["total"] == 1 and clips["items"][0]["parent_sha256"] == listed["items"][0]["sha256"]
    shot(page, "investigator-appeal-accepted")

    # English, one click away
    page.goto(f"{service.base}/lang/en")
    page.goto(f"{service.base}/appeals/{appeal_id}")
    assert "Accepted" in page.inner_text("article.submission")
    shot(page, "investigator-appeal-accepted-en")
    english = browser.new_context(viewport=PHONE)
    english.add_cookies([{"name": "lang", "value": "en", "url": service.base}])
    en_page = english.new_page()
    en_page.goto(decoded[0])
    assert "Send a video or photo" in en_page.inner_text("#send")
    shot(en_page, "public-appeal-phone-en")
    for context in (desk, phone, english):
        context.close()


def test_statistics_page_in_both_languages(service: LiveService, browser: Browser) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, service.base, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{service.base}/stats")
    headline = page.inner_text("#headline")
    assert "lượt trích xuất" in headline and "vụ việc được làm rõ" in headline
    assert page.locator("svg.chart").count() == 2
    csv = page.request.get(f"{service.base}/stats.csv").text()
    assert csv.lstrip("\ufeff").startswith("from,to,grouping,group,requested,delivered")
    assert not UUID_TEXT.search(page.evaluate(VISIBLE))
    shot(page, "stats")
    page.goto(f"{service.base}/admin/districts")
    assert page.locator("#district-list tbody tr").count() >= 27
    assert "Huyện Quảng Xương" in page.content()
    shot(page, "admin-districts")
    page.goto(f"{service.base}/lang/en")
    page.goto(f"{service.base}/stats")
    assert "extractions" in page.inner_text("#headline")
    shot(page, "stats-en")
    phone = browser.new_context(viewport=PHONE)
    small = phone.new_page()
    sign_in(small, service.base, ADMIN_EMAIL, ADMIN_PASSWORD)
    small.goto(f"{service.base}/stats")
    no_overflow(small)
    shot(small, "stats-phone")
    context.close()
    phone.close()
