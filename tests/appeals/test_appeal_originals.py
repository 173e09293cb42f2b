"""An accepted appeal submission is an original of its case: the same stored object (key, version, hash), no
request, the contributor on record; its clips are clips of the case naming their parent's hash; the case's custody
report (JSON and PDF) and its bundle list it as contributed through the appeal, by its sender or anonymously; and
custody verification compares the appeal's rows with the log, naming a submission row changed around the service."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from app.appeals.models import Submission
from app.auth.models import Role
from app.core.db import session_factory
from app.footage.models import Clip, Original
from tests.appeals.helpers import investigator_with_case, phone_video, photo_png, publish, send
from tests.factories import Account, account

NAME = "Nguy%E1%BB%85n%20V%C4%83n%20A"  # Nguyễn Văn A, as the public page sends it


def _accepted_case(
    client: TestClient, tmp_path: Path
) -> tuple[Account, dict[str, Any], dict[str, Any], dict[str, Any]]:
    investigator, case = investigator_with_case(client)
    appeal = publish(client, investigator, case)
    video = phone_video(tmp_path / "v.mp4").read_bytes()
    sent = send(
        client,
        appeal["slug"],
        video,
        "video/mp4",
        "v.mp4",
        X_Taken_At="2026-12-02T20:15:00",
        X_Contact_Name=NAME,
        X_Contact_Phone="0912 345 678",
    )
    assert sent.status_code == 202, sent.text
    assert send(client, appeal["slug"], photo_png(), "image/png", "p.png").status_code == 202
    items = client.get(f"/api/v1/appeals/{appeal['id']}/submissions", headers=investigator.headers).json()["items"]
    by_kind = {s["kind"]: s for s in items}
    for item in items:
        accepted = client.post(f"/api/v1/submissions/{item['id']}/accept", json={}, headers=investigator.headers)
        assert accepted.status_code == 200, accepted.text
    return investigator, case, appeal, by_kind


def test_an_accepted_submission_is_an_original_of_the_case(isolated_client: TestClient, tmp_path: Path) -> None:
    client = isolated_client
    investigator, case, appeal, by_kind = _accepted_case(client, tmp_path)
    video, photo = by_kind["video"], by_kind["photo"]
    assert video["contributor_phone"] == "+84912345678"  # kept in E.164 like owners' phones
    clip = client.post(
        f"/api/v1/submissions/{video['id']}/clips",
        json={"window_start": "2026-12-02T13:15:00+00:00", "window_end": "2026-12-02T13:15:01+00:00"},
        headers=investigator.headers,
    )
    assert clip.status_code == 201, clip.text
    listed = client.get(f"/api/v1/submissions/{video['id']}/clips", headers=investigator.headers).json()
    assert [c["id"] for c in listed["items"]] == [clip.json()["id"]]
    assert clip.json()["case_id"] == case["id"] and clip.json()["submission_id"] == video["id"]

    with session_factory()() as session:
        submission = session.get(Submission, video["id"])
        original = session.scalar(select(Original).where(Original.appeal_submission_id == video["id"]))
        assert submission is not None and original is not None
        assert original.request_id is None and str(original.case_id) == case["id"]
        assert (original.object_key, original.version_id, original.sha256) == (
            submission.object_key,
            submission.version_id,
            submission.sha256,
        )  # the same locked object: nothing copied
        assert original.recording_start_source == "sender" and original.legal_hold
        shown = client.get(f"/api/v1/submissions/{video['id']}", headers=investigator.headers).json()
        assert shown["original_id"] == str(original.id)
        cut = session.get(Clip, clip.json()["id"])
        assert cut is not None and cut.original_id == original.id and str(cut.case_id) == case["id"]
        assert cut.parent_sha256 == original.sha256 and cut.request_id is None
        photo_original = session.scalar(select(Original).where(Original.appeal_submission_id == photo["id"]))
        assert photo_original is not None and photo_original.recording_start_source == "received"
        made = session.execute(
            text("SELECT details FROM custody_events WHERE object_id = :id AND action = 'appeal.original_made'"),
            {"id": original.id},
        ).scalar_one()
        assert made["contributor"] == {"name": "Nguyễn Văn A", "phone": "+84912345678"}
        assert made["appeal_title"] == appeal["title"] and made["row"]["table"] == "originals"

    report = client.get(
        f"/api/v1/cases/{case['id']}/custody-report", params={"format": "json"}, headers=investigator.headers
    )
    assert report.status_code == 200, report.text
    originals = {o["sha256"]: o for o in report.json()["originals"]}
    named, anonymous = originals[video["sha256"]], originals[photo["sha256"]]
    assert named["request_id"] is None and named["appeal"]["contributor"] == "Nguyễn Văn A"
    assert named["camera_name"] == f"do người dân gửi qua lời kêu gọi “{appeal['title']}”, người gửi: Nguyễn Văn A"
    assert anonymous["appeal"]["anonymous"] and anonymous["camera_name"].endswith("người gửi: ẩn danh")
    assert [c["parent_sha256"] for c in report.json()["clips"]] == [video["sha256"]]
    assert "người gửi: Nguyễn Văn A" in report.json()["clips"][0]["name"]

    pdf = client.get(
        f"/api/v1/cases/{case['id']}/custody-report", params={"format": "pdf"}, headers=investigator.headers
    )
    assert pdf.status_code == 200
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.content)
    words = " ".join(
        subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "do người dân gửi qua lời kêu gọi" in words and "contributed through appeal" in words
    assert "Nguyễn Văn A" in words and "ẩn danh" in words and "anonymous" in words

    bundle = client.get(
        f"/api/v1/cases/{case['id']}/custody-report", params={"format": "bundle"}, headers=investigator.headers
    )
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        packed = json.loads(archive.read("report.json"))
    assert {o["sha256"] for o in packed["originals"]} == {video["sha256"], photo["sha256"]}
    assert all(o["appeal"]["title"] == appeal["title"] for o in packed["originals"])

    auditor = account(client, Role.auditor)
    verified = client.post("/api/v1/custody/verify", headers=auditor.headers).json()
    assert verified["ok"], verified["problems"][:5]


def test_verification_names_an_appeal_row_changed_around_the_service(
    isolated_client: TestClient, tmp_path: Path
) -> None:
    client = isolated_client
    _, _, _, by_kind = _accepted_case(client, tmp_path)
    auditor = account(client, Role.auditor)
    before = client.post("/api/v1/custody/verify", headers=auditor.headers).json()
    assert before["ok"], before["problems"][:5]
    video = by_kind["video"]
    with session_factory()() as session, session.begin():
        session.execute(
            text("UPDATE appeal_submissions SET contributor_name = 'Người khác', legal_hold = false WHERE id = :id"),
            {"id": video["id"]},
        )
        session.execute(
            text("UPDATE originals SET legal_hold = false WHERE appeal_submission_id = :id"),
            {"id": by_kind["photo"]["id"]},
        )
    after = client.post("/api/v1/custody/verify", headers=auditor.headers).json()
    assert not after["ok"]
    said = [p["what"] if isinstance(p, dict) else str(p) for p in after["problems"]]
    short = video["id"][:8]
    assert any(f"appeal submission {short}… contributor_name is Người khác in the table" in s for s in said), said
    assert any(f"appeal submission {short}… legal_hold is false in the table but true" in s for s in said), said
    assert any(f"appeal submission {short}… legal hold is on in S3 but off in the table" in s for s in said), said
    assert any(s.startswith("original ") and "legal_hold is false in the table but true" in s for s in said), said
    # what identifies the bytes cannot be changed at all: the database refuses it
    with pytest.raises(ProgrammingError, match="rows are evidence"), session_factory()() as session, session.begin():
        session.execute(
            text("UPDATE appeal_submissions SET sha256 = :sha WHERE id = :id"), {"id": video["id"], "sha": "0" * 64}
        )
