"""The whole flow in a real browser: an investigator files an area request on the case's map page; the owner
opens the emailed link on a phone, approves and uploads the recorder export with the progress bar reaching
100 %; the worker cuts the clip; the investigator sees it ready and downloads it; the auditor exports the
case's bundle. Pages are checked in Vietnamese (the default) and in English.

Set SCREENSHOTS_DIR to keep a screenshot of every page visited (`make screenshots` writes docs/screenshots/)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.core import embedded, media
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

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
PASSWORD = "a browser test password"
VERIFIER = Path(__file__).resolve().parents[2] / "scripts" / "verify_bundle.py"
SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    # A database and bucket of its own: the service's evidence and custody log stay apart from other tests'.
    data_dir = tmp_path_factory.mktemp("browser-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-browser", data_dir) as live:
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


def sign_in(page: Page, base: str, email: str, language: str | None = None, password: str = PASSWORD) -> None:
    if language:
        page.context.add_cookies([{"name": "lang", "value": language, "url": base}])
    page.goto(f"{base}/login")
    page.get_by_label(re.compile("Email|Thư điện tử", re.I)).fill(email)
    page.get_by_label(re.compile("Password|Mật khẩu", re.I)).fill(password)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url or "/login/" in url, timeout=10_000)
    second_step(page, email)
    page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)


def recording(directory: Path, seconds: int = 30) -> Path:
    """A recorder-like export: H.264 in MP4 at 25 fps with a key frame each second, and sound."""
    path = directory / "NVR_CH01_export.mp4"
    media.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=320x240:rate=25:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-c:v",
            "libx264",
            "-g",
            "25",
            "-c:a",
            "aac",
            "-y",
            str(path),
        ]  # fmt: skip
    )
    return path


def seed(service: LiveService, tag: str) -> dict[str, str]:
    """A unit with an investigator, an auditor, one consenting owner (email) with two cameras by the incident,
    and a case opened an hour after the incident; returns emails and ids."""
    admin = service.admin_headers
    unit = service.post("/api/v1/units", admin, {"name": "Công an phường Bến Thành", "code": f"BT-{tag}"})
    people = {}
    for role in ("investigator", "auditor"):
        email = f"{role}-{tag}@example.org"
        body = {"email": email, "password": PASSWORD, "full_name": f"Nguyễn Văn {role}", "role": role}
        service.post("/api/v1/users", admin, {**body, "unit_id": unit["id"]} if role == "investigator" else body)
        people[role] = email
    owner_email = f"tiem-vang-{tag}@example.org"
    owner = service.post(
        "/api/v1/owners", admin, {"name": "Tiệm vàng Kim Thành", "kind": "business", "email": owner_email}
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
    cameras = []
    for label, lat, lon in (("Cổng trước", 10.77245, 106.69805), ("Quầy", 10.77250, 106.69812)):
        made = service.post(
            "/api/v1/cameras",
            admin,
            {"owner_id": owner["id"], "label": label, "lat": lat, "lon": lon, "retention_days": 14},
        )
        cameras.append(made["id"])
    incident = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    case = service.post(
        "/api/v1/cases",
        service.token(people["investigator"], PASSWORD),
        {
            "number": f"VV-{tag}",
            "title": "Cướp giật trước tiệm vàng",
            "offence": "robbery",
            "incident_lat": 10.77248,
            "incident_lon": 106.69808,
            "incident_start": incident.isoformat(),
            "incident_end": (incident + timedelta(seconds=8)).isoformat(),
        },
    )
    return {
        **people,
        "owner": owner_email,
        "owner_id": owner["id"],
        "camera": cameras[0],
        "case": case["id"],
        "incident": incident.isoformat(),
    }


def test_area_request_owner_link_upload_clip_download_and_bundle(
    service: LiveService, browser: Browser, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    seeded = seed(service, tag)
    incident = datetime.fromisoformat(seeded["incident"])
    base = service.base

    # The investigator (English) files an area request from the case's map page: a click on the map centres it.
    desk = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = desk.new_page()
    sign_in(page, base, seeded["investigator"], language="en")
    page.goto(f"{base}/cases/{seeded['case']}")
    expect(page.locator("h1")).to_contain_text(f"VV-{tag}")
    expect(page.locator("#camera-list .camera-row")).to_have_count(2)  # both cameras, listed beside the map
    map_box = page.locator("#map").bounding_box()
    assert map_box is not None
    page.mouse.click(map_box["x"] + map_box["width"] / 2, map_box["y"] + map_box["height"] / 2)
    expect(page.locator("path.area-radius")).to_have_count(1)  # the area drawn on the map
    area = page.locator("#area-request")
    assert abs(float(area.locator("input[name=lat]").input_value()) - 10.77248) < 0.0005
    area.locator("input[name=radius_m]").fill("150")
    area.locator("input[name=purpose]").fill("Nhận dạng nghi phạm")
    area.locator("input[name=legal_basis]").fill("Điều 88 BLTTHS")
    shot(page, "investigator-case-map")
    area.locator("button[type=submit]").click()
    expect(page.locator("#area-result")).to_contain_text("Requests filed: 2")
    expect(page.locator("span.status[data-status=submitted]")).to_have_count(2)
    expect(page.locator("span.status[data-status=submitted]").first).to_have_text("Submitted")

    # The owner opens the emailed link on a phone (Vietnamese, the default), approves and uploads.
    email = service.inbox.wait_for(seeded["owner"])
    body = email.get_body(preferencelist=("plain",))
    assert body is not None
    links = re.findall(rf"{re.escape(base)}/respond/[A-Za-z0-9_-]+", body.get_content())
    assert len(links) == 2, "one link per requested camera"
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    owner_page = phone.new_page()
    owner_page.goto(links[0])
    expect(owner_page.locator("h1")).to_have_text("Yêu cầu cung cấp dữ liệu camera")
    window_local = incident.astimezone(HCM).strftime("%H:%M:%S")
    expect(owner_page.locator("main")).to_contain_text(window_local)  # the window in the camera's own time
    scroll_width = owner_page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], "the link page must fit a phone without sideways scrolling"
    shot(owner_page, "owner-link-phone")
    owner_page.get_by_role("button", name="Đồng ý cung cấp toàn bộ khoảng thời gian").click()
    expect(owner_page.locator("#request-status")).to_have_text("đã đồng ý")
    video = recording(tmp_path)
    recording_start = (incident - timedelta(seconds=10)).astimezone(HCM)
    owner_page.locator("#upload-file").set_input_files(str(video))
    owner_page.locator("#recording-start").fill(recording_start.strftime("%Y-%m-%dT%H:%M:%S"))
    owner_page.locator("#clock-offset").fill("0")
    owner_page.locator("#upload-form button[type=submit]").click()
    expect(owner_page.locator("#upload-percent")).to_have_text("100%", timeout=60_000)
    expect(owner_page.locator("#upload-result")).to_have_text("Đã tải lên xong. Xin cảm ơn.")
    assert owner_page.locator("#upload-progress").evaluate("bar => bar.value") == 100
    shot(owner_page, "owner-link-uploaded")

    # The worker cuts the clip; the investigator sees it ready and downloads it (the purpose is asked).
    page.goto(f"{base}/cases/{seeded['case']}")
    ready = page.locator("tr", has=page.locator("span.status[data-status=clip_ready]"))
    for _ in range(120):
        if ready.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(ready.locator("span.status")).to_have_text("Clip ready")
    expect(page.locator("span.status[data-status=submitted]")).to_have_count(1)  # the other camera's, unanswered
    ready.locator("a[href^='/requests/']").click()
    status = page.locator("#request-status")
    expect(status).to_have_text("Clip ready")
    page.locator("form.download input[name=purpose]").fill("Gửi Viện kiểm sát")
    shot(page, "investigator-request-clip-ready")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download clip").click()
    clip_file = tmp_path / "clip.mp4"
    download_info.value.save_as(clip_file)
    shown_sha256 = page.locator(".clip code").first.inner_text()
    assert hashlib.sha256(clip_file.read_bytes()).hexdigest() == shown_sha256
    assert media.probe(str(clip_file)).video_codec == "h264"

    # The auditor (Vietnamese) verifies the log and exports the case's bundle, which verifies offline with the
    # standalone verifier and the downloaded clip.
    audit = browser.new_context(viewport=DESKTOP, accept_downloads=True, locale="vi-VN")
    auditor_page = audit.new_page()
    sign_in(auditor_page, base, seeded["auditor"])
    auditor_page.goto(f"{base}/audit/custody?case_id={seeded['case']}")
    expect(auditor_page.locator("table tbody tr").first).to_be_visible()
    shot(auditor_page, "auditor-custody-log")
    auditor_page.get_by_role("button", name="Chạy xác minh").click()
    expect(auditor_page.locator("#verification-outcome")).to_have_attribute("data-ok", "true")
    shot(auditor_page, "auditor-verification")
    auditor_page.goto(f"{base}/audit/cases/{seeded['case']}")
    expect(auditor_page.locator("h1")).to_contain_text(f"VV-{tag}")
    shot(auditor_page, "auditor-case-exports")
    auditor_page.goto(f"{base}/audit/cases")
    expect(auditor_page.locator("main")).to_contain_text(f"VV-{tag}")
    shot(auditor_page, "auditor-cases")
    auditor_page.goto(f"{base}/audit/cases/{seeded['case']}")
    with auditor_page.expect_download() as bundle_info:
        auditor_page.get_by_role("button", name="Tải gói xác minh (zip)").click()
    bundle = tmp_path / "bundle.zip"
    bundle_info.value.save_as(bundle)
    with zipfile.ZipFile(bundle) as archive:
        events = archive.read("events.jsonl").decode()
    assert shown_sha256 in events, "the bundle's events name the clip that was downloaded"
    verified = subprocess.run(
        [sys.executable, str(VERIFIER), str(bundle), str(clip_file)], capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    for context in (desk, phone, audit):
        context.close()


def test_owner_account_and_admin_pages_in_both_languages(
    service: LiveService, browser: Browser, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    seeded = seed(service, tag)
    admin = service.admin_headers
    owner_id = seeded["owner_id"]
    owner_login = f"chu-tiem-{tag}@example.org"
    service.post(
        "/api/v1/users",
        admin,
        {"email": owner_login, "password": PASSWORD, "full_name": "Trần Kim Thành", "role": "owner"}
        | {"owner_id": owner_id},
    )
    investigator = service.token(seeded["investigator"], PASSWORD)
    camera = seeded["camera"]
    incident = datetime.fromisoformat(seeded["incident"])
    service.post(
        f"/api/v1/cases/{seeded['case']}/requests",
        investigator,
        {
            "camera_id": camera,
            "window_start": incident.isoformat(),
            "window_end": (incident + timedelta(seconds=8)).isoformat(),
            "purpose": "Nhận dạng nghi phạm",
            "legal_basis": "Điều 88 BLTTHS",
        },
    )

    # The owner with an account, on a phone in Vietnamese: the request in camera time, cameras, the ledger.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = phone.new_page()
    sign_in(page, service.base, owner_login)
    expect(page.locator("h1")).to_have_text("Yêu cầu của tôi")
    waiting = page.locator("#waiting")
    expect(waiting).to_contain_text(incident.astimezone(HCM).strftime("%H:%M:%S"))
    expect(waiting).to_contain_text("Asia/Ho_Chi_Minh")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "owner-requests-phone")
    waiting.locator("a[href^='/owner/requests/']").first.click()
    expect(page.get_by_role("button", name="Đồng ý cung cấp toàn bộ khoảng thời gian")).to_be_visible()
    shot(page, "owner-request-phone")
    page.goto(f"{service.base}/owner/cameras")
    expect(page.locator("#cameras")).to_contain_text("Cổng trước")
    shot(page, "owner-cameras-phone")
    page.goto(f"{service.base}/owner/ledger")
    expect(page.locator("h1")).to_have_text("Nhật ký truy cập của tôi")
    shot(page, "owner-ledger-phone")
    # the same pages in English
    page.goto(f"{service.base}/lang/en")
    page.goto(f"{service.base}/owner/requests")
    expect(page.locator("h1")).to_have_text("My requests")
    expect(page.locator("#waiting h2")).to_have_text("Waiting for your answer")

    # The admin (English) imports cameras; each refused row is listed with its field.
    desk = browser.new_context(viewport=DESKTOP, locale="en-GB")
    admin_page = desk.new_page()
    sign_in(admin_page, service.base, ADMIN_EMAIL, language="en", password=ADMIN_PASSWORD)
    csv_file = tmp_path / "cameras.csv"
    csv_file.write_text(
        "external_id,owner_id,label,lat,lon,retention_days\n"
        f"IMP-{tag}-1,{owner_id},Cổng sau,10.7726,106.6982,14\n"
        f"IMP-{tag}-2,{owner_id},Sân thượng,95.0,106.6982,14\n"
        f"IMP-{tag}-3,{owner_id},Hẻm,10.7727,106.6983,0\n",
        encoding="utf-8",
    )
    admin_page.goto(f"{service.base}/admin/cameras/import")
    expect(admin_page.locator("h1")).to_have_text("Import cameras")
    admin_page.locator("#import-form input[type=file]").set_input_files(str(csv_file))
    admin_page.locator("#import-form button[type=submit]").click()
    expect(admin_page.locator("#import-created")).to_have_text("1")
    errors = admin_page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("lat")
    expect(errors.nth(1)).to_contain_text("retention_days")
    shot(admin_page, "admin-camera-import")
    admin_page.goto(f"{service.base}/admin/users")
    expect(admin_page.locator("#users")).to_contain_text(owner_login)
    shot(admin_page, "admin-users")
    admin_page.goto(f"{service.base}/admin/units")
    expect(admin_page.locator("main")).to_contain_text(f"BT-{tag}")
    shot(admin_page, "admin-units")
    admin_page.goto(f"{service.base}/")
    shot(admin_page, "home")
    # and in Vietnamese
    admin_page.goto(f"{service.base}/lang/vi")
    admin_page.goto(f"{service.base}/admin/cameras/import")
    expect(admin_page.locator("h1")).to_have_text("Nhập camera")

    # The investigator's list of cases and the sign-in page, for the record.
    investigator_page = desk.new_page()
    investigator_page.context.clear_cookies()
    investigator_page.goto(f"{service.base}/login")
    shot(investigator_page, "sign-in")
    sign_in(investigator_page, service.base, seeded["investigator"])
    investigator_page.goto(f"{service.base}/cases")
    expect(investigator_page.locator("main")).to_contain_text(f"VV-{tag}")
    shot(investigator_page, "investigator-cases")
    for context in (phone, desk):
        context.close()
