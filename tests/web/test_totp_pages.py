"""Two-factor sign-in in a real browser against `footage serve`: an auditor's first sign-in sets up the
authenticator (QR code, the key as text, a code from it, recovery codes shown once), the next asks for the code;
Vietnamese on a phone, English on a desktop. The pages fit the screen (no horizontal scrolling).

Screenshots of each step go to docs/screenshots/ when SCREENSHOTS_DIR is set."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from app.core import embedded
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, DESKTOP, PHONE, LiveService, live_service

PASSWORD = "an auditor's long password"
SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("totp-page-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-totp-pages", data_dir) as live:
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


def fits(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def password_step(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/login/(code|enrol)"), timeout=10_000)


@pytest.mark.parametrize(("language", "size"), [("vi", "phone"), ("en", "desktop")])
def test_an_auditor_enrols_then_signs_in_with_the_code(
    service: LiveService, browser: Browser, language: str, size: str
) -> None:
    email = f"auditor-{uuid.uuid4().hex[:6]}@example.org"
    service.post(
        "/api/v1/users",
        service.admin_headers,
        {"email": email, "password": PASSWORD, "full_name": "Kiểm sát viên Lê Văn Tám", "role": "auditor"},
    )
    viewport = PHONE if size == "phone" else DESKTOP
    context = browser.new_context(viewport=viewport, is_mobile=size == "phone", locale="en-US")
    context.add_cookies([{"name": "lang", "value": language, "url": service.base}])
    page = context.new_page()
    password_step(page, service.base, email)
    assert "/login/enrol" in page.url
    assert page.locator("#totp-qr svg").is_visible()
    heading = page.locator("h1").inner_text()
    assert heading == ("Thiết lập đăng nhập hai lớp" if language == "vi" else "Set up two-factor sign-in")
    fits(page)
    shot(page, f"totp-enrol-{size}-{language}")
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    totp = pyotp.TOTP(key)

    # a wrong code keeps the same key on the page and says so in the reader's language
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    page.locator("#enrol-form input[name=code]").fill(wrong)
    page.locator("#enrol-form button[type=submit]").click()
    error = page.locator("p.error").inner_text()
    assert ("Mã không đúng" in error) if language == "vi" else ("wrong or too old" in error)
    assert page.locator("#totp-key").inner_text().replace(" ", "") == key

    page.locator("#enrol-form input[name=code]").fill(totp.now())
    page.locator("#enrol-form button[type=submit]").click()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", c) for c in codes)
    fits(page)
    shot(page, f"totp-recovery-codes-{size}-{language}")
    page.locator("#continue").click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)
    context.close()

    # A second browser: the password, then the code.
    again = browser.new_context(viewport=viewport, is_mobile=size == "phone", locale="en-US")
    again.add_cookies([{"name": "lang", "value": language, "url": service.base}])
    page = again.new_page()
    password_step(page, service.base, email)
    assert "/login/code" in page.url
    fits(page)
    shot(page, f"totp-code-{size}-{language}")
    page.locator("#totp-form input[name=code]").fill(totp.now())
    page.locator("#totp-form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)
    assert page.locator("main").is_visible()
    again.close()

    # The token endpoint takes the same code.
    with service.api() as http:
        answer = http.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD, "totp_code": totp.now()}
        )
        assert answer.status_code == 200, answer.text
