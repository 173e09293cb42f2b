from __future__ import annotations

import csv
import io
import json
import subprocess
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from app.auth.models import Role
from tests.factories import account, case_with_request


def test_report_formats(client: TestClient, tmp_path: Path) -> None:
    investigator, case_id = case_with_request(client)
    auditor = account(client, Role.auditor)
    report = client.get(f"/api/v1/cases/{case_id}/custody-report?format=json", headers=auditor.headers)
    assert report.status_code == 200
    body = report.json()
    assert [e["action"] for e in body["events"]][:2] == ["case_created", "request.filed"]
    assert body["requests"][0]["history"][0]["to"] == "submitted"

    csv_response = client.get(f"/api/v1/cases/{case_id}/custody-report?format=csv", headers=investigator.headers)
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert rows[0]["seq"] and rows[1]["reason"] == "Nhận dạng đối tượng"

    pdf = client.get(f"/api/v1/cases/{case_id}/custody-report?format=pdf", headers=auditor.headers)
    assert pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    )
    words = " ".join(text.stdout.split())  # table cells wrap
    assert "Cướp giật điện thoại đường Đồng Khởi" in words
    assert "Điều 88 Bộ luật Tố tụng hình sự" in words

    # every export is itself in the custody log
    log = client.get(f"/api/v1/custody?case_id={case_id}&action=report.exported", headers=auditor.headers).json()
    assert [e["details"]["format"] for e in log["items"]] == ["json", "csv", "pdf"]


def test_bundle_holds_events_proofs_and_a_signed_checkpoint(client: TestClient) -> None:
    _, case_id = case_with_request(client)
    auditor = account(client, Role.auditor)
    bundle = client.get(f"/api/v1/cases/{case_id}/custody-report?format=bundle", headers=auditor.headers)
    assert bundle.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(bundle.content))
    assert set(archive.namelist()) == {
        "README.md",
        "report.json",
        "report.pdf",
        "events.jsonl",
        "proofs.jsonl",
        "checkpoint.json",
        "checkpoint.note",
        "consistency.jsonl",
        "public_key.pem",
        "verify_bundle.py",
    }
    events = [json.loads(line) for line in archive.read("events.jsonl").decode().splitlines()]
    proofs = [json.loads(line) for line in archive.read("proofs.jsonl").decode().splitlines()]
    checkpoint = json.loads(archive.read("checkpoint.json"))
    assert [p["seq"] for p in proofs] == [e["seq"] for e in events]
    assert events[-1]["action"] == "report.exported" and set(events[-1]["details"]["bundle_files"]) == {
        "report.json",
        "report.pdf",
        "verify_bundle.py",
    }
    assert all(p["tree_size"] == checkpoint["tree_size"] for p in proofs)
    served = client.get(
        "/api/v1/custody/proof/inclusion",
        params={"seq": events[0]["seq"], "tree_size": checkpoint["tree_size"]},
        headers=auditor.headers,
    ).json()
    assert served["audit_path"] == proofs[0]["audit_path"]
    key = client.get("/api/v1/custody/public-key").json()
    assert key["key_id"] == checkpoint["key_id"] and archive.read("public_key.pem").decode() == key["pem"]


def test_bundle_verifies_offline_and_fails_after_one_changed_byte(client: TestClient, tmp_path: Path) -> None:
    import sys

    from app.core.config import PROJECT_ROOT

    _, case_id = case_with_request(client)
    auditor = account(client, Role.auditor)
    content = client.get(f"/api/v1/cases/{case_id}/custody-report?format=bundle", headers=auditor.headers).content
    good = tmp_path / "bundle.zip"
    good.write_bytes(content)
    script = str(PROJECT_ROOT / "scripts" / "verify_bundle.py")
    ok = subprocess.run([sys.executable, script, str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for name in ("events.jsonl", "report.pdf", "checkpoint.json"):
        archive = zipfile.ZipFile(io.BytesIO(content))
        bad = tmp_path / f"bad-{name}.zip"
        with zipfile.ZipFile(bad, "w") as out:
            for item in archive.namelist():
                data = archive.read(item)
                if item == name:
                    index = len(data) // 2
                    data = data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]
                out.writestr(item, data)
        failed = subprocess.run([sys.executable, script, str(bad)], capture_output=True, text=True)
        assert failed.returncode == 1, (name, failed.stdout)


def test_verification_over_http_is_itself_recorded(isolated_client: TestClient) -> None:
    client = isolated_client
    case_with_request(client)
    auditor = account(client, Role.auditor)
    result = client.post("/api/v1/custody/verify", headers=auditor.headers)
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["ok"] is True, body["problems"]
    assert body["tree_size"] > 0 and len(body["root_hash"]) == 64
    logged = client.get("/api/v1/custody?action=custody.verified", headers=auditor.headers).json()["items"]
    assert logged and logged[-1]["details"]["tree_size"] == body["tree_size"]
    investigator = account(client, Role.investigator)
    assert client.post("/api/v1/custody/verify", headers=investigator.headers).status_code == 403


def test_a_bundle_with_one_event_of_the_case_removed_fails_naming_the_gap(client: TestClient, tmp_path: Path) -> None:
    import sys

    from app.core.config import PROJECT_ROOT

    _, case_id = case_with_request(client)
    auditor = account(client, Role.auditor)
    content = client.get(f"/api/v1/cases/{case_id}/custody-report?format=bundle", headers=auditor.headers).content
    archive = zipfile.ZipFile(io.BytesIO(content))
    events = [json.loads(line) for line in archive.read("events.jsonl").decode().splitlines()]
    # Every event of the case is chained: the first names none, each other names the one before, and the
    # export event (the last) names the case's head at export time.
    assert all(e["case_id"] == case_id for e in events)
    assert events[0]["case_prev"] is None
    for before, after in zip(events, events[1:], strict=False):
        assert after["case_prev"] == {"seq": before["seq"], "hash": before["leaf_hash"]}
    script = str(PROJECT_ROOT / "scripts" / "verify_bundle.py")
    good = tmp_path / "good.zip"
    good.write_bytes(content)
    ok = subprocess.run([sys.executable, "-I", script, str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    assert f"ok    case {case_id}: chain of {len(events)} events unbroken" in ok.stdout

    removed = events[len(events) // 2]
    following = next(e for e in events if e["seq"] > removed["seq"])
    preceding = max(e["seq"] for e in events if e["seq"] < removed["seq"])
    bad = tmp_path / "one-removed.zip"
    with zipfile.ZipFile(bad, "w") as out:
        for item in archive.namelist():
            data = archive.read(item)
            if item in ("events.jsonl", "proofs.jsonl"):
                lines = data.decode().splitlines(keepends=True)
                data = "".join(line for line in lines if json.loads(line)["seq"] != removed["seq"]).encode()
            out.writestr(item, data)
    failed = subprocess.run([sys.executable, "-I", script, str(bad)], capture_output=True, text=True)
    assert failed.returncode == 1, failed.stdout
    assert (
        f"case {case_id}: events left out between seq {removed['seq']} and seq {following['seq']}: "
        f"event seq {following['seq']} names seq {removed['seq']}" in failed.stdout
    )
    assert preceding < removed["seq"]
