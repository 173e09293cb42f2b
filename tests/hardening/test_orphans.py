"""The orphan sweep finds what a crash (or someone outside the service) leaves: objects without rows and rows
without objects, records each in custody, removes only unlocked leftovers past the grace period."""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from app.cli import cli
from app.core.db import session_factory
from app.core.storage import get_storage
from app.custody.models import CustodyEvent
from app.footage.cutting import make_clip
from app.footage.orphans import sweep_orphans
from tests.factories import Account
from tests.footage.test_footage import FORMATS, _upload, _video, approved  # noqa: F401  (approved: a fixture)


def test_the_sweep_reports_both_kinds_records_them_and_removes_only_unlocked_leftovers(
    client: TestClient,
    approved: tuple[Account, Account, str, datetime],  # noqa: F811
    tmp_path: Path,
) -> None:
    _, owner, request_id, t0 = approved
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=15)
    received = _upload(client, owner, request_id, video, t0.isoformat())
    assert received.status_code == 201
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    store = get_storage()
    # (a) a crashed upload: stored, never locked, never recorded
    crashed = store.put_stream(f"originals/{request_id}/{uuid.uuid4()}/crashed.mp4", io.BytesIO(b"x" * 1000))
    # (b) a clip stored and locked, the worker dead before recording it
    leftover = store.put_stream(f"clips/{request_id}/{uuid.uuid4()}-leftover.mp4", io.BytesIO(b"y" * 1000))
    store.lock(leftover.key, leftover.version_id, mode="GOVERNANCE", until=datetime.now(UTC) + timedelta(days=1))
    store.set_legal_hold(leftover.key, leftover.version_id, True)
    # (c) an evidence row whose version is gone from storage (written by someone outside the service)
    ghost_id = uuid.uuid4()
    with session_factory()() as session, session.begin():
        session.execute(
            text("CREATE TEMP TABLE ghost AS SELECT * FROM originals WHERE id = :id"), {"id": received.json()["id"]}
        )
        session.execute(
            text("UPDATE ghost SET id = :ghost, object_key = object_key || '.gone', version_id = 'no-such-version'"),
            {"ghost": ghost_id},
        )
        session.execute(text("INSERT INTO originals SELECT * FROM ghost"))
    time.sleep(1.1)  # S3 times have whole seconds: let the leftovers be older than a zero grace period

    with session_factory()() as session, session.begin():
        report = sweep_orphans(session, grace=timedelta(0))
    found = {(f["object_key"], f["version_id"]): f for f in report.objects_without_rows}
    assert found[(crashed.key, crashed.version_id)]["locked"] is False
    assert found[(leftover.key, leftover.version_id)]["locked"] is True
    assert [
        (f["object_key"], f["version_id"])
        for f in report.removed
        if f["object_key"].startswith((f"originals/{request_id}/", f"clips/{request_id}/"))
    ] == [(crashed.key, crashed.version_id)]
    assert store.versions(crashed.key) == []  # removed
    assert store.versions(leftover.key) == [leftover.version_id]  # locked: reported, kept
    ghosts = [f for f in report.rows_without_objects if f["id"] == ghost_id]
    assert ghosts == [
        {
            "object_type": "original",
            "id": ghost_id,
            "object_key": ghosts[0]["object_key"],
            "version_id": "no-such-version",
        }
    ]
    # the real original and its clip are no orphans
    legit = {(received.json()["id"], received.json()["version_id"]), (str(clip.id), clip.version_id)}
    assert not [f for f in report.rows_without_objects if (str(f["id"]), f["version_id"]) in legit]
    assert (clip.object_key, clip.version_id) not in found

    with session_factory()() as session:
        actions = {
            (e.action, e.version_id)
            for e in session.scalars(select(CustodyEvent).where(CustodyEvent.actor == "system:orphan-sweep"))
        }
    assert ("orphan.object_removed", crashed.version_id) in actions
    assert ("orphan.object_found", leftover.version_id) in actions
    assert ("orphan.row_found", "no-such-version") in actions

    # the command reports the same and exits 1 while anything is found
    result = CliRunner().invoke(cli, ["sweep-orphans", "--report-only", "--json"])
    assert result.exit_code == 1, result.output
    listed = json.loads(result.output[result.output.index("{") :])
    assert leftover.key in {f["object_key"] for f in listed["objects_without_rows"]}
    assert str(ghost_id) in {f["id"] for f in listed["rows_without_objects"]}
    assert listed["removed"] == []
