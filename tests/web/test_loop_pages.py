"""The loop's pages in a real browser against `footage serve` with its worker: the investigator reads what the
owner answered on /notifications, the unread count in the header of every page falls as they are marked read; the
supervisor's /supervisor lists the unit's open requests at-risk first. Vietnamese and English, desk and phone;
the emails reach the investigator through the real SMTP server. Set SCREENSHOTS_DIR to keep the screenshots."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.auth.models import Role
from app.core import embedded
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, DESKTOP, PHONE, LiveService, live_service

PASSWORD = "loop pages test password"
SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("loop-pages-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-loop-pages", data_dir) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _seed(service: LiveService) -> dict[str, Any]:
    """A unit with an investigator and a supervisor, a shop owner with an account and three cameras (recorders
    keeping 2, 6 and 14 days), a case and a request to each; the owner denies one and approves one in part."""
    admin = service.admin_headers
    tag = uuid.uuid4().hex[:6]
    unit = service.post("/api/v1/units", admin, {"name": "Công an phường Điện Biên", "code": f"DB-{tag}"})
    people = {
        "investigator": (f"dtv-{tag}@example.org", "Trần Văn Minh"),
        "supervisor": (f"chihuy-{tag}@example.org", "Lê Thị Thu"),
    }
    for role, (email, name) in people.items():
        service.post(
            "/api/v1/users",
            admin,
            {"email": email, "password": PASSWORD, "full_name": name, "role": role, "unit_id": unit["id"]},
        )
    owner = service.post(
        "/api/v1/owners",
        admin,
        {"name": "Cửa hàng điện thoại Hoàng Long", "kind": "business", "phone": "0912 345 678"},
    )
    owner_email = f"hoanglong-{tag}@example.org"
    service.post(
        "/api/v1/users",
        admin,
        {
            "email": owner_email,
            "password": PASSWORD,
            "full_name": "Hoàng Long",
            "role": "owner",
            "owner_id": owner["id"],
        },
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
    investigator = service.token(people["investigator"][0], PASSWORD)
    incident = (datetime.now(UTC) - timedelta(hours=20)).replace(microsecond=0)
    case = service.post(
        "/api/v1/cases",
        investigator,
        {
            "number": f"VV-{tag}",
            "title": "Trộm xe máy trước cửa hàng",
            "offence": "theft",
            "incident_lat": 19.8075,
            "incident_lon": 105.7765,
            "incident_start": incident.isoformat(),
            "incident_end": (incident + timedelta(minutes=2)).isoformat(),
        },
    )
    requests = []
    for label, days in (("Cổng trước", 14), ("Quầy", 6), ("Bãi xe", 2)):
        camera = service.post(
            "/api/v1/cameras",
            admin,
            {
                "owner_id": owner["id"],
                "label": label,
                "address": "25 Lê Hoàn, phường Điện Biên",
                "lat": 19.8076,
                "lon": 105.7766,
                "retention_days": days,
            },
        )
        requests.append(
            service.post(
                f"/api/v1/cases/{case['id']}/requests",
                investigator,
                {
                    "camera_id": camera["id"],
                    "window_start": incident.isoformat(),
                    "window_end": (incident + timedelta(minutes=2)).isoformat(),
                    "purpose": "Nhận dạng đối tượng",
                    "legal_basis": "Điều 88 BLTTHS",
                },
            )
        )
    owner_headers = service.token(owner_email, PASSWORD)
    service.post(f"/api/v1/requests/{requests[0]['id']}/deny", owner_headers, {"reason": "Đầu ghi đang sửa chữa"})
    service.post(
        f"/api/v1/requests/{requests[1]['id']}/approve",
        owner_headers,
        {
            "approved_start": (incident + timedelta(seconds=30)).isoformat(),
            "approved_end": (incident + timedelta(seconds=90)).isoformat(),
            "reason": "Chỉ phần quay vỉa hè",
        },
    )
    return {
        "investigator": people["investigator"][0],
        "supervisor": people["supervisor"][0],
        "requests": [r["id"] for r in requests],
        "case_number": case["number"],
    }


def _signed_in(browser: Browser, service: LiveService, email: str, size: str, lang: str) -> Page:
    context = browser.new_context(viewport=PHONE if size == "phone" else DESKTOP, is_mobile=size == "phone")
    page = context.new_page()
    page.goto(f"{service.base}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)
    page.goto(f"{service.base}/lang/{lang}")
    return page


def _check_page(page: Page, lang: str, size: str, name: str) -> str:
    assert page.locator("html").get_attribute("lang") == lang
    text = page.locator("main").inner_text() + page.locator("header").inner_text()
    assert not UUID_TEXT.findall(text), f"ids shown: {UUID_TEXT.findall(text)[:2]}"
    if size == "phone":
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{widths[0]} px wide on a {widths[1]} px phone"
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{size}.png"), full_page=True)
    return text


def test_notifications_and_supervision_pages(service: LiveService, browser: Browser) -> None:
    seeded = _seed(service)
    # The emails of the owner's two answers reach the investigator (Vietnamese by default), multipart.
    mail = service.inbox.wait_for(seeded["investigator"])
    assert mail.get_body(("html",)) is not None and mail.get_body(("plain",)) is not None

    page = _signed_in(browser, service, seeded["investigator"], "desktop", "vi")
    page.goto(f"{service.base}/cases")
    assert page.locator("#unread .count").inner_text() == "2"  # on every staff page, not only the list
    page.goto(f"{service.base}/notifications")
    text = _check_page(page, "vi", "desktop", "investigator-notifications")
    assert "Chủ camera từ chối – Cổng trước" in text and "Đầu ghi đang sửa chữa" in text
    assert "Chủ camera đồng ý một phần" in text and "(giờ Việt Nam, UTC+7)" in text
    page.locator(".notification.unread").first.locator("button.secondary").click()
    # the form posts and the page comes back: wait for the count to change, not for a quiet network (which can
    # come before the navigation starts)
    expect(page.locator("#unread .count")).to_have_text("1")
    assert page.locator(".notification.unread").count() == 1
    page.locator(".notification.unread button[name=open_request]").click()
    page.wait_for_url(re.compile(r"/requests/"))
    assert page.locator("#unread .count").inner_text() == "0"
    page.context.close()

    for size in ("desktop", "phone"):
        for lang in ("vi", "en"):
            page = _signed_in(browser, service, seeded["investigator"], size, lang)
            page.goto(f"{service.base}/notifications")
            text = _check_page(page, lang, size, "investigator-notifications-read")
            assert ("The owner denied" if lang == "en" else "Chủ camera từ chối") in text
            page.context.close()

            page = _signed_in(browser, service, seeded["supervisor"], size, lang)
            page.goto(f"{service.base}/supervisor")
            text = _check_page(page, lang, size, "supervisor-open-requests")
            rows = page.locator("#supervised tbody tr")
            assert rows.count() == 2  # the denied request is no longer open
            first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()
            assert "Bãi xe" in first and "Quầy" in second  # unanswered with the recorder overwriting in ~1 day: first
            assert page.locator("#supervised tbody tr.at-risk").count() == 1
            assert "0912 345 678" in first and "Trần Văn Minh" in first
            if lang == "vi":
                assert "chủ camera trả lời" in first and "chưa trả lời" in first
                assert "chủ camera tải tệp ghi hình lên" in second
            else:
                assert "the camera owner to answer" in first and "not answered yet" in first
            assert "(Asia/Ho_Chi_Minh)" in first  # the camera's local time, to the second, with its zone
            page.context.close()


def test_opening_a_request_reads_its_notifications_and_the_header_follows(client: TestClient) -> None:
    from tests.factories import PASSWORD as FACTORY_PASSWORD
    from tests.factories import account, give_consent, make_camera, make_owner, make_unit, web_login

    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    owner_id = make_owner("Quán cà phê Sông Mã", "business")
    give_consent(owner_id)
    owner = account(client, Role.owner, owner_id=owner_id)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"VV-{uuid.uuid4().hex[:6]}",
            "title": "Va chạm giao thông",
            "offence": "traffic",
            "incident_lat": 19.80,
            "incident_lon": 105.77,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=1)).isoformat(),
        },
    ).json()
    ids = []
    for label in ("Hiên trước", "Bãi đỗ"):
        filed = client.post(
            f"/api/v1/cases/{case['id']}/requests",
            headers=investigator.headers,
            json={
                "camera_id": str(make_camera(owner_id, 19.80, 105.77, label=label)),
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(minutes=1)).isoformat(),
                "purpose": "Xác định diễn biến",
                "legal_basis": "Điều 88 BLTTHS",
            },
        ).json()
        ids.append(filed["id"])
        client.post(f"/api/v1/requests/{filed['id']}/deny", headers=owner.headers, json={"reason": "Không lưu"})

    def header_count(html: str) -> str:
        found = re.search(r'<span class="count" data-unread="(\d+)">', html)
        assert found is not None, "no unread count in the header"
        return found.group(1)

    client.cookies.clear()
    web_login(client, data={"email": investigator.email, "password": FACTORY_PASSWORD})
    assert header_count(client.get("/cases").text) == "2"
    assert header_count(client.get(f"/requests/{ids[0]}").text) == "1"  # this page's own notification is read
    assert header_count(client.get(f"/requests/{ids[0]}").text) == "1"
    unread = client.get("/api/v1/notifications", headers=investigator.headers, params={"unread": True}).json()
    assert [item["request_id"] for item in unread["items"]] == [ids[1]]

    outsider = account(client, Role.investigator, unit_id=make_unit())
    client.cookies.clear()
    web_login(client, data={"email": outsider.email, "password": FACTORY_PASSWORD})
    assert client.get(f"/requests/{ids[1]}").status_code == 404
    still = client.get("/api/v1/notifications", headers=investigator.headers, params={"unread": True}).json()
    assert still["total"] == 1
