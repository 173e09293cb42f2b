"""The owner's one-time link in every state, in a real browser on a 390×844 phone in Vietnamese: it never dead-ends.

Denied, then reopened: a read-only page saying what was answered and when, no 404. Approved, uploaded, reopened:
the footage arrived, thank you, read-only. A refused upload: plain Vietnamese, no internal address, nothing wider
than the phone. A recording that misses the window: the owner is emailed which range the file covers against the
one asked, the page says the same, and a second upload through the link is taken. A dead link: a 404 page in
plain words saying whom to call. Every page names the camera, the unit and its phone, the case and the officer's
role, the window to the second.

Set SCREENSHOTS_DIR to keep the link page of each state (phone vi + en, desktop vi)."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from app.core import embedded
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, DESKTOP, PHONE, LiveService, live_service
from tests.web.test_browser_flow import recording

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "an owner link test password"
UNIT_PHONE = "028 3829 4455"
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("owner-link-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-owner-link", data_dir) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _phone(browser: Browser, locale: str = "vi-VN") -> BrowserContext:
    return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale=locale)


def _fits_and_names_no_ids(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"{page.url}: {width}px wide on a {viewport}px screen"
    visible = page.evaluate(
        """() => { const main = document.querySelector('main').cloneNode(true);
                   main.querySelectorAll('details').forEach(d => d.remove());
                   return main.innerText; }"""
    )
    assert not UUID_TEXT.search(visible), "an id shows outside the technical details"
    assert "http://" not in visible and "https://" not in visible


def _shots(browser: Browser, url: str, state: str) -> None:
    """The page of `state` on a phone in Vietnamese and English and on a desktop in Vietnamese, each checked to
    fit its screen and to show no id; kept under SCREENSHOTS_DIR when it is set."""
    for name, context in (
        ("phone-vi", _phone(browser)),
        ("phone-en", _phone(browser, "en-US")),
        ("desktop-vi", browser.new_context(viewport=DESKTOP, locale="vi-VN")),
    ):
        if name.endswith("-en"):  # the reader picks English (Vietnamese is the default whatever the browser says)
            context.add_cookies([{"name": "lang", "value": "en", "url": url}])
        page = context.new_page()
        page.goto(url)
        _fits_and_names_no_ids(page)
        if name.endswith("-en"):
            assert page.locator("html").get_attribute("lang") == "en"
        if SHOTS:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"owner-link-{state}-{name}.png"), full_page=True)
        context.close()


def _seed(service: LiveService, tag: str) -> dict[str, str]:
    admin = service.admin_headers
    unit = service.post(
        "/api/v1/units", admin, {"name": "Công an phường Bến Thành", "code": f"BT-{tag}", "phone": UNIT_PHONE}
    )
    investigator = f"investigator-{tag}@example.org"
    service.post(
        "/api/v1/users",
        admin,
        {
            "email": investigator,
            "password": PASSWORD,
            "full_name": "Trần Quốc Điều",
            "role": "investigator",
            "unit_id": unit["id"],
        },
    )
    incident = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    headers = service.token(investigator, PASSWORD)
    case = service.post(
        "/api/v1/cases",
        headers,
        {
            "number": f"VV-{tag}",
            "title": "Trộm xe máy trước chợ",
            "offence": "theft",
            "incident_lat": 10.7725,
            "incident_lon": 106.6981,
            "incident_start": incident.isoformat(),
            "incident_end": (incident + timedelta(seconds=8)).isoformat(),
        },
    )
    seeded = {"case": case["id"], "incident": incident.isoformat(), "investigator": investigator}
    for story, label in (("deny", "Cổng nhà thuốc"), ("upload", "Quầy tiệm vàng"), ("mismatch", "Hẻm sau chợ")):
        email = f"{story}-{tag}@example.org"
        owner = service.post(
            "/api/v1/owners", admin, {"name": f"Chủ camera {label}", "kind": "business", "email": email}
        )
        service.post(
            f"/api/v1/owners/{owner['id']}/consents",
            admin,
            {
                "scope": "on_request",
                "valid_from": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
                "terms_version": "2026-01",
                "legal_basis": "Thoả thuận Camera với ANTT",
            },
        )
        camera = service.post(
            "/api/v1/cameras",
            admin,
            {
                "owner_id": owner["id"],
                "label": label,
                "address": "45 Lê Thánh Tôn, phường Bến Thành",
                "lat": 10.7725,
                "lon": 106.6981,
                "retention_days": 14,
            },
        )
        service.post(
            f"/api/v1/cases/{case['id']}/requests",
            headers,
            {
                "camera_id": camera["id"],
                "window_start": incident.isoformat(),
                "window_end": (incident + timedelta(seconds=8)).isoformat(),
                "purpose": "Nhận dạng nghi phạm",
                "legal_basis": "Điều 88 BLTTHS",
            },
        )
        seeded[story] = email
        seeded[f"{story}-label"] = label
    return seeded


def _link(message: EmailMessage, base: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    [link] = re.findall(rf"{re.escape(base)}/respond/[A-Za-z0-9_-]+", body.get_content())
    return link


def _wait_for_mail(service: LiveService, recipient: str, subject_words: str, timeout: float = 120) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in service.inbox.messages:
            if recipient in str(message["To"]) and subject_words in str(message["Subject"]):
                return message
        time.sleep(0.25)
    raise AssertionError(f"no email to {recipient} about {subject_words!r} within {timeout} s")


def _wait_for_status(page: Page, url: str, status: str, tries: int = 180) -> None:
    for _ in range(tries):
        page.goto(url)
        if page.locator(f"#request-status[data-status={status}]").count():
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"{url} never reached {status}")


def _upload(page: Page, video: Path, start: datetime) -> None:
    page.locator("#upload-file").set_input_files(str(video))
    page.locator("#recording-start").fill(start.astimezone(HCM).strftime("%Y-%m-%dT%H:%M:%S"))
    page.locator("#clock-offset").fill("0")
    page.locator("#upload-form button[type=submit]").click()


def _names_everything(page: Page, seeded: dict[str, str], label: str) -> None:
    summary = page.locator("#request-summary")
    expect(summary.locator("#camera-name")).to_have_text(f"{label} · 45 Lê Thánh Tôn, phường Bến Thành")
    expect(summary.locator("#asked-by")).to_have_text("điều tra viên · Công an phường Bến Thành")
    expect(summary.locator("#case-number")).to_contain_text("VV-")
    expect(summary.locator("#contact a[href^='tel:']")).to_have_text(UNIT_PHONE)
    incident = datetime.fromisoformat(seeded["incident"]).astimezone(HCM)
    window = (
        f"{incident:%H:%M:%S} → {incident + timedelta(seconds=8):%H:%M:%S}, {incident:%d/%m/%Y} (giờ Việt Nam, UTC+7)"
    )
    expect(summary.locator("#window")).to_have_text(window)
    assert "Trần Quốc Điều" not in page.inner_text("main"), "owners see officers as role · unit, not by name"


def test_the_owner_link_never_dead_ends(service: LiveService, browser: Browser, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    seeded = _seed(service, tag)
    base = service.base
    incident = datetime.fromisoformat(seeded["incident"])
    phone = _phone(browser)
    page = phone.new_page()

    # -- deny, then reopen: what was answered and when, read-only, no 404 ----------------------------
    deny_link = _link(service.inbox.wait_for(seeded["deny"]), base)
    page.goto(deny_link)
    _names_everything(page, seeded, seeded["deny-label"])
    _shots(browser, deny_link, "submitted")
    page.locator("summary", has_text="Từ chối").click()
    page.locator("form[action$='/deny'] input[name=reason]").fill("Đầu ghi hỏng từ tuần trước")
    page.get_by_role("button", name="Từ chối yêu cầu").click()
    expect(page.locator("#outcome[data-outcome=denied]")).to_contain_text("Quý vị đã từ chối yêu cầu này")
    reopened = page.goto(deny_link)
    assert reopened is not None and reopened.status == 200
    expect(page.locator("#outcome")).to_contain_text("Đầu ghi hỏng từ tuần trước")
    expect(page.locator("#outcome")).to_contain_text("Xin cảm ơn")
    expect(page.locator("#read-only")).to_be_visible()
    assert page.locator("form").count() == 0, "a read-only view offers no answer or upload"
    _names_everything(page, seeded, seeded["deny-label"])
    _shots(browser, deny_link, "denied")

    # -- approve, upload, reopen: the footage arrived, thank you ---------------------------------------
    upload_link = _link(service.inbox.wait_for(seeded["upload"]), base)
    page.goto(upload_link)
    page.get_by_role("button", name="Đồng ý cung cấp toàn bộ khoảng thời gian").click()
    expect(page.locator("#outcome[data-outcome=approved]")).to_be_visible()
    _shots(browser, upload_link, "approved")
    video = recording(tmp_path)
    _upload(page, video, incident - timedelta(seconds=10))
    expect(page.locator("#upload-percent")).to_have_text("100%", timeout=60_000)
    _wait_for_status(page, upload_link, "clip_ready")
    expect(page.locator("#outcome[data-outcome=received]")).to_contain_text("Đã nhận được dữ liệu của Quý vị")
    assert page.locator("form").count() == 0
    _names_everything(page, seeded, seeded["upload-label"])
    _fits_and_names_no_ids(page)
    _shots(browser, upload_link, "received")

    # -- a refused upload says what is wrong and what to do, in plain Vietnamese -----------------------
    mismatch_link = _link(service.inbox.wait_for(seeded["mismatch"]), base)
    page.goto(mismatch_link)
    page.get_by_role("button", name="Đồng ý cung cấp toàn bộ khoảng thời gian").click()
    not_video = tmp_path / "ch01_export.mp4"
    not_video.write_text("đây không phải là video\n" * 2000, encoding="utf-8")
    _upload(page, not_video, incident)
    result = page.locator("#upload-result.error")
    expect(result).to_contain_text("Tệp này không phát được như một video", timeout=60_000)
    said = result.inner_text()
    assert "toàn bộ tệp xuất từ đầu ghi" in said
    for leak in ("http", "X-Amz", "/evidence", "Errno", "Invalid data", "body:"):
        assert leak not in said, f"the refusal shows {leak!r}: {said}"
    _fits_and_names_no_ids(page)
    if SHOTS:
        page.screenshot(path=str(SHOTS / "owner-link-refused-phone-vi.png"), full_page=True)

    # -- a recording that misses the window: the owner is told, by email and on the page, and uploads again
    page.goto(mismatch_link)
    _upload(page, video, incident - timedelta(hours=2))
    expect(page.locator("#upload-percent")).to_have_text("100%", timeout=60_000)
    _wait_for_status(page, mismatch_link, "footage_mismatch")
    told = page.locator("#outcome[data-outcome=mismatch]")
    early = (incident - timedelta(hours=2)).astimezone(HCM)
    expect(told.locator("#covered")).to_contain_text(f"{early:%H:%M:%S} → ")
    expect(told.locator("#needed")).to_contain_text(f"{incident.astimezone(HCM):%H:%M:%S} → ")
    _fits_and_names_no_ids(page)
    _shots(browser, mismatch_link, "mismatch")
    mail = _wait_for_mail(service, seeded["mismatch"], "chưa đúng khoảng thời gian")
    text = mail.get_body(("plain",))
    assert text is not None and f"{early:%H:%M:%S} → " in text.get_content() and UNIT_PHONE in text.get_content()
    fresh_link = _link(mail, base)
    for link in (fresh_link, mismatch_link):  # the new link and the one the owner already holds both open
        page.goto(link)
        expect(page.locator("#upload-form")).to_be_visible()
    _upload(page, video, incident - timedelta(seconds=10))
    expect(page.locator("#upload-percent")).to_have_text("100%", timeout=60_000)
    _wait_for_status(page, mismatch_link, "clip_ready")
    expect(page.locator("#outcome[data-outcome=received]")).to_be_visible()

    # -- a dead link: a 404 page in plain words, saying whom to call -----------------------------------
    dead = page.goto(f"{base}/respond/{'x' * 43}")
    assert dead is not None and dead.status == 404
    expect(page.locator("h1")).to_have_text("Đường dẫn này không còn mở được")
    expect(page.locator("main")).to_contain_text("hãy gọi cho đơn vị công an đã gửi tin nhắn")
    assert "This link" not in page.inner_text("main")
    _shots(browser, f"{base}/respond/{'x' * 43}", "unknown")
    phone.close()
