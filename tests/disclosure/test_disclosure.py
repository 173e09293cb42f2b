"""Disclosure to the procuracy: a supervisor grants a prosecutor one case for a term; the prosecutor sees that case
only, takes a package (clips, custody bundle, receipt) whose ZIP reads back with the receipt's hashes, and
acknowledges the receipt. Revoked and expired grants are refused."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import Role
from app.cases.models import Case
from app.core import clock
from app.core.config import PROJECT_ROOT
from app.core.db import session_factory
from app.custody.checkpoints import issue_checkpoint, list_checkpoints
from app.custody.models import CustodyEvent
from tests.factories import account, case_with_request
from tests.reports import scenario


def _supervisor_of(client: TestClient, case_id: str) -> dict[str, str]:
    with session_factory()() as session:
        unit_id = session.scalar(select(Case.unit_id).where(Case.id == uuid.UUID(case_id)))
    return account(client, Role.supervisor, unit_id=unit_id).headers


def _grant(client: TestClient, headers: dict[str, str], case_id: str, email: str, days: float = 30) -> dict[str, str]:
    expires = (clock.now() + timedelta(days=days)).isoformat()
    answer = client.post(
        f"/api/v1/cases/{case_id}/grants",
        headers=headers,
        json={"grantee_email": email, "expires_at": expires, "reason": "Truy tố vụ án cướp giật"},
    )
    assert answer.status_code == 201, answer.text
    grant: dict[str, str] = answer.json()
    return grant


def _actions(case_id: str) -> list[str]:
    with session_factory()() as session:
        return list(
            session.scalars(
                select(CustodyEvent.action).where(CustodyEvent.case_id == uuid.UUID(case_id)).order_by(CustodyEvent.seq)
            )
        )


def test_prosecutor_sees_only_granted_cases_and_loses_them_on_revocation(client: TestClient) -> None:
    _, granted_case = case_with_request(client)
    _, other_case = case_with_request(client, "Trộm xe máy đường Lê Lợi")
    prosecutor = account(client, Role.prosecutor)
    supervisor = _supervisor_of(client, granted_case)

    before = client.get("/api/v1/cases", headers=prosecutor.headers)
    assert before.status_code == 200 and before.json()["items"] == []

    grant = _grant(client, supervisor, granted_case, prosecutor.email)
    assert "case.access_granted" in _actions(granted_case)
    listed = client.get("/api/v1/cases", headers=prosecutor.headers).json()["items"]
    assert [c["id"] for c in listed] == [granted_case]
    assert client.get(f"/api/v1/cases/{granted_case}", headers=prosecutor.headers).status_code == 200
    assert client.get(f"/api/v1/cases/{other_case}", headers=prosecutor.headers).status_code == 404
    assert client.get(f"/api/v1/cases/{granted_case}/disclosure", headers=prosecutor.headers).status_code == 200
    assert client.get(f"/api/v1/cases/{other_case}/disclosure", headers=prosecutor.headers).status_code == 404
    # the granted case's custody report and bundle, not another case's
    report = client.get(f"/api/v1/cases/{granted_case}/custody-report?format=pdf", headers=prosecutor.headers)
    assert report.status_code == 200 and report.headers["content-type"] == "application/pdf"
    assert (
        client.get(f"/api/v1/cases/{other_case}/custody-report?format=bundle", headers=prosecutor.headers).status_code
        == 404
    )
    assert client.get(f"/api/v1/cases/{granted_case}/owners-to-call", headers=prosecutor.headers).status_code == 403
    # nothing else: requests, owners and cameras are not theirs to see
    for path in ("/api/v1/requests", "/api/v1/owners", "/api/v1/cameras"):
        assert client.get(path, headers=prosecutor.headers).status_code == 403, path

    # a supervisor of another unit may not grant this case; another case's supervisor sees it as missing
    stranger = account(client, Role.supervisor).headers
    refused = client.post(
        f"/api/v1/cases/{granted_case}/grants",
        headers=stranger,
        json={"grantee_email": prosecutor.email, "expires_at": grant["expires_at"], "reason": "x"},
    )
    assert refused.status_code == 404
    # only prosecutor accounts receive grants
    investigator = account(client, Role.investigator)
    wrong = client.post(
        f"/api/v1/cases/{granted_case}/grants",
        headers=supervisor,
        json={"grantee_email": investigator.email, "expires_at": grant["expires_at"], "reason": "x"},
    )
    assert wrong.status_code == 422

    revoked = client.post(f"/api/v1/grants/{grant['id']}/revoke", headers=supervisor)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert "case.access_revoked" in _actions(granted_case)
    assert client.get("/api/v1/cases", headers=prosecutor.headers).json()["items"] == []
    assert client.get(f"/api/v1/cases/{granted_case}", headers=prosecutor.headers).status_code == 404
    assert client.get(f"/api/v1/cases/{granted_case}/disclosure", headers=prosecutor.headers).status_code == 404


def test_an_expired_grant_is_refused(client: TestClient) -> None:
    _, case_id = case_with_request(client)
    prosecutor = account(client, Role.prosecutor)
    supervisor = _supervisor_of(client, case_id)
    # The grant is given two days ago for one day (the service's clock set back), so its term is over now.
    clock.set_clock(clock.FrozenClock(datetime.now(UTC) - timedelta(days=2)))
    try:
        _grant(client, supervisor, case_id, prosecutor.email, days=1)
        assert client.get(f"/api/v1/cases/{case_id}/disclosure", headers=prosecutor.headers).status_code == 200
    finally:
        clock.set_clock(None)
    assert client.get(f"/api/v1/cases/{case_id}/disclosure", headers=prosecutor.headers).status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}", headers=prosecutor.headers).status_code == 404
    assert client.get("/api/v1/cases", headers=prosecutor.headers).json()["items"] == []
    made = client.post(f"/api/v1/cases/{case_id}/disclosures", headers=prosecutor.headers, json={})
    assert made.status_code == 404


def test_package_reads_back_with_the_receipts_hashes_and_is_acknowledged(client: TestClient, tmp_path: Path) -> None:
    court = scenario.build(client, tmp_path)
    prosecutor = account(client, Role.prosecutor)
    _grant(client, _supervisor_of(client, court.case_id), court.case_id, prosecutor.email)

    evidence = client.get(f"/api/v1/cases/{court.case_id}/disclosure", headers=prosecutor.headers).json()
    assert [c["id"] for c in evidence["clips"]] == [court.clip_id]
    foreign = client.post(
        f"/api/v1/cases/{court.case_id}/disclosures", headers=prosecutor.headers, json={"clip_ids": [str(uuid.uuid4())]}
    )
    assert foreign.status_code == 422
    made = client.post(
        f"/api/v1/cases/{court.case_id}/disclosures", headers=prosecutor.headers, json={"clip_ids": [court.clip_id]}
    )
    assert made.status_code == 201, made.text
    disclosure = made.json()
    assert [i["kind"] for i in disclosure["items"]] == ["clip", "bundle"]

    package = client.get(f"/api/v1/disclosures/{disclosure['id']}/package", headers=prosecutor.headers)
    assert package.status_code == 200 and package.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    for item in disclosure["items"]:
        content = archive.read(item["name"])
        assert hashlib.sha256(content).hexdigest() == item["sha256"], item["name"]
        assert len(content) == item["size"]
        assert item["custody_seq"] is not None and item["custody_seq"] <= item["checkpoint_tree_size"]
    receipt = archive.read("receipt.pdf")
    assert hashlib.sha256(receipt).hexdigest() == disclosure["receipt_sha256"]
    alone = client.get(f"/api/v1/disclosures/{disclosure['id']}/receipt", headers=prosecutor.headers)
    assert alone.content == receipt

    bundle_item = next(i for i in disclosure["items"] if i["kind"] == "bundle")
    bundle = tmp_path / bundle_item["name"]
    bundle.write_bytes(archive.read(bundle_item["name"]))
    clip_item = next(i for i in disclosure["items"] if i["kind"] == "clip")
    clip_file = tmp_path / "clip.mp4"
    clip_file.write_bytes(archive.read(clip_item["name"]))
    script = str(PROJECT_ROOT / "scripts" / "verify_bundle.py")
    verified = subprocess.run([sys.executable, script, str(bundle), str(clip_file)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "VERIFIED" in verified.stdout

    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(receipt)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "BIÊN NHẬN BÀN GIAO CHỨNG CỨ" in text
    assert "Disclosure receipt" in text
    assert court.number in text
    for item in disclosure["items"]:
        assert item["sha256"][:32] in text and item["sha256"][32:] in text
        assert item["name"] in text
    assert "Xác nhận đã nhận" in text

    # someone else cannot read the package: another prosecutor sees no such disclosure
    other = account(client, Role.prosecutor)
    assert client.get(f"/api/v1/disclosures/{disclosure['id']}/package", headers=other.headers).status_code == 404

    acked = client.post(
        f"/api/v1/disclosures/{disclosure['id']}/acknowledge", headers=prosecutor.headers, json={"name": "Lê Thị Thu"}
    )
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_name"] == "Lê Thị Thu"
    again = client.post(
        f"/api/v1/disclosures/{disclosure['id']}/acknowledge", headers=prosecutor.headers, json={"name": "Lê Thị Thu"}
    )
    assert again.status_code == 409
    actions = _actions(court.case_id)
    for action in ("disclosure.packaged", "disclosure.downloaded", "disclosure.acknowledged"):
        assert action in actions, action


def _redacted_copy(client: TestClient, court: scenario.CourtCase) -> dict[str, Any]:
    """A rendered redacted copy of the case's clip: a solid box drawn by hand over its first two seconds."""
    from app.footage import redaction

    made = client.post(f"/api/v1/clips/{court.clip_id}/redactions", headers=court.headers, json={"style": "box"})
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    found = redaction.detect_faces(session_factory(), uuid.UUID(rid))
    assert found is not None and found.status == "review" and found.width and found.height
    box = {"source": "manual", "keyframes": [{"t": 0.0, "x": 0, "y": 0, "w": found.width // 2, "h": found.height // 2}]}
    box["keyframes"].append({**box["keyframes"][0], "t": 2.0})
    saved = client.put(f"/api/v1/redactions/{rid}/boxes", headers=court.headers, json={"tracks": [box]})
    assert saved.status_code == 200, saved.text
    assert client.post(f"/api/v1/redactions/{rid}/render", headers=court.headers).status_code == 202
    assert redaction.render(session_factory(), uuid.UUID(rid)) is not None
    record: dict[str, Any] = client.get(f"/api/v1/redactions/{rid}", headers=court.headers).json()
    assert record["status"] == "ready"
    return record


def _first_covering(seq: int) -> tuple[int, str]:
    """The tree size and root of the first signed checkpoint whose log holds event `seq` (as proofs index it)."""
    with session_factory()() as session:
        for checkpoint in list_checkpoints(session):
            if checkpoint.tree_size > seq - 1:
                return checkpoint.tree_size, checkpoint.root_hash.hex()
    raise AssertionError(f"no checkpoint covers {seq}")


def test_a_package_holds_a_redacted_copy_in_place_of_its_clip(client: TestClient, tmp_path: Path) -> None:
    court = scenario.build(client, tmp_path)
    copy = _redacted_copy(client, court)
    with session_factory()() as session:  # a checkpoint signed now covers the copy's events before the package's
        issue_checkpoint(session)
        session.commit()
    prosecutor = account(client, Role.prosecutor)
    _grant(client, _supervisor_of(client, court.case_id), court.case_id, prosecutor.email)

    evidence = client.get(f"/api/v1/cases/{court.case_id}/disclosure", headers=prosecutor.headers).json()
    (clip,) = evidence["clips"]
    assert [r["id"] for r in clip["redactions"]] == [copy["id"]]
    assert clip["redactions"][0]["parent_sha256"] == clip["sha256"] == copy["parent_sha256"]

    # a copy must be finished, of the case, and its clip chosen too
    path = f"/api/v1/cases/{court.case_id}/disclosures"
    stranger = client.post(path, headers=prosecutor.headers, json={"redaction_ids": [str(uuid.uuid4())]})
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["field"] == "redaction_ids"
    (tmp_path / "other").mkdir()
    other_case = scenario.build(client, tmp_path / "other")
    not_chosen = client.post(
        path, headers=prosecutor.headers, json={"clip_ids": [other_case.clip_id], "redaction_ids": [copy["id"]]}
    )
    assert not_chosen.status_code == 422

    made = client.post(
        path, headers=prosecutor.headers, json={"clip_ids": [court.clip_id], "redaction_ids": [copy["id"]]}
    )
    assert made.status_code == 201, made.text
    disclosure = made.json()
    item, bundle_item = disclosure["items"]
    assert item["kind"] == "redacted_copy" and bundle_item["kind"] == "bundle"
    assert item["object_id"] == copy["id"] and item["sha256"] == copy["sha256"] and item["size"] == copy["size"]
    assert item["name"].endswith("-redacted.mp4")
    assert item["parent"]["sha256"] == clip["sha256"] and item["parent"]["clip_id"] == court.clip_id
    assert item["redaction"]["mask_sha256"] == copy["mask_sha256"] and item["redaction"]["style"] == "box"
    # the item's event is the copy's rendering; each item names the first checkpoint covering its own event
    with session_factory()() as session:
        rendered = session.scalars(
            select(CustodyEvent.seq).where(
                CustodyEvent.object_id == uuid.UUID(copy["id"]), CustodyEvent.action == "redaction.rendered"
            )
        ).one()
    assert item["custody_seq"] == rendered
    for listed in disclosure["items"]:
        size, root = _first_covering(listed["custody_seq"])
        assert (listed["checkpoint_tree_size"], listed["checkpoint_root"]) == (size, root), listed["name"]
    assert item["checkpoint_tree_size"] < bundle_item["checkpoint_tree_size"] == disclosure["checkpoint_tree_size"]
    assert item["parent"]["custody_seq"] < item["custody_seq"]

    # the ZIP holds the copy, not the clip, and its hashes are the receipt's
    package = client.get(f"/api/v1/disclosures/{disclosure['id']}/package", headers=prosecutor.headers)
    assert package.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    assert sorted(archive.namelist()) == sorted([item["name"], bundle_item["name"], "receipt.pdf"])
    for listed in disclosure["items"]:
        content = archive.read(listed["name"])
        assert hashlib.sha256(content).hexdigest() == listed["sha256"] and len(content) == listed["size"]
    assert hashlib.sha256(archive.read(item["name"])).hexdigest() != clip["sha256"]

    # the receipt lists the copy with its own hash, its clip's, the mask file's and the redaction's record
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(archive.read("receipt.pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    for value in (copy["sha256"], clip["sha256"], copy["mask_sha256"], bundle_item["sha256"]):
        assert value[:32] in text and value[32:] in text, value
    for words in (
        "Bản che mặt của đoạn trích",
        "Redacted copy of a clip",
        "Đoạn trích gốc",
        "Parent clip",
        "Tệp mặt nạ",
    ):
        assert words in flat, words
    assert copy["id"][:24] in flat and copy["id"][24:] in flat
    assert f"#{item['custody_seq']} / {item['checkpoint_tree_size']}" in flat
    assert "Signed checkpoints covering the items" in flat
    for listed in disclosure["items"]:
        assert listed["checkpoint_root"][:32] in text and listed["checkpoint_root"][32:] in text
    (packaged,) = [e for e in _events(court.case_id, "disclosure.packaged")]
    assert packaged.details["items"][0]["parent_sha256"] == clip["sha256"]
    assert packaged.details["items"][0]["checkpoint_tree_size"] == item["checkpoint_tree_size"]


def _events(case_id: str, action: str) -> list[CustodyEvent]:
    with session_factory()() as session:
        return list(
            session.scalars(
                select(CustodyEvent).where(CustodyEvent.case_id == uuid.UUID(case_id), CustodyEvent.action == action)
            )
        )
