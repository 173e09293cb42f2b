"""Disclosure in a real browser: the case unit's supervisor shares a case with a prosecutor from the case page;
the prosecutor lands on the cases shared with them, makes a package holding a redacted copy of the case's clip in
its place (chosen beside the clip), acknowledges its receipt;
the supervisor revokes the grant and the case leaves the prosecutor's list. Pages in Vietnamese and English, on a
desktop and a phone: no ids in the visible text, no horizontal overflow.

Set SCREENSHOTS_DIR to keep screenshots (the pages, and the receipt's first page rendered with pdftoppm)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from app.core import embedded
from tests.services import fresh_database
from tests.web.browser import CHROMIUM, DESKTOP, PHONE, LiveService, live_service
from tests.web.evidence_scene import PASSWORD, Scene, scene

SHOTS = Path(os.environ["SCREENSHOTS_DIR"]) if os.environ.get("SCREENSHOTS_DIR") else None
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def service(
    pg_server_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    data_dir = tmp_path_factory.mktemp("disclosure-data")
    with fresh_database(pg_server_url) as url, live_service(url, s3_server, "evidence-disclosure", data_dir) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _sign_in(page: Page, base: str, email: str, landing: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{landing}")


def _check_and_shoot(page: Page, name: str) -> None:
    text = page.locator("body").inner_text()
    assert not UUID_TEXT.search(text), f"{name}: an id in the visible text"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name}: {overflow} px of horizontal overflow"
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _user(service: LiveService, email: str, full_name: str, role: str, unit_id: str | None = None) -> None:
    body = {"email": email, "password": PASSWORD, "full_name": full_name, "role": role}
    service.post("/api/v1/users", service.admin_headers, body | ({"unit_id": unit_id} if unit_id else {}))


def _rendered_copy(service: LiveService, headers: dict[str, str], clip_id: str) -> dict[str, str]:
    """A redacted copy of the clip made by the service's own worker: detection, a hand-drawn box, the render."""
    with service.api() as http:
        rid = http.post(f"/api/v1/clips/{clip_id}/redactions", headers=headers, json={"style": "blur"}).json()["id"]

        def until(status: str) -> dict[str, str]:
            deadline = time.monotonic() + 180
            while True:
                record: dict[str, str] = http.get(f"/api/v1/redactions/{rid}", headers=headers).json()
                if record["status"] == status:
                    return record
                assert record["status"] != "failed" and time.monotonic() < deadline, record["status"]
                time.sleep(0.5)

        found = until("review")
        frame = {"t": 0.0, "x": 0, "y": 0, "w": int(found["width"]) // 3, "h": int(found["height"]) // 3}
        box = {"source": "manual", "keyframes": [frame, {**frame, "t": 3.0}]}
        assert http.put(f"/api/v1/redactions/{rid}/boxes", headers=headers, json={"tracks": [box]}).status_code == 200
        assert http.post(f"/api/v1/redactions/{rid}/render", headers=headers).status_code == 202
        return until("ready")


def test_share_package_acknowledge_and_revoke_in_the_browser(
    service: LiveService, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    case: Scene = scene(
        service, tmp_path_factory.mktemp("disclosure-videos"), [("Cửa trước tiệm vàng", 10.7725, 106.6981, 0, 0.0)]
    )
    with service.api() as http:
        unit_id = http.get(f"/api/v1/cases/{case.case_id}", headers=case.investigator).json()["unit_id"]
    supervisor_email, prosecutor_email = (
        f"sup-{case.case_number.lower()}@example.org",
        f"vks-{case.case_number.lower()}@example.org",
    )
    _user(service, supervisor_email, "Phạm Văn Giám Sát", "supervisor", unit_id)
    _user(service, prosecutor_email, "Nguyễn Thị Kiểm Sát", "prosecutor")

    boss = browser.new_page(viewport=DESKTOP)
    _sign_in(boss, service.base, supervisor_email, "/")
    boss.goto(f"{service.base}/cases/{case.case_id}")
    boss.locator("#grants-link").click()
    boss.wait_for_url(re.compile(r"/grants$"))
    boss.fill("#grant-form input[name=grantee_email]", prosecutor_email)
    boss.fill("#grant-form input[name=reason]", "Truy tố vụ cướp giật")
    boss.click("#grant-form button[type=submit]")
    boss.wait_for_url(re.compile(r"/grants$"))
    assert "Nguyễn Thị Kiểm Sát" in boss.locator("table").inner_text()
    _check_and_shoot(boss, "disclosure-grants-vi-desktop")

    copy = _rendered_copy(service, case.investigator, case.cameras[0].clip["id"])

    prosecutor = browser.new_page(viewport=DESKTOP)
    _sign_in(prosecutor, service.base, prosecutor_email, "/disclosure")
    assert case.case_number in prosecutor.locator("table").inner_text()
    _check_and_shoot(prosecutor, "disclosure-cases-vi-desktop")
    prosecutor.get_by_role("link", name=case.case_number).click()
    prosecutor.wait_for_url(re.compile(r"/disclosure/cases/"))
    assert "Cửa trước tiệm vàng" in prosecutor.locator("#package-form").inner_text()
    # beside the clip: the clip as recorded (chosen by default) or its redacted copy
    choice = prosecutor.locator("#package-form select[name=redaction_ids]")
    assert choice.input_value() == ""
    assert "Bản che mặt: Làm mờ trong ô" in choice.inner_text()
    choice.select_option(copy["id"])
    _check_and_shoot(prosecutor, "disclosure-choose-vi-desktop")
    prosecutor.click("#package-form button[type=submit]")
    prosecutor.wait_for_selector("article.package")
    package = prosecutor.locator("article.package").inner_text()
    assert "-redacted.mp4" in package and "Bản che mặt" in package and copy["sha256"] in package
    assert "Tạo từ đoạn trích có SHA-256" in package and copy["parent_sha256"] in package
    prosecutor.fill("form.ack-form input[name=name]", "Nguyễn Thị Kiểm Sát")
    prosecutor.click("form.ack-form button[type=submit]")
    prosecutor.wait_for_selector("article.package p.status")
    assert "Nguyễn Thị Kiểm Sát" in prosecutor.locator("article.package p.status").inner_text()
    _check_and_shoot(prosecutor, "disclosure-case-vi-desktop")
    prosecutor.set_viewport_size(PHONE)
    _check_and_shoot(prosecutor, "disclosure-case-vi-phone")
    prosecutor.goto(f"{service.base}/lang/en")
    prosecutor.goto(f"{service.base}/disclosure")
    assert "Cases shared with me" in prosecutor.locator("h1").inner_text()
    _check_and_shoot(prosecutor, "disclosure-cases-en-phone")
    prosecutor.get_by_role("link", name=case.case_number).click()
    prosecutor.wait_for_url(re.compile(r"/disclosure/cases/"))
    assert "Receipt acknowledged by" in prosecutor.locator("article.package").inner_text()
    package = prosecutor.locator("article.package").inner_text()
    assert "Redacted copy" in package and "Made from the clip with SHA-256" in package
    assert "The clip as recorded" in prosecutor.locator("#package-form").inner_text()
    _check_and_shoot(prosecutor, "disclosure-case-en-phone")
    prosecutor.set_viewport_size(DESKTOP)
    _check_and_shoot(prosecutor, "disclosure-case-en-desktop")

    # the receipt's first page, as the recipient sees it
    receipt_link = prosecutor.locator("article.package a[href$='receipt.pdf']").first.get_attribute("href")
    assert receipt_link
    cookies = {c["name"]: c["value"] for c in prosecutor.context.cookies()}
    with httpx.Client(base_url=service.base, cookies=cookies, timeout=30) as http:
        pdf = http.get(receipt_link)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    workdir = tmp_path_factory.mktemp("receipt")
    (workdir / "receipt.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(workdir / "receipt.pdf"), "-"], capture_output=True, text=True).stdout
    assert "BIÊN NHẬN BÀN GIAO CHỨNG CỨ" in text and case.case_number in text
    for value in (copy["sha256"], copy["parent_sha256"], copy["mask_sha256"]):
        assert value[:32] in text and value[32:] in text, value
    assert "Redacted copy of a clip" in text
    if SHOTS:
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(workdir / "receipt.pdf")]
            + [str(SHOTS / "disclosure-receipt")],
            check=True,
        )
    with httpx.Client(base_url=service.base, timeout=30) as http:
        events = http.get(
            "/api/v1/custody", params={"case_id": case.case_id, "limit": 500}, headers=service.admin_headers
        ).json()
    actions = [e["action"] for e in events["items"]]
    assert "case.access_granted" in actions and "disclosure.acknowledged" in actions

    boss.reload()
    boss.locator("table button[type=submit]").first.click()
    boss.wait_for_url(re.compile(r"/grants$"))
    prosecutor.goto(f"{service.base}/disclosure")
    assert case.case_number not in prosecutor.locator("body").inner_text()
