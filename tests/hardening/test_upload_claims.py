"""A refused or failed upload leaves no locked object: the whole export claims its request before its body is
read (a second upload at the same time is a 409 before it streams), the object is written unlocked and locked
only once its row has committed, and the finish-locks sweep locks a recorded object a crash left unlocked."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from app.core.config import get_settings
from app.core.db import dispose_engine, session_factory, write_session
from app.core.storage import get_storage
from app.custody.models import CustodyEvent
from app.footage.claims import FINISH_LOCKS_ACTOR, finish_locks
from app.footage.models import Original
from app.footage.orphans import sweep_orphans
from app.footage.upload_models import UploadClaim
from tests.factories import Account
from tests.footage.test_footage import FORMATS, _video, approved  # noqa: F401  (approved: a fixture)
from tests.hardening.live import live_service
from tests.services import admin_dsn

CHUNK = 64 * 1024


def _objects(request_id: str) -> list[tuple[str, str]]:
    return [(v.key, v.version_id) for v in get_storage().list_versions(f"originals/{request_id}/")]


def _locked(key: str, version_id: str) -> bool:
    stat = get_storage().stat(key, version_id)
    return stat.legal_hold or stat.retention_mode is not None


def _rows(request_id: str) -> list[Original]:
    with session_factory()() as session:
        return list(session.scalars(select(Original).where(Original.request_id == uuid.UUID(request_id))))


def _headers(owner: Account, name: str, t0: datetime) -> dict[str, str]:
    return {**owner.headers, "X-Filename": name, "X-Recording-Start": t0.isoformat()}


def _wait_for_claim(request_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with session_factory()() as session:
            if session.get(UploadClaim, uuid.UUID(request_id)) is not None:
                return
        time.sleep(0.05)
    raise AssertionError("the first upload never claimed its request")


def test_the_second_of_two_parallel_uploads_is_refused_before_it_streams(
    client: TestClient,
    approved: tuple[Account, Account, str, datetime],  # noqa: F811
    tmp_path: Path,
) -> None:
    _, owner, request_id, t0 = approved
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=8).read_bytes()
    first_half_sent, second_answered = threading.Event(), threading.Event()
    answers: dict[str, httpx.Response] = {}

    def slow_body() -> Iterator[bytes]:
        for start in range(0, len(video), CHUNK):
            if start >= len(video) // 2:
                first_half_sent.set()
                second_answered.wait(60)  # the rest only once the other upload has its answer
            yield video[start : start + CHUNK]

    def first(base: str) -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            answers["first"] = http.put(
                f"/api/v1/requests/{request_id}/original",
                content=slow_body(),
                headers={**_headers(owner, "first.mp4", t0), "Content-Length": str(len(video))},
            )

    with live_service() as base:
        uploading = threading.Thread(target=first, args=(base,))
        uploading.start()
        assert first_half_sent.wait(60)
        _wait_for_claim(request_id)  # the first upload holds the request and is streaming
        started = time.monotonic()
        with httpx.Client(base_url=base, timeout=120) as http:
            second = http.put(
                f"/api/v1/requests/{request_id}/original", content=video, headers=_headers(owner, "second.mp4", t0)
            )
        waited = time.monotonic() - started
        second_answered.set()
        uploading.join(120)

    # refused at once, while the first was still streaming, and nothing of its body was stored
    assert second.status_code == 409, second.text
    assert "in progress" in second.json()["detail"] and waited < 10
    assert answers["first"].status_code == 201, answers["first"].text
    rows = _rows(request_id)
    assert [(r.object_key, r.version_id) for r in rows] == _objects(request_id)  # no object without a row
    assert len(rows) == 1 and rows[0].filename == "first.mp4"
    # locked after the commit, and noted so
    stat = get_storage().stat(rows[0].object_key, rows[0].version_id)
    assert stat.legal_hold and stat.retention_mode == rows[0].retention_mode and rows[0].lock_applied_at is not None
    with session_factory()() as session:
        assert session.get(UploadClaim, uuid.UUID(request_id)) is None  # the claim went with the record
        actions = list(
            session.scalars(
                select(CustodyEvent.action).where(CustodyEvent.object_id == rows[0].id).order_by(CustodyEvent.seq)
            )
        )
    assert actions[-2:] == ["original.locked", "original.lock_applied"]


def _connections(database: str, allow: bool) -> None:
    """Let the test database take connections again, or refuse new ones and end those it has."""
    with psycopg.connect(admin_dsn(get_settings().database_url or ""), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allow).lower()}')
        if not allow:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )


def test_postgresql_gone_mid_upload_leaves_no_locked_object(
    client: TestClient,
    approved: tuple[Account, Account, str, datetime],  # noqa: F811
    tmp_path: Path,
) -> None:
    _, owner, request_id, t0 = approved
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=8).read_bytes()
    database = str(make_url(get_settings().database_url or "").database)

    def body() -> Iterator[bytes]:
        for start in range(0, len(video), CHUNK):
            if start == CHUNK:  # the claim is committed and the bytes stream: the database goes away
                _connections(database, allow=False)
            yield video[start : start + CHUNK]

    try:
        answer = client.put(
            f"/api/v1/requests/{request_id}/original",
            content=body(),
            headers={**_headers(owner, "rec.mp4", t0), "Content-Length": str(len(video))},
        )
    finally:
        _connections(database, allow=True)
        dispose_engine()
    assert answer.status_code == 503, answer.text
    assert _rows(request_id) == []
    left = _objects(request_id)
    assert not [v for v in left if _locked(*v)]  # whatever is left can be removed
    time.sleep(1.1)  # S3 times have whole seconds: the leftover is older than a zero grace period
    with write_session() as session:
        sweep_orphans(session, grace=timedelta(0))
    assert _objects(request_id) == []

    # the failed upload could not drop its claim (the database was gone): the next upload waits until it is stale
    again = client.put(f"/api/v1/requests/{request_id}/original", content=video, headers=_headers(owner, "rec.mp4", t0))
    assert again.status_code == 409, again.text
    with write_session() as session:
        session.execute(text("UPDATE upload_claims SET claimed_at = claimed_at - interval '1 day'"))
    again = client.put(f"/api/v1/requests/{request_id}/original", content=video, headers=_headers(owner, "rec.mp4", t0))
    assert again.status_code == 201, again.text
    assert [(r.object_key, r.version_id) for r in _rows(request_id)] == _objects(request_id)


def test_the_sweep_locks_a_recorded_object_a_crash_left_unlocked(
    client: TestClient,
    approved: tuple[Account, Account, str, datetime],  # noqa: F811
    tmp_path: Path,
) -> None:
    _, owner, request_id, t0 = approved
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=8)
    received = client.put(
        f"/api/v1/requests/{request_id}/original", content=video.read_bytes(), headers=_headers(owner, "rec.mp4", t0)
    )
    assert received.status_code == 201, received.text
    # a row committed by an upload that died before it locked: its object is there, unlocked
    stored = get_storage().put_stream(f"originals/{request_id}/{uuid.uuid4()}/crashed.mp4", io.BytesIO(b"z" * 4096))
    crashed = uuid.uuid4()
    with write_session() as session:
        session.execute(
            text("CREATE TEMP TABLE crashed AS SELECT * FROM originals WHERE id = :id"), {"id": received.json()["id"]}
        )
        session.execute(
            text(
                "UPDATE crashed SET id = :id, object_key = :key, version_id = :version, lock_applied_at = NULL, "
                "received_at = now() - interval '5 minutes'"
            ),
            {"id": crashed, "key": stored.key, "version": stored.version_id},
        )
        session.execute(text("INSERT INTO originals SELECT * FROM crashed"))
    assert not _locked(stored.key, stored.version_id)

    report = finish_locks(write_session)
    assert crashed in report.locked and report.failed == []
    row = next(r for r in _rows(request_id) if r.id == crashed)
    stat = get_storage().stat(stored.key, stored.version_id)
    assert stat.legal_hold and stat.retention_mode == row.retention_mode
    assert stat.retain_until is not None and abs(stat.retain_until - row.retain_until) < timedelta(seconds=1)
    assert row.lock_applied_at is not None and row.lock_applied_at > datetime.now(UTC) - timedelta(minutes=1)
    with session_factory()() as session:
        events = list(session.scalars(select(CustodyEvent).where(CustodyEvent.object_id == crashed)))
    assert [(e.action, e.actor) for e in events] == [("original.lock_applied", FINISH_LOCKS_ACTOR)]
    assert crashed not in finish_locks(write_session).locked  # once
