"""Resumable uploads (tus 1.0) through the API, against the real S3 server, PostgreSQL and ffmpeg: pieces,
offsets, a restart between requests, completion into an original, refusals, and the expiry sweep."""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from app.auth import links
from app.core import clock, media, storage
from app.core.db import dispose_engine, session_factory
from app.core.sha256state import ResumableSha256
from app.core.storage import get_storage
from app.custody.models import CustodyEvent
from app.footage import uploads
from app.footage.models import Original
from app.footage.upload_models import ResumableUpload, UploadedPart, UploadTailSlice
from app.footage.uploads import UPLOAD_PART_SIZE, sweep_expired
from tests.factories import Account
from tests.footage.test_footage import approved_request

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An H.264 MP4 of a little over two S3 parts, so pieces cross part boundaries."""
    path = tmp_path_factory.mktemp("tus") / "ch01_rec.mp4"
    media.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x480:rate=25:duration=32",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-b:v",
            "10M",
            "-maxrate",
            "10M",
            "-bufsize",
            "10M",
            "-movflags",
            "+faststart",
            "-y",
            str(path),
        ]  # fmt: skip
    )
    assert path.stat().st_size > 2 * UPLOAD_PART_SIZE
    return path


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(client: TestClient, size: int, headers: dict[str, str], **meta: str) -> httpx.Response:
    return client.post(
        "/api/v1/uploads",
        headers={**TUS, **headers, "Upload-Length": str(size), "Upload-Metadata": metadata(**meta)},
    )


def patch(client: TestClient, url: str, at: int, data: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.patch(
        url,
        content=data,
        headers={**TUS, **headers, "Upload-Offset": str(at), "Content-Type": "application/offset+octet-stream"},
    )


def head(client: TestClient, url: str, headers: dict[str, str]) -> httpx.Response:
    return client.head(url, headers={**TUS, **headers})


def recorder_meta(request_id: str, t0: datetime, path: Path, **more: str) -> dict[str, str]:
    return {"request_id": request_id, "filename": path.name, "recording_start": t0.isoformat(), **more}


def pending_parts(request_id: str) -> list[object]:
    return list(get_storage().pending_multipart(f"originals/{request_id}/"))


def upload_rows(request_id: str) -> int:
    with session_factory()() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(ResumableUpload)
                .where(ResumableUpload.request_id == uuid.UUID(request_id))
            )
            or 0
        )


def part_rows(upload_id: uuid.UUID) -> int:
    with session_factory()() as session:
        query = select(func.count()).select_from(UploadedPart).where(UploadedPart.upload_id == upload_id)
        return int(session.scalar(query) or 0)


def test_resumable_sha256_state_carries_over() -> None:
    data = bytes(range(256)) * 40_000 + b"tail"
    first = ResumableSha256()
    first.update(data[:777_777])
    carried = ResumableSha256.resume(first.state())
    carried.update(data[777_777:])
    assert carried.hexdigest() == hashlib.sha256(data).hexdigest()
    assert first.hexdigest() == hashlib.sha256(data[:777_777]).hexdigest()  # reading the digest changes nothing


def test_options_names_the_protocol(client: TestClient) -> None:
    answer = client.options("/api/v1/uploads")
    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert set(answer.headers["Tus-Extension"].split(",")) >= {"creation", "termination", "expiration"}
    assert int(answer.headers["Tus-Max-Size"]) > 0
    assert create(client, 10, {}, filename="x.mp4").status_code in (401, 422)
    no_version = client.post("/api/v1/uploads", headers={"Upload-Length": "10"})
    assert no_version.status_code == 412


def _first_requests(client: TestClient, owner: Account, request_id: str, t0: datetime, recording: Path) -> str:
    data = recording.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    created = create(client, len(data), owner.headers, **recorder_meta(request_id, t0, recording, sha256=digest))
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    assert created.headers["Upload-Expires"]
    assert head(client, url, owner.headers).headers["Upload-Offset"] == "0"

    # A piece that fills one part and leaves a tail; then a small piece that stays in the tail.
    first = UPLOAD_PART_SIZE + 123_457
    answer = patch(client, url, 0, data[:first], owner.headers)
    assert answer.status_code == 204, answer.text
    assert answer.headers["Upload-Offset"] == str(first)
    assert patch(client, url, 0, data[:10], owner.headers).status_code == 409  # not where the upload is
    second = first + 1000
    assert patch(client, url, first, data[first:second], owner.headers).status_code == 204

    return url


def test_pieces_resume_after_a_restart_and_complete_into_an_original(configured: str, recording: Path) -> None:
    from app.main import create_app

    with TestClient(create_app()) as client:
        _, owner, request_id, t0 = approved_request(client)
        url = _first_requests(client, owner, request_id, t0, recording)
    data = recording.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    second = UPLOAD_PART_SIZE + 123_457 + 1000  # where the first requests left it

    # The service restarts: new engine, new S3 clients, new app; the upload goes on from the database.
    dispose_engine()
    storage.reset_storage()
    with TestClient(create_app()) as restarted:
        offset = int(head(restarted, url, owner.headers).headers["Upload-Offset"])
        assert offset == second
        middle = offset + UPLOAD_PART_SIZE + 5
        assert patch(restarted, url, offset, data[offset:middle], owner.headers).status_code == 204
        done = patch(restarted, url, middle, data[middle:], owner.headers)
        assert done.status_code == 204, done.text
        assert done.headers["Upload-Offset"] == str(len(data))
        assert done.headers["Upload-Original-SHA256"] == digest
        original = restarted.get(f"/api/v1/originals/{done.headers['Upload-Original-Id']}", headers=owner.headers)
        assert original.status_code == 200, original.text
        assert original.json()["sha256"] == digest and original.json()["size"] == len(data)
        # A repeated final request finds the upload complete instead of starting it again.
        assert head(restarted, url, owner.headers).headers["Upload-Offset"] == str(len(data))

    with session_factory()() as session:
        stored = session.scalars(select(Original).where(Original.request_id == uuid.UUID(request_id))).one()
    body = b"".join(get_storage().iter_version(stored.object_key, stored.version_id))
    assert hashlib.sha256(body).hexdigest() == digest
    assert get_storage().stat(stored.object_key, stored.version_id).legal_hold
    assert pending_parts(request_id) == []
    with session_factory()() as session:
        actions = set(session.scalars(select(CustodyEvent.action).where(CustodyEvent.object_id == stored.id)))
    assert {"original.received", "original.hash_verified", "original.probed", "original.locked"} <= actions


class _SavedBody:
    """A PATCH body whose bytes all arrive (the part of a PATCH that saves them, before it completes)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.ended, self.overflowed = data, False, False

    def read(self, wanted: int) -> list[bytes]:
        piece, self.data = self.data[:wanted], self.data[wanted:]
        self.ended = not self.data
        return [piece] if piece else []


def test_an_upload_whose_completion_did_not_finish_is_completed_before_it_is_reported_whole(
    client: TestClient, recording: Path
) -> None:
    """Every byte saved but the completion cut off (its PATCH failed, or is still running): a HEAD must not
    answer the full length while no original exists, since a tus client then takes the upload as done."""
    _, owner, request_id, t0 = approved_request(client)
    data = recording.read_bytes()
    created = create(client, len(data), owner.headers, **recorder_meta(request_id, t0, recording))
    url = created.headers["Location"]
    upload_id = uuid.UUID(url.rsplit("/", 1)[1])
    with session_factory()() as session:
        upload = session.get(ResumableUpload, upload_id)
        assert upload is not None
        session.expunge(upload)
    uploads._stream(upload, len(data), cast(Any, _SavedBody(data)))[1].close()
    with session_factory()() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Original).where(Original.request_id == uuid.UUID(request_id))
            )
            == 0
        )

    answer = head(client, url, owner.headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Upload-Offset"] == str(len(data))
    assert answer.headers["Upload-Original-SHA256"] == hashlib.sha256(data).hexdigest()
    with session_factory()() as session:
        stored = session.scalars(select(Original).where(Original.request_id == uuid.UUID(request_id))).one()
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert pending_parts(request_id) == []
    # asked again, the upload is complete and its original is not made twice
    assert head(client, url, owner.headers).headers["Upload-Offset"] == str(len(data))
    with session_factory()() as session:
        count = select(func.count()).select_from(Original).where(Original.request_id == uuid.UUID(request_id))
        assert session.scalar(count) == 1


def test_owner_link_uploads_with_the_token_in_metadata(client: TestClient, recording: Path) -> None:
    _, _, request_id, t0 = approved_request(client)
    with session_factory()() as session, session.begin():
        _, token = links.issue(session, uuid.UUID(request_id), None)
    data = recording.read_bytes()
    meta = recorder_meta(request_id, t0, recording)
    del meta["request_id"]
    created = create(client, len(data), {}, token=token, **meta)
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    half = len(data) // 2
    assert patch(client, url, 0, data[:half], {}).status_code == 204
    done = patch(client, url, half, data[half:], {})
    assert done.status_code == 204, done.text
    assert done.headers["Upload-Original-SHA256"] == hashlib.sha256(data).hexdigest()
    assert create(client, len(data), {}, token="x" * 43, **meta).status_code == 404  # an unknown link


def tail_rows(upload_id: uuid.UUID) -> int:
    with session_factory()() as session:
        query = select(func.count()).select_from(UploadTailSlice).where(UploadTailSlice.upload_id == upload_id)
        return int(session.scalar(query) or 0)


def tail_versions(upload_id: uuid.UUID) -> list[tuple[int, str]]:
    """The tail rows with their row versions (`xmin` changes whenever a row is written again)."""
    with session_factory()() as session:
        rows = session.execute(
            text("SELECT seq, xmin::text FROM resumable_upload_tail WHERE upload_id = :id ORDER BY seq"),
            {"id": upload_id},
        )
        return [(seq, version) for seq, version in rows]


def test_a_head_after_a_drop_answers_once_the_dropped_request_has_settled(
    client: TestClient, recording: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client resuming after a drop asks for the offset while the dropped request still records what it
    received: the answer waits for it, so it is the settled offset and the next PATCH fits. A request that keeps
    the upload longer than the wait (a live one) does not hold the answer: its offset so far comes back."""
    _, owner, request_id, t0 = approved_request(client)
    data = recording.read_bytes()
    url = create(client, len(data), owner.headers, **recorder_meta(request_id, t0, recording)).headers["Location"]
    upload_id = uuid.UUID(url.rsplit("/", 1)[1])
    first = UPLOAD_PART_SIZE + 100
    assert patch(client, url, 0, data[:first], owner.headers).status_code == 204
    settled = first + 5000
    hasher = ResumableSha256()
    hasher.update(data[:settled])
    holding, release = threading.Event(), threading.Event()

    def dropped_request_settling(hold_s: float) -> None:
        with uploads._appending(upload_id):
            holding.set()
            release.wait(hold_s)
            # what the dropped request received after its last part: recorded as its tail, then the lock goes
            uploads._save(upload_id, settled, hasher.state(), [data[UPLOAD_PART_SIZE:settled]], None)

    settling = threading.Thread(target=dropped_request_settling, args=(0.5,))
    settling.start()
    assert holding.wait(10)
    answer = head(client, url, owner.headers)
    settling.join()
    assert answer.status_code == 200 and answer.headers["Upload-Offset"] == str(settled)

    monkeypatch.setattr(uploads, "SETTLE_WAIT_MS", 200)
    holding.clear()
    live = threading.Thread(target=dropped_request_settling, args=(30,))
    live.start()
    try:
        assert holding.wait(10)
        answer = head(client, url, owner.headers)
        assert answer.status_code == 200 and answer.headers["Upload-Offset"] == str(settled)  # not held
        busy = patch(client, url, settled, data[settled : settled + 10], owner.headers)
        assert busy.status_code == 423, busy.text
    finally:
        release.set()
        live.join()
    done = patch(client, url, settled, data[settled:], owner.headers)
    assert done.status_code == 204, done.text
    assert done.headers["Upload-Original-SHA256"] == hashlib.sha256(data).hexdigest()


def test_requests_of_the_part_size_keep_no_tail_between_them(client: TestClient, recording: Path) -> None:
    """The owner pages' client sends requests of `part_size()`: each ends on a part boundary, so each is
    acknowledged whole by S3 and nothing of it waits in the database for the next request."""
    _, owner, request_id, t0 = approved_request(client)
    data = recording.read_bytes()
    size = uploads.part_size()
    url = create(client, len(data), owner.headers, **recorder_meta(request_id, t0, recording)).headers["Location"]
    upload_id = uuid.UUID(url.rsplit("/", 1)[1])
    for number in (1, 2):
        at = (number - 1) * size
        assert patch(client, url, at, data[at : at + size], owner.headers).status_code == 204
        assert (part_rows(upload_id), tail_rows(upload_id)) == (number, 0)
    assert patch(client, url, 2 * size, data[2 * size : 2 * size + 10], owner.headers).status_code == 204
    assert (part_rows(upload_id), tail_rows(upload_id)) == (2, 1)  # a request off the boundary leaves a tail
    # A request that brings nothing (a client checking in) leaves the tail rows as they are: no rewrite.
    before = tail_versions(upload_id)
    empty = patch(client, url, 2 * size + 10, b"", owner.headers)
    assert empty.status_code == 204 and empty.headers["Upload-Offset"] == str(2 * size + 10)
    assert tail_versions(upload_id) == before
    done = patch(client, url, 2 * size + 10, data[2 * size + 10 :], owner.headers)
    assert done.headers["Upload-Original-SHA256"] == hashlib.sha256(data).hexdigest()


def test_who_may_upload_is_checked_at_creation_and_at_completion(client: TestClient, recording: Path) -> None:
    investigator, owner, request_id, t0 = approved_request(client)
    _, other_owner, _, _ = approved_request(client)
    meta = recorder_meta(request_id, t0, recording)
    assert create(client, 100, {}, **meta).status_code == 401
    assert create(client, 100, investigator.headers, **meta).status_code == 403
    assert create(client, 100, other_owner.headers, **meta).status_code == 404
    assert create(client, 100, owner.headers, **{**meta, "filename": ""}).status_code == 422
    assert create(client, 100, owner.headers, **{**meta, "sha256": "nothex"}).status_code == 422
    assert create(client, 10**15, owner.headers, **meta).status_code == 413

    data = recording.read_bytes()
    url = create(client, len(data), owner.headers, **meta).headers["Location"]
    assert head(client, url, other_owner.headers).status_code == 404
    assert head(client, url, {}).status_code == 404
    assert patch(client, url, 0, data[:100], other_owner.headers).status_code == 404
    assert patch(client, url, 0, data[: UPLOAD_PART_SIZE + 1], owner.headers).status_code == 204

    # The request stops accepting footage before the last bytes arrive: the completion is refused and the
    # upload is discarded with its parts.
    cancelled = client.post(
        f"/api/v1/requests/{request_id}/cancel", headers=investigator.headers, json={"reason": "camera withdrawn"}
    )
    assert cancelled.status_code == 200, cancelled.text
    refused = patch(client, url, UPLOAD_PART_SIZE + 1, data[UPLOAD_PART_SIZE + 1 :], owner.headers)
    assert refused.status_code == 409, refused.text
    assert upload_rows(request_id) == 0
    assert pending_parts(request_id) == []
    assert create(client, len(data), owner.headers, **meta).status_code == 409


def test_a_wrong_client_hash_keeps_nothing(client: TestClient, recording: Path) -> None:
    _, owner, request_id, t0 = approved_request(client)
    data = recording.read_bytes()
    url = create(client, len(data), owner.headers, **recorder_meta(request_id, t0, recording, sha256="0" * 64)).headers[
        "Location"
    ]
    refused = patch(client, url, 0, data, owner.headers)
    assert refused.status_code == 422, refused.text
    with session_factory()() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Original).where(Original.request_id == uuid.UUID(request_id))
            )
            == 0
        )
    assert list(get_storage().list_versions(f"originals/{request_id}/")) == []
    assert upload_rows(request_id) == 0


@pytest.fixture()
def later() -> Iterator[None]:
    yield
    clock.set_clock(None)


def test_an_unfinished_upload_is_swept_after_its_expiry(client: TestClient, recording: Path, later: None) -> None:
    _, owner, request_id, t0 = approved_request(client)
    data = recording.read_bytes()
    url = create(client, len(data), owner.headers, **recorder_meta(request_id, t0, recording)).headers["Location"]
    assert patch(client, url, 0, data[: UPLOAD_PART_SIZE + 10], owner.headers).status_code == 204
    upload_id = uuid.UUID(url.rsplit("/", 1)[1])
    with session_factory()() as session:
        assert (
            session.scalar(select(func.count()).select_from(UploadedPart).where(UploadedPart.upload_id == upload_id))
            == 1
        )
    assert len(pending_parts(request_id)) == 1

    sweep_expired()  # not yet expired: kept
    assert upload_rows(request_id) == 1
    clock.set_clock(clock.FrozenClock(datetime.now(UTC) + timedelta(hours=25)))
    report = sweep_expired()
    assert report.expired >= 1
    assert upload_rows(request_id) == 0
    assert pending_parts(request_id) == []
    with session_factory()() as session:
        assert (
            session.scalar(select(func.count()).select_from(UploadedPart).where(UploadedPart.upload_id == upload_id))
            == 0
        )


def test_termination_aborts_the_parts(client: TestClient, recording: Path) -> None:
    _, owner, request_id, t0 = approved_request(client)
    data = recording.read_bytes()
    url = create(client, len(data), owner.headers, **recorder_meta(request_id, t0, recording)).headers["Location"]
    assert patch(client, url, 0, data[: UPLOAD_PART_SIZE + 10], owner.headers).status_code == 204
    assert client.delete(url, headers={**TUS, **owner.headers}).status_code == 204
    assert upload_rows(request_id) == 0
    assert pending_parts(request_id) == []
    assert head(client, url, owner.headers).status_code == 404


def test_files_of_an_export_in_several_go_by_tus_too(client: TestClient, tmp_path: Path) -> None:
    """`export_part` in the metadata: each finished upload is one file of the export (as POST .../originals), the
    request waits for `complete`, which orders them; a file after `complete` is refused naming the state."""
    investigator, owner, request_id, t0 = approved_request(client)
    window_start = datetime.fromisoformat(
        client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()["window_start"]
    )
    starts = (window_start - timedelta(seconds=4), window_start + timedelta(seconds=4))
    ids = []
    for n, start in enumerate(starts):
        path = tmp_path / f"part{n}.mp4"
        media.run_ffmpeg(
            ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=8", "-an", "-c:v", "libx264", "-g", "50"]
            + ["-y", str(path)]
        )
        data = path.read_bytes()
        meta = {"request_id": request_id, "filename": path.name, "recording_start": start.isoformat()}
        created = create(client, len(data), owner.headers, export_part="true", **meta)
        assert created.status_code == 201, created.text
        done = patch(client, created.headers["Location"], 0, data, owner.headers)
        assert done.status_code == 204, done.text
        ids.append(done.headers["Upload-Original-Id"])
        # still collecting: no file completes the export by itself
        status = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()["status"]
        assert status == "approved"
    complete = client.post(f"/api/v1/requests/{request_id}/originals/complete", headers=owner.headers)
    assert complete.status_code == 200, complete.text
    assert [f["original_id"] for f in complete.json()["export"]["files"]] == ids
    assert complete.json()["status"] == "footage_received"
    late = create(client, 1000, owner.headers, export_part="true", **meta)
    assert late.status_code == 409 and late.json()["current_status"] == "footage_received"
    wrong = create(client, 1000, owner.headers, export_part="maybe", **meta)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "Upload-Metadata"
