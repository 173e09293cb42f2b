"""Every page of every role, in a real browser, on a desk and on a phone, in Vietnamese (the default): no id in the
visible text (ids belong in the collapsed technical-details blocks), no English sentence of the catalogue left
untranslated, nothing wider than a 390 px phone, no error in the console. Data is seeded through the API as a
station would make it: a unit with its staff, an owner with an account and a one-time link, cameras, a case and
its requests."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from app.core import embedded
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

PASSWORD = "every page test password"
CATALOGUES = Path(__file__).resolve().parents[2] / "app" / "web" / "i18n"
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Text a page shows outside its collapsed technical blocks (those may hold ids, hashes and raw labels).
VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll("details, script, style, template").forEach((node) => node.remove());
  document.body.appendChild(copy);
  copy.style.position = "absolute"; copy.style.left = "-99999px";
  const text = copy.innerText;
  copy.remove();
  return text;
}"""


@cache
def english_sentences() -> tuple[str, ...]:
    """The catalogue's English that must not show on a Vietnamese page: every msgid the Vietnamese catalogue
    translates differently, in the parts a page would show whole (placeholders cut out), of at least two words;
    and the data keys (statuses, consent states, custody actions) that only a missing translation would show."""
    with (CATALOGUES / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        vietnamese = {m.id: m.string for m in read_po(handle) if m.id and isinstance(m.id, str)}
    found: set[str] = set()
    for msgid, translated in vietnamese.items():
        if not translated or translated == msgid:
            continue
        if re.fullmatch(r"[a-z]+(?:[._][a-z]+)+", msgid):
            found.add(msgid)  # a key: footage_mismatch, consent_none, request.filed
            continue
        for part in re.split(r"%\(\w+\)s|%s|\{\w+\}", msgid):
            part = part.strip(" :;,.()—-")
            if len(part) >= 12 and " " in part:
                found.add(part)
    return tuple(sorted(found))


def untranslated(text: str) -> list[str]:
    left = []
    for sentence in english_sentences():
        if "_" in sentence or "." in sentence and " " not in sentence:
            if re.search(rf"(?<![\w.]){re.escape(sentence)}(?![\w])", text):
                left.append(sentence)
        elif sentence in text:
            left.append(sentence)
    return left


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("every-page-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-every-page", data_dir) as live:
        yield live


def _seed(service: LiveService) -> dict[str, str]:
    """A ward station's day: its staff, a shop owner (an account, and a link by email) with two cameras, a case
    and a request to each camera; the pages' addresses come back by name."""
    admin = service.admin_headers
    tag = uuid.uuid4().hex[:6]
    unit = service.post("/api/v1/units", admin, {"name": "Công an phường Bến Nghé", "code": f"BN-{tag}"})
    people: dict[str, str] = {}
    names = {"investigator": "Trần Văn Minh", "supervisor": "Lê Thị Thu", "auditor": "Phạm Quốc Huy"}
    for role, full_name in names.items():
        email = f"{role}-{tag}@example.org"
        body: dict[str, Any] = {"email": email, "password": PASSWORD, "full_name": full_name, "role": role}
        if role != "auditor":
            body["unit_id"] = unit["id"]
        people[f"{role}_id"] = service.post("/api/v1/users", admin, body)["id"]
        people[role] = email
    owner_email = f"tiem-vang-{tag}@example.org"
    owner = service.post(
        "/api/v1/owners", admin, {"name": "Tiệm vàng Kim Thành", "kind": "business", "email": owner_email}
    )
    people["owner"] = f"chu-tiem-{tag}@example.org"
    service.post(
        "/api/v1/users",
        admin,
        {
            "email": people["owner"],
            "password": PASSWORD,
            "full_name": "Nguyễn Kim Thành",
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
    cameras = [
        service.post(
            "/api/v1/cameras",
            admin,
            {
                "owner_id": owner["id"],
                "label": label,
                "address": "12 Lê Lợi, phường Bến Nghé",
                "lat": lat,
                "lon": lon,
                "retention_days": 14,
            },
        )["id"]
        for label, lat, lon in (("Cổng trước", 10.77245, 106.69805), ("Quầy", 10.77250, 106.69812))
    ]
    investigator = service.token(people["investigator"], PASSWORD)
    incident = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    case = service.post(
        "/api/v1/cases",
        investigator,
        {
            "number": f"VV-{tag}",
            "title": "Cướp giật trước tiệm vàng",
            "offence": "robbery",
            "incident_lat": 10.77248,
            "incident_lon": 106.69808,
            "incident_start": incident.isoformat(),
            "incident_end": (incident + timedelta(seconds=30)).isoformat(),
        },
    )
    window = {
        "window_start": incident.isoformat(),
        "window_end": (incident + timedelta(seconds=30)).isoformat(),
        "purpose": "Nhận dạng nghi phạm",
        "legal_basis": "Điều 88 BLTTHS",
    }
    requests = [
        service.post(f"/api/v1/cases/{case['id']}/requests", investigator, {"camera_id": camera, **window})["id"]
        for camera in cameras
    ]
    # an owner no message reaches (no email, no bridge): the case page lists them to call
    neighbour = service.post(
        "/api/v1/owners", admin, {"name": "Ông Lê Văn Tám", "kind": "household", "phone": "0912 345 678"}
    )
    service.post(
        f"/api/v1/owners/{neighbour['id']}/consents",
        admin,
        {
            "scope": "on_request",
            "valid_from": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
            "terms_version": "2026-01",
            "legal_basis": "Thoả thuận Camera với ANTT",
        },
    )
    neighbour_camera = service.post(
        "/api/v1/cameras",
        admin,
        {
            "owner_id": neighbour["id"],
            "label": "Camera nhà ông Tám",
            "lat": 10.77255,
            "lon": 106.69815,
            "retention_days": 7,
        },
    )["id"]
    service.post(f"/api/v1/cases/{case['id']}/requests", investigator, {"camera_id": neighbour_camera, **window})
    message = service.inbox.wait_for(owner_email)
    body_part = message.get_body(preferencelist=("plain",))
    assert body_part is not None
    link = re.findall(rf"{re.escape(service.base)}/respond/[A-Za-z0-9_-]+", body_part.get_content())[0]
    appeal = service.post(
        f"/api/v1/cases/{case['id']}/appeals",
        investigator,
        {
            "title": "Tìm nhân chứng vụ cướp giật trước tiệm vàng",
            "text": "Ai có video hoặc ảnh quanh tiệm vàng trên đường Lê Lợi lúc xảy ra vụ việc, xin gửi cho công an.",
            "place": "Đường Lê Lợi, phường Bến Nghé",
            "lat": 10.77248,
            "lon": 106.69808,
            "radius_m": 300,
            "window_start": incident.isoformat(),
            "window_end": (incident + timedelta(minutes=30)).isoformat(),
            "closes_at": (datetime.now(UTC) + timedelta(days=14)).isoformat(),
        },
    )
    return {
        **people,
        "case": case["id"],
        "request": requests[0],
        "link": link,
        "appeal": appeal["id"],
        "public_appeal": appeal["public_url"],
        "owner_id": owner["id"],
        "camera": cameras[0],
    }


@pytest.fixture(scope="module")
def seeded(service: LiveService) -> dict[str, str]:
    return _seed(service)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def contexts(browser: Browser) -> Iterator[dict[tuple[str, str], BrowserContext]]:
    made: dict[tuple[str, str], BrowserContext] = {}
    yield made
    for context in made.values():
        context.close()


PAGES: dict[str, list[str]] = {
    "investigator": [
        "/",
        "/cases",
        "/cases/{case}",
        "/requests/{request}",
        "/notifications",
        "/cases/{case}/appeals",
        "/appeals/{appeal}",
        "/cases/{case}/timeline",
    ],
    "supervisor": [
        "/",
        "/cases",
        "/cases/{case}",
        "/requests/{request}",
        "/supervisor",
        "/notifications",
        "/appeals/{appeal}",
        "/stats",
        "/cases/{case}/grants",
        "/cases/{case}/timeline",
    ],
    "auditor": ["/", "/cases", "/audit/custody", "/audit/cases", "/audit/cases/{case}", "/requests/{request}"],
    "admin": ["/", "/cases", "/audit/custody", "/admin/users", "/admin/units", "/admin/cameras/import", "/supervisor"]
    + ["/stats", "/admin/districts", "/admin/owners", "/admin/owners/{owner_id}", "/admin/cameras/{camera}"]
    + ["/admin/users/{investigator_id}"],
    "owner": ["/owner/requests", "/owner/requests/{request}", "/owner/cameras", "/owner/ledger"],
    "link": ["{link}"],
    "anonymous": ["/login", "{public_appeal}"],
}
# Pages other work is still bringing to this standard: known to fail the sweep until it lands (not strict: a page
# fixed meanwhile passes as XPASS, and its entry goes).
IN_PROGRESS: dict[str, str] = {}  # a page still being fitted: its path and why, marked xfail


def _cases() -> list[Any]:
    cases = []
    for role, paths in PAGES.items():
        for path in paths:
            for size in ("desktop", "phone"):
                marks = [pytest.mark.xfail(reason=IN_PROGRESS[path], strict=False)] if path in IN_PROGRESS else []
                cases.append(pytest.param(role, path, size, marks=marks, id=f"{role}-{path}-{size}"))
    return cases


def _context(
    contexts: dict[tuple[str, str], BrowserContext],
    browser: Browser,
    service: LiveService,
    seeded: dict[str, str],
    role: str,
    size: str,
) -> BrowserContext:
    key = (role, size)
    if key in contexts:
        return contexts[key]
    viewport = PHONE if size == "phone" else DESKTOP
    # An English-speaking browser: the pages must stay Vietnamese until the user picks English.
    context = browser.new_context(viewport=viewport, is_mobile=size == "phone", locale="en-US")
    if role not in ("link", "anonymous"):
        email, password = (ADMIN_EMAIL, ADMIN_PASSWORD) if role == "admin" else (seeded[role], PASSWORD)
        page = context.new_page()
        page.goto(f"{service.base}/login")
        page.locator("input[name=email]").fill(email)
        page.locator("input[name=password]").fill(password)
        page.locator("form button[type=submit]").click()
        page.wait_for_url(lambda url: "/login" not in url or "/login/" in url, timeout=10_000)
        second_step(page, email)
        page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)
        page.close()
    contexts[key] = context
    return context


@pytest.mark.parametrize(("role", "path", "size"), _cases())
def test_every_page_speaks_vietnamese_names_things_and_fits_a_phone(
    service: LiveService,
    seeded: dict[str, str],
    browser: Browser,
    contexts: dict[tuple[str, str], BrowserContext],
    role: str,
    path: str,
    size: str,
) -> None:
    context = _context(contexts, browser, service, seeded, role, size)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "favicon" not in m.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        address = path.format(**seeded)
        url = address if address.startswith("http") else f"{service.base}{address}"
        response = page.goto(url)
        assert response is not None and response.status == 200, f"{path}: {response.status if response else None}"
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "vi"
        text = page.evaluate(VISIBLE_TEXT)
        ids = UUID_TEXT.findall(text)
        assert not ids, f"{path}: ids in the visible text: {ids[:3]}"
        english = untranslated(text)
        assert not english, f"{path}: English on the Vietnamese page: {english[:5]}"
        if size == "phone":
            widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert widths[0] <= widths[1], f"{path}: {widths[0]} px wide on a {widths[1]} px phone"
        assert not problems, f"{path}: console errors: {problems[:3]}"
        _screenshots(page, context, service.base, role, path, size)
    finally:
        page.close()


def _screenshots(page: Page, context: BrowserContext, base: str, role: str, path: str, size: str) -> None:
    """With SCREENSHOTS_DIR set (`make screenshots`), keep the page in Vietnamese and in English: the sweep's
    pages are every page of every role, so docs/screenshots follows the pages as they are."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if not folder:
        return
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower().replace("{", "").replace("}", "")).strip("-") or "home"
    name = f"sweep-{role}-{slug}-{size}"
    page.screenshot(path=f"{folder}/{name}-vi.png", full_page=True)
    context.add_cookies([{"name": "lang", "value": "en", "url": base}])
    try:
        page.reload()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=f"{folder}/{name}-en.png", full_page=True)
    finally:
        context.add_cookies([{"name": "lang", "value": "vi", "url": base}])
