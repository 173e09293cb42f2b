"""The auditor's pages against the real database and S3: the custody browser, verification, case exports."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.core.config import get_settings, override_settings
from app.core.db import dispose_engine
from app.custody.service import append_event
from tests.factories import (
    PASSWORD,
    account,
    case_with_request,
    make_owner,
    make_user,
    web_login,
)
from tests.services import fresh_database


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _sign_in(client: TestClient, role: Role, **fields: object) -> str:
    _, email = make_user(role, **fields)  # type: ignore[arg-type]
    signed = web_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert signed.status_code == 303
    return email


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-seq="(\d+)">', html)]


def test_auditor_filters_the_custody_log_by_case_and_pages_through_it(client: TestClient) -> None:
    investigator, case_id = case_with_request(client)
    _, other_case = case_with_request(client, "Trộm xe máy đường Lê Lợi")
    auditor = account(client, Role.auditor)
    expected = client.get(f"/api/v1/custody?case_id={case_id}", headers=auditor.headers).json()["items"]
    assert len(expected) >= 2

    _sign_in(client, Role.auditor)
    page = client.get(f"/audit/custody?case_id={case_id}")
    assert page.status_code == 200
    assert _seqs(page.text) == [e["seq"] for e in expected]
    assert other_case not in page.text
    assert page.text.count(f'href="/audit/cases/{case_id}"') == len(expected)
    assert "(Asia/Ho_Chi_Minh)" in page.text and "Nhật ký lưu giữ" in page.text
    leaf = expected[0]["leaf_hash"]
    assert f'<code class="hash">{leaf}</code>' in page.text  # in the row's technical details
    assert 'id="checkpoint"' in page.text

    first = client.get(f"/audit/custody?case_id={case_id}&limit=1")
    assert _seqs(first.text) == [expected[0]["seq"]]
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = client.get(f"/audit/custody?case_id={case_id}&limit=1&offset=1")
    assert _seqs(second.text) == [expected[1]["seq"]] and 'rel="prev"' in second.text

    by_action = client.get(f"/audit/custody?case_id={case_id}&action=request.filed")
    assert _seqs(by_action.text) == [e["seq"] for e in expected if e["action"] == "request.filed"]
    by_actor = client.get("/audit/custody", params={"case_id": case_id, "actor": f"user:{investigator.id}"})
    assert _seqs(by_actor.text) == [e["seq"] for e in expected if e["actor"] == f"user:{investigator.id}"]
    after = client.get(f"/audit/custody?case_id={case_id}&since_seq={expected[0]['seq']}")
    assert _seqs(after.text) == [e["seq"] for e in expected[1:]]
    future = (datetime.now(UTC) + timedelta(days=1)).astimezone().strftime("%Y-%m-%dT%H:%M:%S")
    assert _seqs(client.get(f"/audit/custody?case_id={case_id}&from={future}").text) == []
    assert len(_seqs(client.get(f"/audit/custody?case_id={case_id}&until={future}").text)) == len(expected)

    malformed = client.get("/audit/custody?case_id=not-an-id")
    assert malformed.status_code == 422 and 'role="alert"' in malformed.text and "case_id" in malformed.text


def test_investigator_sees_only_their_units_events_and_cannot_verify(client: TestClient) -> None:
    _, case_id = case_with_request(client)
    _sign_in(client, Role.investigator)  # another unit
    page = client.get(f"/audit/custody?case_id={case_id}")
    assert page.status_code == 200 and _seqs(page.text) == []
    assert "/audit/custody/verify" not in page.text
    refused = client.post("/audit/custody/verify", data={"csrf_token": _csrf(page.text)})
    assert refused.status_code == 403


def test_auditor_runs_verification_and_sees_ok(isolated_client: TestClient) -> None:
    client = isolated_client
    case_with_request(client)
    _sign_in(client, Role.auditor)
    page = client.get("/audit/custody")
    forged = client.post("/audit/custody/verify", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    result = client.post("/audit/custody/verify", data={"csrf_token": _csrf(page.text)})
    assert result.status_code == 200
    assert 'data-ok="true"' in result.text and "ok:" in result.text
    size = int(re.search(r'id="verified-tree-size">(\d+)<', result.text).group(1))  # type: ignore[union-attr]
    assert size >= 2 and re.search(r'id="verified-root">[0-9a-f]{64}<', result.text)
    # the run is itself a custody event
    log = client.get("/audit/custody?action=custody.verified")
    assert len(_seqs(log.text)) >= 1 and "custody.verified" in log.text


@pytest.fixture()
def own_database(configured: str, pg_server_url: str) -> Iterator[str]:
    """The app pointed at a database of this test's own, so tampering with it touches nothing else."""
    previous = get_settings().database_url
    with fresh_database(pg_server_url) as url:
        override_settings(database_url=url)
        dispose_engine()
        try:
            yield url
        finally:
            override_settings(database_url=previous)
            dispose_engine()


def test_verification_names_the_seq_of_a_row_tampered_with(own_database: str) -> None:
    from app.main import create_app

    engine = create_engine(own_database)
    try:
        for i in range(5):
            with Session(engine) as session, session.begin():
                append_event(session, actor="system:test", action="test.touch", reason=f"lần {i}", details={"i": i})
        with engine.begin() as conn:  # a superuser bypassing the append-only triggers
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("UPDATE custody_events SET reason = 'không có gì' WHERE seq = 3"))
    finally:
        engine.dispose()
    with TestClient(create_app()) as client:
        _sign_in(client, Role.auditor)
        page = client.get("/audit/custody")
        result = client.post("/audit/custody/verify", data={"csrf_token": _csrf(page.text)})
    assert result.status_code == 200
    assert 'data-ok="false"' in result.text
    rows = re.findall(r"<tr><td>(\d+)</td><td>[^<]*</td>\s*<td>([^<]+)</td>", result.text)
    assert ("3", "edited row") in rows


def test_auditor_downloads_the_bundle_pdf_and_csv_from_the_case_page(client: TestClient, tmp_path: Path) -> None:
    _, case_id = case_with_request(client)
    _sign_in(client, Role.auditor)
    listing = client.get("/audit/cases")
    assert f'href="/audit/cases/{case_id}"' in listing.text
    page = client.get(f"/audit/cases/{case_id}")
    assert page.status_code == 200 and "Cướp giật điện thoại đường Đồng Khởi" in page.text
    token = _csrf(page.text)

    bundle = client.post(f"/audit/cases/{case_id}/export", data={"csrf_token": token, "format": "bundle"})
    assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/zip"
    assert bundle.headers["content-disposition"].startswith("attachment;")
    assert "custody-bundle-VV-" in bundle.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        names = set(archive.namelist())
        events = archive.read("events.jsonl").decode().splitlines()
    assert {"README.md", "report.json", "report.pdf", "events.jsonl", "checkpoint.json", "public_key.pem"} <= names
    assert "proofs.jsonl" in names and len(events) >= 3  # the case's events and the export's own

    exported = client.post(f"/audit/cases/{case_id}/export", data={"csrf_token": token, "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert ".csv" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [r["action"] for r in rows][:2] == ["case_created", "request.filed"]
    assert rows[1]["reason"] == "Nhận dạng đối tượng" and all(r["case_id"] == case_id for r in rows)

    pdf = client.post(f"/audit/cases/{case_id}/export", data={"csrf_token": token, "format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.content)
    shown = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True)
    assert "Cướp giật điện thoại đường Đồng Khởi" in shown.stdout

    # each download is in the custody log, as the API's exports are
    log = client.get(f"/audit/custody?case_id={case_id}&action=report.exported")
    assert len(_seqs(log.text)) == 3
    forged = client.post(f"/audit/cases/{case_id}/export", data={"csrf_token": "x", "format": "pdf"})
    assert forged.status_code == 403


def test_pages_send_visitors_without_a_session_to_sign_in(client: TestClient) -> None:
    for path in ("/audit/custody", "/audit/cases"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_owner_gets_403_on_the_custody_browser(client: TestClient) -> None:
    _sign_in(client, Role.owner, owner_id=make_owner())
    assert client.get("/audit/custody").status_code == 403
    assert client.get("/audit/cases").status_code == 403
