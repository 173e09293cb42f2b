"""S3 goes away in the middle of an upload: the client is told to retry (503), nothing is kept as evidence, and
once the same server is back the retried upload succeeds — without restarting the service."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core import embedded, media, storage
from app.core.config import get_settings, override_settings
from app.core.db import dispose_engine, session_factory
from app.custody.models import CustodyEvent
from app.footage.models import Original
from app.footage.upload_models import UploadedPart, UploadTailSlice
from tests.footage.test_footage import approved_request
from tests.hardening.live import live_service
from tests.services import fresh_database

MIB = 1024 * 1024


@pytest.fixture()
def isolated(pg_server_url: str, configured: str, tmp_path: Path) -> Iterator[list[embedded.EmbeddedS3]]:
    """A database and a SeaweedFS of this test's own (it stops and starts the S3 server, and its custody events
    name objects only that server holds); the session's are restored after."""
    previous = get_settings()
    servers = [embedded.start_seaweedfs(tmp_path / "s3")]
    with fresh_database(pg_server_url) as database_url:
        override_settings(
            database_url=database_url,
            s3_endpoint=servers[0].endpoint,
            s3_access_key=servers[0].access_key,
            s3_secret_key=servers[0].secret_key,
            s3_secure=False,
        )
        dispose_engine()
        storage.reset_storage()
        storage.get_storage().ensure_bucket(create=True)
        try:
            yield servers
        finally:
            for server in servers:
                server.stop()
            override_settings(
                database_url=previous.database_url,
                s3_endpoint=previous.s3_endpoint,
                s3_access_key=previous.s3_access_key,
                s3_secret_key=previous.s3_secret_key,
                s3_secure=previous.s3_secure,
            )
            dispose_engine()
            storage.reset_storage()


def _big_video(directory: Path) -> bytes:
    """A lossless 720p recording of a few seconds: tens of MiB, so the upload runs over several parts."""
    path = directory / "big.mp4"
    media.run_ffmpeg(
        [
            *("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=13"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-g", "50", "-y", str(path)),
        ]
    )
    return path.read_bytes()


def _evidence_of(request_id: str) -> tuple[int, int]:
    """(original rows, custody events about originals) of the request."""
    with session_factory()() as session:
        originals = session.scalar(
            select(func.count()).select_from(Original).where(Original.request_id == uuid.UUID(request_id))
        )
        events = session.scalar(
            select(func.count())
            .select_from(CustodyEvent)
            .where(CustodyEvent.object_type == "original", CustodyEvent.details["request_id"].astext == request_id)
        )
    return int(originals or 0), int(events or 0)


def test_s3_stopped_mid_upload_gives_503_keeps_nothing_and_the_retry_succeeds(
    isolated: list[embedded.EmbeddedS3], tmp_path: Path
) -> None:
    from app.main import create_app

    with TestClient(create_app()) as client:
        _upload_through_an_s3_outage(client, isolated, tmp_path)


def _upload_through_an_s3_outage(client: TestClient, own_s3: list[embedded.EmbeddedS3], tmp_path: Path) -> None:
    _, owner, request_id, t0 = approved_request(client)
    data = _big_video(tmp_path)
    assert len(data) > 4 * 5 * MIB, "the recording must span several multipart parts"
    server = own_s3[0]
    sent = {"bytes": 0}

    def body_that_outlives_s3() -> Iterator[bytes]:
        for start in range(0, len(data), MIB):
            if start == 12 * MIB:  # two parts are already on the server
                server.stop()
            sent["bytes"] = start + MIB
            yield data[start : start + MIB]

    headers = {
        **owner.headers,
        "X-Filename": "big.mp4",
        "X-Recording-Start": t0.isoformat(),
        "Content-Length": str(len(data)),
    }
    url = f"/api/v1/requests/{request_id}/original"
    response = client.put(url, content=body_that_outlives_s3(), headers=headers)
    assert not server.alive()
    assert response.status_code == 503, response.text
    problem = response.json()
    assert problem["status"] == 503 and "storage" in problem["detail"]
    assert response.headers["Retry-After"].isdigit()
    assert "127.0.0.1" not in problem["detail"] and "http" not in problem["detail"]  # no internal address
    assert _evidence_of(request_id) == (0, 0)

    # The same server comes back where it was; the service is not restarted or reconfigured.
    own_s3.append(embedded.start_seaweedfs(server.data_dir, ports=server.ports))
    retried = client.put(url, content=data, headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.json()["size"] == len(data)
    originals, events = _evidence_of(request_id)
    assert originals == 1 and events >= 1
    store = storage.get_storage()
    versions = [
        o
        for o in store.client.list_objects(
            store.bucket, prefix=f"originals/{request_id}/", recursive=True, include_version=True
        )
        if not o.is_delete_marker
    ]
    assert [(o.object_name, o.version_id) for o in versions] == [
        (f"originals/{request_id}/{retried.json()['id']}/big.mp4", retried.json()["version_id"])
    ]


def test_s3_stopped_during_a_resumable_upload_keeps_the_parts_acknowledged_in_order(
    isolated: list[embedded.EmbeddedS3], tmp_path: Path
) -> None:
    """Parts are sent while the next is read: when S3 goes in the middle of a PATCH, the upload's offset is
    exactly the parts recorded (numbered 1..n without a hole, none recorded after a refused one) and the tail
    kept after them, and the
    client resumes from it once S3 is back; the original is the whole file. Over real HTTP, so the body
    really streams while parts are sent."""
    from app.main import create_app
    from tests.footage.test_tus import TUS, create, patch

    with TestClient(create_app()) as client:
        _, owner, request_id, t0 = approved_request(client)
        data = _big_video(tmp_path)
        created = create(
            client, len(data), owner.headers, request_id=request_id, filename="big.mp4", recording_start=t0.isoformat()
        )
        assert created.status_code == 201, created.text
    url = created.headers["Location"]
    upload_id = uuid.UUID(url.rstrip("/").rsplit("/", 1)[-1])
    server = isolated[0]

    def recorded_parts() -> list[tuple[int, int]]:
        with session_factory()() as session:
            rows = session.execute(
                select(UploadedPart.number, UploadedPart.size)
                .where(UploadedPart.upload_id == upload_id)
                .order_by(UploadedPart.number)
            )
            return [(number, size) for number, size in rows]

    class Dropped(Exception):
        pass

    def body_that_outlives_s3() -> Iterator[bytes]:
        for start in range(0, len(data), MIB):
            if start == 17 * MIB:  # two parts received: once one is recorded, S3 goes and so does the connection
                for _ in range(300):
                    if recorded_parts():
                        break
                    time.sleep(0.1)
                server.stop()
                raise Dropped
            yield data[start : start + MIB]

    with live_service() as base, httpx.Client(base_url=base, timeout=120) as http:
        headers = {**TUS, **owner.headers, "Content-Type": "application/offset+octet-stream"}
        with pytest.raises(Dropped):
            http.patch(
                url,
                content=body_that_outlives_s3(),
                headers={**headers, "Upload-Offset": "0", "Content-Length": str(len(data))},
            )
        # The dropped request settles what was acknowledged before the next one may go on (423 until then).
        for _ in range(600):
            offset = int(http.head(url, headers=headers).headers["Upload-Offset"])
            probe = http.patch(url, content=b"", headers={**headers, "Upload-Offset": str(offset)})
            if probe.status_code == 204:
                break
            time.sleep(0.1)
        assert probe.status_code == 204, probe.text
    parts = recorded_parts()
    assert parts and [number for number, _ in parts] == list(range(1, len(parts) + 1))
    with session_factory()() as session:
        kept = session.scalar(
            select(func.coalesce(func.sum(func.octet_length(UploadTailSlice.data)), 0)).where(
                UploadTailSlice.upload_id == upload_id
            )
        )
    assert offset == sum(size for _, size in parts) + int(kept or 0) <= 17 * MIB  # the parts, then the tail kept

    isolated.append(embedded.start_seaweedfs(server.data_dir, ports=server.ports))
    with TestClient(create_app()) as client:
        done = patch(client, url, offset, data[offset:], owner.headers)
    assert done.status_code == 204, done.text
    assert done.headers["Upload-Original-SHA256"] == hashlib.sha256(data).hexdigest()
