"""Verification covers the data tables: each security-relevant column edited with SQL (triggers bypassed) is a
named problem from `footage verify-custody` and from POST /api/v1/custody/verify; so are a row no event wrote, a
logged row gone from its table, and a legal hold removed in S3 behind the service's back. A consent widened
with SQL approves nothing at filing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from app.auth.models import Role
from app.cli import cli
from app.core.config import get_settings, override_settings
from app.core.db import dispose_engine, session_factory
from app.core.storage import get_storage
from app.custody.models import CustodyEvent
from app.custody.service import append_event
from app.custody.verify import verify_log
from app.footage.cutting import make_clip
from app.footage.models import Clip, Original
from tests.custody.conftest import tamper
from tests.factories import account, give_consent, make_camera, make_owner, make_unit
from tests.footage.test_footage import FORMATS, _upload, _video, approved_request


@pytest.fixture()
def own_app(own_log: Engine) -> Iterator[tuple[Engine, TestClient]]:
    """The app (API, CLI, services) pointed at the test's own database for the length of the test."""
    from app.main import create_app

    previous = get_settings().database_url
    override_settings(database_url=own_log.url.render_as_string(hide_password=False))
    dispose_engine()
    try:
        with TestClient(create_app()) as client:
            yield own_log, client
    finally:
        override_settings(database_url=previous)
        dispose_engine()


def _cli_problems() -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(cli, ["verify-custody", "--json"])
    return result.exit_code, json.loads(result.stdout)["problems"]


def _api_problems(client: TestClient) -> tuple[bool, list[dict[str, Any]]]:
    auditor = account(client, Role.auditor)
    body = client.post("/api/v1/custody/verify", headers=auditor.headers).json()
    return body["ok"], body["problems"]


def _named(problems: list[dict[str, Any]], object_id: object, words: str) -> bool:
    return any(p.get("object_id") == str(object_id) and words in p["what"] for p in problems)


def _evidence(client: TestClient, tmp_path: Path) -> dict[str, Any]:
    """A case, an auto-approved request, its original and its clip, all made through the service."""
    investigator, owner, request_id, t0 = approved_request(client)
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=15)
    assert _upload(client, owner, request_id, video, t0.isoformat()).status_code == 201
    assert make_clip(session_factory(), uuid.UUID(request_id)) is not None
    with session_factory()() as session:
        original = session.scalars(select(Original).where(Original.request_id == uuid.UUID(request_id))).one()
        clip = session.scalars(select(Clip).where(Clip.request_id == uuid.UUID(request_id))).one()
        consent_id = session.scalar(
            text("SELECT consent_id FROM extraction_requests WHERE id = :id"), {"id": request_id}
        )
        session.expunge_all()
    detail = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()
    return {
        "investigator": investigator,
        "request_id": request_id,
        "case_id": detail["case_id"],
        "consent_id": consent_id,
        "original": original,
        "clip": clip,
    }


def test_an_untouched_database_verifies_with_its_rows_and_locks(
    own_app: tuple[Engine, TestClient], tmp_path: Path
) -> None:
    _, client = own_app
    _evidence(client, tmp_path)
    code, problems = _cli_problems()
    assert code == 0 and problems == []
    ok, problems = _api_problems(client)
    assert ok and problems == []


def test_a_session_that_verified_the_data_goes_on_writing_events(
    own_app: tuple[Engine, TestClient], tmp_path: Path
) -> None:
    """The data comparison streams its rows; the session it ran in must still take plain statements (a custody
    event appended after a verification, as the orphan sweep does after one)."""
    _, client = own_app
    _evidence(client, tmp_path)
    with session_factory()() as session:
        assert verify_log(session, include_objects=True).ok
        append_event(session, actor="system:test", action="test.after_verification", reason="written after a check")
        session.commit()
        logged = session.scalar(select(CustodyEvent.seq).where(CustodyEvent.action == "test.after_verification"))
    assert logged is not None


def test_each_edited_column_is_named_by_the_cli_and_the_api(own_app: tuple[Engine, TestClient], tmp_path: Path) -> None:
    engine, client = own_app
    made = _evidence(client, tmp_path)
    original, clip = made["original"], made["clip"]
    investigator = made["investigator"]
    other_unit = make_unit()
    supervisor = account(client, Role.supervisor, unit_id=investigator.unit_id)
    edits: list[tuple[str, dict[str, Any], object, str]] = [
        (
            "UPDATE consents SET scope = 'on_request', valid_from = '2000-01-01' WHERE id = :id",
            {"id": made["consent_id"]},
            made["consent_id"],
            "consent",
        ),
        (
            "UPDATE extraction_requests SET window_start = window_start - interval '1 hour', purpose = 'khác' "
            "WHERE id = :id",
            {"id": made["request_id"]},
            made["request_id"],
            "request",
        ),
        (
            "UPDATE originals SET clock_offset_s = 3600, legal_hold = false, "
            "recording_start_recorder = recording_start_recorder + interval '1 minute' WHERE id = :id",
            {"id": original.id},
            original.id,
            "original",
        ),
        (
            "UPDATE clips SET requested_end = requested_end + interval '1 minute', "
            "retain_until = retain_until + interval '1 day' WHERE id = :id",
            {"id": clip.id},
            clip.id,
            "clip",
        ),
        (
            "UPDATE cases SET unit_id = :unit WHERE id = :id",
            {"id": made["case_id"], "unit": other_unit},
            made["case_id"],
            "case",
        ),
        ("UPDATE users SET role = 'admin' WHERE id = :id", {"id": investigator.id}, investigator.id, "user"),
        (
            "UPDATE users SET is_active = false, unit_id = :unit WHERE id = :id",
            {"id": supervisor.id, "unit": other_unit},
            supervisor.id,
            "user",
        ),
    ]
    for statement, params, _, _ in edits:
        tamper(engine, statement, **params)
    expected = [
        (made["consent_id"], "scope is on_request in the table but auto_approve in the log"),
        (made["consent_id"], "valid_from is 2000-01-01T00:00:00.000000Z in the table but 2025-01-01"),
        (made["request_id"], "window_start is"),
        (made["request_id"], "purpose is khác in the table but Xác định đối tượng in the log"),
        (original.id, "clock_offset_s is 3600 in the table but 0.0 in the log"),
        (original.id, "legal_hold is false in the table but true in the log"),
        (original.id, "recording_start_recorder is"),
        (original.id, "legal hold is on in S3 but off in the table"),
        (clip.id, "requested_end is"),
        (clip.id, "retain_until is"),
        (clip.id, "retention is"),
        (made["case_id"], f"unit_id is {other_unit} in the table but {investigator.unit_id} in the log"),
        (investigator.id, "role is admin in the table but investigator in the log"),
        (supervisor.id, "is_active is false in the table but true in the log"),
        (supervisor.id, f"unit_id is {other_unit} in the table"),
    ]
    code, cli_problems = _cli_problems()
    ok, api_problems = _api_problems(client)
    assert code == 1 and not ok
    for object_id, words in expected:
        assert _named(cli_problems, object_id, words), (object_id, words, cli_problems)
        assert _named(api_problems, object_id, words), (object_id, words, api_problems)
    # the noun names the row's kind, the id its row
    for _, _, object_id, noun in edits:
        assert any(p["what"].startswith(f"{noun} {str(object_id)[:8]}") for p in api_problems), noun


def test_rows_written_around_the_log_and_rows_removed_are_named(
    own_app: tuple[Engine, TestClient], tmp_path: Path
) -> None:
    engine, client = own_app
    owner = make_owner()
    logged = give_consent(owner)
    forged = uuid.uuid4()
    tamper(
        engine,
        "INSERT INTO consents (id, owner_id, scope, valid_from, terms_version, legal_basis, given_by, recorded_at) "
        "VALUES (:id, :owner, 'auto_approve', '2000-01-01', 'x', 'x', 'x', now())",
        id=forged,
        owner=owner,
    )
    tamper(engine, "DELETE FROM consents WHERE id = :id", id=logged)
    code, problems = _cli_problems()
    assert code == 1
    assert _named(problems, forged, "is in the table but not in the log")
    assert _named(problems, logged, "is in the log but not in the table")


def test_a_legal_hold_removed_in_s3_is_named(own_app: tuple[Engine, TestClient], tmp_path: Path) -> None:
    _, client = own_app
    made = _evidence(client, tmp_path)
    clip = made["clip"]
    get_storage().set_legal_hold(clip.object_key, clip.version_id, False)  # S3 allows it; the row still says held
    assert not get_storage().stat(clip.object_key, clip.version_id).legal_hold
    code, problems = _cli_problems()
    assert code == 1 and _named(problems, clip.id, "legal hold is off in S3 but on in the table")
    ok, problems = _api_problems(client)
    assert not ok and _named(problems, clip.id, "legal hold is off in S3 but on in the table")


def test_a_consent_widened_with_sql_approves_nothing(own_app: tuple[Engine, TestClient]) -> None:
    engine, client = own_app
    investigator = account(client, Role.investigator, unit_id=make_unit())
    start = datetime.now(UTC) - timedelta(hours=2)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"VV-{uuid.uuid4().hex[:8]}",
            "title": "Trộm xe máy",
            "offence": "theft",
            "incident_lat": 10.77,
            "incident_lon": 106.70,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=5)).isoformat(),
        },
    ).json()

    def file(camera: uuid.UUID) -> Any:
        return client.post(
            f"/api/v1/cases/{case['id']}/requests",
            headers=investigator.headers,
            json={
                "camera_id": str(camera),
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(minutes=5)).isoformat(),
                "purpose": "Xác định đối tượng",
                "legal_basis": "Điều 88 BLTTHS",
            },
        )

    # the same consent, untouched: filed and waiting for the owner
    honest_owner = make_owner()
    give_consent(honest_owner, scope="on_request")
    honest = file(make_camera(honest_owner))
    assert honest.status_code == 201 and honest.json()["status"] == "submitted"

    owner = make_owner()
    consent = give_consent(owner, scope="on_request", valid_from=datetime.now(UTC) + timedelta(days=30))
    camera = make_camera(owner)
    assert file(camera).status_code == 422  # not valid yet
    tamper(engine, "UPDATE consents SET scope = 'auto_approve', valid_from = '2000-01-01' WHERE id = :id", id=consent)
    refused = file(camera)
    assert refused.status_code == 422, refused.text
    assert "custody log" in refused.json()["errors"][0]["message"]
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM extraction_requests WHERE camera_id = :c"), {"c": camera})
        assert count.scalar() == 0
