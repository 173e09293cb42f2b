"""A real browser against the real running service: Debian's Chromium driven by Playwright, the service as
`footage serve` (with its worker) in a subprocess on its own database and bucket, an SMTP server that keeps
the emails it is sent. Shared by the browser tests; nothing here is mocked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pyotp
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from playwright.sync_api import Page

from app.core import embedded
from tests.services import FIRST_ADMIN_TOTP_SECRET, wait_until_ready

# Debian's package; the tests never download a browser of their own.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "browser admin password"
PHONE = {"width": 390, "height": 844}
# Authenticator secrets of the served instance's users, by email: the first admin's from the start, others' as the
# browser enrols them on /login/enrol.
BROWSER_TOTP_SECRETS: dict[str, str] = {ADMIN_EMAIL: FIRST_ADMIN_TOTP_SECRET}


def second_step(page: Page, email: str) -> None:
    """After the password: type the authenticator's code, or set the authenticator up (reading the key the page
    shows as text) and go on past the recovery codes; nothing for an account without a second factor."""
    page.wait_for_load_state()
    if "/login/enrol" in page.url:
        key = page.locator("#totp-key").inner_text().replace(" ", "")
        BROWSER_TOTP_SECRETS[email] = key
        page.locator("#enrol-form input[name=code]").fill(pyotp.TOTP(key).now())
        page.locator("#enrol-form button[type=submit]").click()
        page.locator("#recovery-codes").wait_for()
        page.locator("#continue").click()
    elif "/login/code" in page.url:
        page.locator("#totp-form input[name=code]").fill(pyotp.TOTP(BROWSER_TOTP_SECRETS[email]).now())
        page.locator("#totp-form button[type=submit]").click()


DESKTOP = {"width": 1366, "height": 900}
RECEIPT_SUBJECTS = ("Biên nhận", "Receipt:")


class Inbox:
    """Every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        assert isinstance(envelope.content, bytes)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def wait_for(self, recipient: str, timeout: float = 90, *, receipts: bool = False) -> EmailMessage:
        """The first email to `recipient`; consent receipts (sent whenever consent is recorded) are passed over
        unless `receipts`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                is_receipt = str(message["Subject"]).startswith(RECEIPT_SUBJECTS)
                if recipient in str(message["To"]) and is_receipt == receipts:
                    return message
            time.sleep(0.25)
        raise AssertionError(f"no email to {recipient} within {timeout} s")


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = embedded.free_ports(1)[0]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@dataclass
class LiveService:
    base: str
    inbox: Inbox
    process: subprocess.Popen[bytes]
    admin_headers: dict[str, str] = field(default_factory=dict)

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30)

    def token(self, email: str, password: str) -> dict[str, str]:
        data = {"username": email, "password": password}
        if email in BROWSER_TOTP_SECRETS:
            data["totp_code"] = pyotp.TOTP(BROWSER_TOTP_SECRETS[email]).now()
        with self.api() as http:
            response = http.post("/api/v1/auth/token", data=data)
            response.raise_for_status()
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def post(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        with self.api() as http:
            response = http.post(path, headers=headers, json=body)
            assert response.status_code in (200, 201), response.text
            result: dict[str, Any] = response.json()
            return result


@contextmanager
def live_service(
    database_url: str, s3: embedded.EmbeddedS3, bucket: str, data_dir: Path, **settings: str
) -> Iterator[LiveService]:
    """`footage serve` with one worker beside it, until the block ends; `settings` add environment variables."""
    port = embedded.free_ports(1)[0]
    base = f"http://127.0.0.1:{port}"
    with smtp_server() as (inbox, smtp_port):
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "S3_ENDPOINT": s3.endpoint,
            "S3_ACCESS_KEY": s3.access_key,
            "S3_SECRET_KEY": s3.secret_key,
            "S3_BUCKET": bucket,
            "DATA_DIR": str(data_dir),
            "ADMIN_EMAIL": ADMIN_EMAIL,
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ADMIN_TOTP_SECRET": FIRST_ADMIN_TOTP_SECRET,
            "PUBLIC_BASE_URL": base,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "MAP_TILE_URL": "",  # no tiles: stations often have no internet, the page must work without them
            "LOG_LEVEL": "warning",
            **settings,
        }
        process = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], env=env)
        try:
            wait_until_ready(base, process)
            service = LiveService(base, inbox, process)
            service.admin_headers = service.token(ADMIN_EMAIL, ADMIN_PASSWORD)
            yield service
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
