"""Redacted copies: faces found by the bundled detector in a video with a real face (scikit-image's astronaut
composited by ffmpeg over a moving test pattern), a box drawn by hand and moved linearly between its keyframes,
the copy rendered by ffmpeg; inside the boxes the picture loses its detail, outside it keeps it (up to the
re-encoding's noise); the derivative's record is complete and the clip and original are untouched. Real
PostgreSQL, S3 and ffmpeg."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from skimage import data as samples
from sqlalchemy import select, text

from app.auth.models import Role
from app.core import clock, media
from app.core.config import get_settings
from app.core.db import session_factory
from app.core.storage import get_storage
from app.custody.models import CustodyEvent
from app.footage import redaction
from app.footage.cutting import make_clip
from app.footage.models import Clip, Original
from tests.factories import PASSWORD, Account, account, web_login
from tests.footage.test_footage import _upload, approved_request

FACE_SIZE = 300  # the astronaut photo's side in the video
SPEED = 30  # pixels per second it moves right
MANUAL = [{"t": 1.0, "x": 20, "y": 300, "w": 60, "h": 56}, {"t": 3.0, "x": 220, "y": 300, "w": 60, "h": 56}]


def _face_video(directory: Path) -> Path:
    photo = directory / "astronaut.png"
    Image.fromarray(samples.astronaut()).save(photo)
    path = directory / "rec.mp4"
    media.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25:duration=15",
            "-loop",
            "1",
            "-i",
            str(photo),
            "-filter_complex",
            f"[1:v]scale={FACE_SIZE}:{FACE_SIZE}[face];[0:v][face]overlay=x='40+{SPEED}*t':y=0:shortest=1",
            "-c:v",
            "libx264",
            "-g",
            "50",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(path),
        ]
    )
    return path


def _face_in_photo() -> tuple[int, int, int, int]:
    """Where the detector finds the face in the photo at the video's scale (x, y, w, h)."""
    gray = cv2.cvtColor(cv2.resize(samples.astronaut(), (FACE_SIZE, FACE_SIZE)), cv2.COLOR_RGB2GRAY)
    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + redaction.CASCADE)  # type: ignore[attr-defined]
    found = classifier.detectMultiScale(gray, scaleFactor=1.2, minNeighbors=5, minSize=(40, 40))
    assert len(found) >= 1
    x, y, w, h = (int(v) for v in max(found, key=lambda f: f[2] * f[3]))
    return x, y, w, h


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float64) for f in container.decode(video=0)]


def _events(object_id: uuid.UUID | str, action: str) -> list[CustodyEvent]:
    with session_factory()() as session:
        return list(
            session.scalars(
                select(CustodyEvent).where(
                    CustodyEvent.object_id == uuid.UUID(str(object_id)), CustodyEvent.action == action
                )
            )
        )


def _stored_sha(key: str, version: str) -> str:
    digest = hashlib.sha256()
    for chunk in get_storage().iter_version(key, version):
        digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture()
def face_clip(client: TestClient, tmp_path: Path) -> tuple[Account, Account, Clip, Original]:
    investigator, owner, request_id, t0 = approved_request(client)
    recorder_clock = t0.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None)
    sent = _upload(client, owner, request_id, _face_video(tmp_path), recorder_clock.isoformat())
    assert sent.status_code == 201, sent.text
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    with session_factory()() as session:
        original = session.get(Original, clip.original_id)
        assert original is not None
        session.expunge(original)
    return investigator, owner, clip, original


def test_faces_detected_manual_box_interpolated_and_the_copy_blurs_only_the_boxes(
    client: TestClient, face_clip: tuple[Account, Account, Clip, Original], tmp_path: Path
) -> None:
    investigator, owner, clip, original = face_clip
    # the owner handed the footage over; the redacted copies are the investigation's
    refused = client.post(f"/api/v1/clips/{clip.id}/redactions", headers=owner.headers, json={"style": "blur"})
    assert refused.status_code == 403
    made = client.post(f"/api/v1/clips/{clip.id}/redactions", headers=investigator.headers, json={"style": "blur"})
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    assert made.json()["status"] == "detecting" and made.json()["parent_sha256"] == clip.sha256

    # boxes cannot be changed while the detector runs
    early = client.put(f"/api/v1/redactions/{rid}/boxes", headers=investigator.headers, json={"tracks": []})
    assert early.status_code == 409

    done = redaction.detect_faces(session_factory(), uuid.UUID(rid))
    assert done is not None and done.status == "review"
    record = client.get(f"/api/v1/redactions/{rid}", headers=investigator.headers).json()
    assert record["width"] == 640 and record["height"] == 360 and record["frame_rate"] == 25
    assert record["detector"]["name"] == "opencv-haar-cascade" and record["detector"]["version"] == cv2.__version__
    assert record["detector"]["parameters"]["cascade"] == "haarcascade_frontalface_default.xml"

    # the face is found: a track whose box holds the face's centre wherever it has moved
    clip_start_s = (clip.actual_start - original.recording_start_true).total_seconds()
    fx, fy, fw, fh = _face_in_photo()

    def face_centre(t: float) -> tuple[float, float]:
        return 40 + SPEED * (clip_start_s + t) + fx + fw / 2, fy + fh / 2

    def holds(box: tuple[int, int, int, int], point: tuple[float, float]) -> bool:
        return box[0] <= point[0] <= box[0] + box[2] and box[1] <= point[1] <= box[1] + box[3]

    face_tracks = [
        t
        for t in record["tracks"]
        if t["source"] == "auto"
        and sum(holds((k["x"], k["y"], k["w"], k["h"]), face_centre(k["t"])) for k in t["keyframes"]) >= 5
    ]
    assert face_tracks, record["tracks"]

    # a manual box, drawn on two keyframes, beside the detector's boxes
    manual = {"source": "manual", "keyframes": MANUAL}
    outside = {"source": "manual", "keyframes": [{"t": 0.0, "x": 600, "y": 300, "w": 80, "h": 56}]}
    bad = client.put(
        f"/api/v1/redactions/{rid}/boxes", headers=investigator.headers, json={"tracks": [*record["tracks"], outside]}
    )
    assert bad.status_code == 422 and "frame" in bad.json()["errors"][0]["message"]
    saved = client.put(
        f"/api/v1/redactions/{rid}/boxes", headers=investigator.headers, json={"tracks": [*record["tracks"], manual]}
    )
    assert saved.status_code == 200, saved.text

    started = client.post(f"/api/v1/redactions/{rid}/render", headers=investigator.headers)
    assert started.status_code == 202 and started.json()["status"] == "rendering"
    ready = redaction.render(session_factory(), uuid.UUID(rid))
    assert ready is not None and ready.status == "ready"

    record = client.get(f"/api/v1/redactions/{rid}", headers=investigator.headers).json()
    assert record["status"] == "ready" and record["progress"] == 1
    assert record["parent_sha256"] == clip.sha256 and record["parent_version_id"] == clip.version_id
    assert record["tool"] == "ffmpeg" and record["tool_version"] == media.ffmpeg_version()
    command = " ".join(record["command"])
    assert "libx264" in command and "boxblur" in command and "alphamerge" in command
    assert f"s3://{get_storage().bucket}/{clip.object_key}?versionId={clip.version_id}" in command
    assert len(record["sha256"]) == 64 and record["size"] > 0 and len(record["mask_sha256"]) == 64

    # the mask file: stored, its hash recorded, the manual box moved linearly between its keyframes
    with session_factory()() as session:
        row = session.get(redaction.Redaction, uuid.UUID(rid))
        assert row is not None and row.mask_object_key and row.mask_version_id and row.object_key
        mask_key, mask_version, copy_key = row.mask_object_key, row.mask_version_id, row.object_key
    mask_bytes = b"".join(get_storage().iter_version(mask_key, mask_version))
    assert hashlib.sha256(mask_bytes).hexdigest() == record["mask_sha256"]
    mask = json.loads(mask_bytes)
    assert mask["clip_sha256"] == clip.sha256 and mask["detector"] == record["detector"]
    by_frame = {f["frame"]: [tuple(b) for b in f["boxes"]] for f in mask["frames"]}
    assert (120, 300, 60, 56) in by_frame[50]  # t = 2 s: halfway between x=20 (1 s) and x=220 (3 s)
    assert (72, 300, 60, 56) in by_frame[38]  # t = 1.52 s: 20 + 200 × 0.52 / 2
    assert not any(b[1] == 300 and b[3] == 56 for b in by_frame.get(10, []))  # before the first keyframe

    # the copy through the logged download link: its bytes are the recorded ones
    link = client.get(f"/api/v1/redactions/{rid}/download", headers=investigator.headers, follow_redirects=False)
    assert link.status_code == 302
    copy = tmp_path / "redacted.mp4"
    copy.write_bytes(httpx.get(link.headers["location"]).content)
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == record["sha256"]
    assert len(_events(rid, "redaction.link_fetched")) == 1

    # pixels: inside every box the detail (variance) falls; outside, the picture is the clip's up to the
    # re-encoding's noise
    source = tmp_path / "clip.mp4"
    get_storage().download(clip.object_key, clip.version_id, source)
    before, after = _frames(source), _frames(copy)
    assert len(after) == len(before) == mask["frame_count"]
    checked = 0
    for index in (5, 38, 50, 75, 120):
        boxes = by_frame[index]
        inside = np.zeros(before[index].shape, dtype=bool)
        for x, y, w, h in boxes:
            inside[y : y + h, x : x + w] = True
            was, now = before[index][y : y + h, x : x + w].var(), after[index][y : y + h, x : x + w].var()
            if was < 100:
                continue  # a flat patch of the pattern has no detail to lose
            assert now < 0.5 * was, (index, (x, y, w, h), was, now)
            checked += 1
        # a margin around the boxes, where the blur's edge meets the encoder's blocks, is left out
        near = cv2.dilate(inside.astype(np.uint8), np.ones((17, 17), np.uint8)).astype(bool)
        was_out, now_out = before[index][~near], after[index][~near]
        assert float(np.abs(was_out - now_out).mean()) < 2.0
        assert abs(float(now_out.var()) / float(was_out.var()) - 1) < 0.05
    assert checked >= 6

    # the clip and the original are untouched, and each step is in the custody log
    assert _stored_sha(clip.object_key, clip.version_id) == clip.sha256
    assert _stored_sha(original.object_key, original.version_id) == original.sha256
    for action in ("created", "detected", "boxes_saved", "render_requested", "rendered", "record_read"):
        assert _events(rid, f"redaction.{action}"), action
    (rendered,) = _events(rid, "redaction.rendered")
    assert rendered.sha256 == record["sha256"] and rendered.version_id == record["version_id"]
    assert rendered.details["mask"]["sha256"] == record["mask_sha256"]
    assert rendered.details["command"] == record["command"]
    assert rendered.details["parent_sha256"] == clip.sha256
    assert len(_events(clip.id, "clip.read_for_redaction")) == 2

    # a finished redaction keeps its boxes; its copy is locked in S3 like other evidence
    late = client.put(f"/api/v1/redactions/{rid}/boxes", headers=investigator.headers, json={"tracks": []})
    assert late.status_code == 409
    assert get_storage().stat(copy_key, record["version_id"]).size == record["size"]
    listed = client.get(f"/api/v1/clips/{clip.id}/redactions", headers=investigator.headers).json()
    assert [r["id"] for r in listed["items"]] == [rid]


def test_solid_box_style_fills_the_boxes(
    client: TestClient, face_clip: tuple[Account, Account, Clip, Original], tmp_path: Path
) -> None:
    investigator, _, clip, _ = face_clip
    rid = client.post(
        f"/api/v1/clips/{clip.id}/redactions", headers=investigator.headers, json={"style": "box"}
    ).json()["id"]
    redaction.detect_faces(session_factory(), uuid.UUID(rid))
    box = {
        "source": "manual",
        "keyframes": [
            {"t": 0.0, "x": 400, "y": 200, "w": 100, "h": 80},
            {"t": 4.0, "x": 400, "y": 200, "w": 100, "h": 80},
        ],
    }
    saved = client.put(f"/api/v1/redactions/{rid}/boxes", headers=investigator.headers, json={"tracks": [box]})
    assert saved.status_code == 200, saved.text
    assert client.post(f"/api/v1/redactions/{rid}/render", headers=investigator.headers).status_code == 202
    ready = redaction.render(session_factory(), uuid.UUID(rid))
    assert ready is not None and ready.status == "ready" and ready.object_key and ready.version_id
    copy = tmp_path / "boxed.mp4"
    get_storage().download(ready.object_key, ready.version_id, copy)
    frame = _frames(copy)[25]
    assert frame[210:270, 410:490].max() < 30  # black
    assert frame[210:270, 410:490].var() < 5
    assert "drawbox" in " ".join(ready.command or [])


def test_the_worker_runs_the_search_and_the_render_queued_by_the_api(
    client: TestClient, face_clip: tuple[Account, Account, Clip, Original]
) -> None:
    from app.core import queue as jobs
    from app.jobs import tasks

    assert {tasks.detect_redaction_faces.name, tasks.render_redaction.name} == {
        redaction.DETECT_TASK,
        redaction.RENDER_TASK,
    }
    investigator, _, clip, _ = face_clip
    made = client.post(f"/api/v1/clips/{clip.id}/redactions", headers=investigator.headers, json={"style": "blur"})
    rid = made.json()["id"]
    jobs.run_worker(wait=False)  # the job the creating transaction queued when it committed
    record = client.get(f"/api/v1/redactions/{rid}", headers=investigator.headers).json()
    assert record["status"] == "review" and record["frame_count"] and record["tracks"]
    assert client.post(f"/api/v1/redactions/{rid}/render", headers=investigator.headers).status_code == 202
    jobs.run_worker(wait=False)
    record = client.get(f"/api/v1/redactions/{rid}", headers=investigator.headers).json()
    assert record["status"] == "ready" and record["progress"] == 1 and record["sha256"]


# -- lost jobs, retention, orphans and custody verification ------------------------------------------------------
def _lose_job(task: str, rid: str, *, silent_minutes: float = 120, requeues: int | None = None) -> None:
    """What a worker that died mid-job leaves: its job taken (doing) and never finished, the step silent since."""
    with session_factory()() as session, session.begin():
        session.execute(text("SET LOCAL search_path TO procrastinate, public"))  # the queue's triggers need it
        session.execute(
            text(
                "UPDATE procrastinate.procrastinate_jobs SET status = 'doing' "
                "WHERE queueing_lock = :lock AND status = 'todo'"
            ),
            {"lock": f"{task}:{rid}"},
        )
        row = session.get(redaction.Redaction, uuid.UUID(rid))
        assert row is not None
        row.heartbeat_at = clock.now() - timedelta(minutes=silent_minutes)
        if requeues is not None:
            row.requeues = requeues


def _status(rid: str) -> tuple[str, int, str | None]:
    with session_factory()() as session:
        row = session.get(redaction.Redaction, uuid.UUID(rid))
        assert row is not None
        return row.status, row.requeues, row.failure


def test_a_lost_step_is_queued_again_and_given_up_after_the_set_tries(
    client: TestClient, face_clip: tuple[Account, Account, Clip, Original]
) -> None:
    from app.core import queue as jobs
    from app.jobs import tasks

    investigator, _, clip, _ = face_clip
    rid = client.post(
        f"/api/v1/clips/{clip.id}/redactions", headers=investigator.headers, json={"style": "blur"}
    ).json()["id"]

    # the detection's worker died mid-job a minute ago: not yet past the set time, so left alone
    _lose_job(redaction.DETECT_TASK, rid, silent_minutes=1)
    assert tasks.sweep_redactions(0) == {"requeued": 0, "gave_up": 0}
    assert _status(rid) == ("detecting", 0, None)
    # past it: queued again, once, with a custody event; the job waiting now is not queued a second time
    _lose_job(redaction.DETECT_TASK, rid)
    assert rid not in redaction.requeue_stuck(session_factory()).gave_up
    assert _status(rid) == ("detecting", 1, None)
    (requeued,) = _events(rid, "redaction.requeued")
    assert requeued.details["step"] == "detect" and requeued.details["silent_seconds"] >= 7190
    assert requeued.details["row"]["values"]["status"] == "detecting"
    with session_factory()() as session, session.begin():
        row = session.get(redaction.Redaction, uuid.UUID(rid))
        assert row is not None
        row.heartbeat_at = clock.now() - timedelta(hours=2)  # a backlog: the job waits, it is not lost
    assert tasks.sweep_redactions(0) == {"requeued": 0, "gave_up": 0}
    # the real worker runs the job queued again: the faces are found
    jobs.run_worker(wait=False)
    assert _status(rid)[0] == "review"

    # the render's job is lost too; queued again, the worker makes the copy
    assert client.post(f"/api/v1/redactions/{rid}/render", headers=investigator.headers).status_code == 202
    assert _status(rid) == ("rendering", 0, None)
    _lose_job(redaction.RENDER_TASK, rid)
    assert tasks.sweep_redactions(0) == {"requeued": 1, "gave_up": 0}
    jobs.run_worker(wait=False)
    record = client.get(f"/api/v1/redactions/{rid}", headers=investigator.headers).json()
    assert record["status"] == "ready" and len(record["sha256"]) == 64
    assert sorted(e.details["step"] for e in _events(rid, "redaction.requeued")) == ["detect", "render"]

    # another redaction whose detection was already queued again as often as the settings allow: it fails,
    # and its page says why in the reader's language
    other = client.post(
        f"/api/v1/clips/{clip.id}/redactions", headers=investigator.headers, json={"style": "box"}
    ).json()["id"]
    tries = get_settings().redaction_max_requeues
    _lose_job(redaction.DETECT_TASK, other, requeues=tries)
    assert tasks.sweep_redactions(0) == {"requeued": 0, "gave_up": 1}
    assert _status(other) == ("failed", tries, redaction.GAVE_UP)
    (gave_up,) = _events(other, "redaction.gave_up")
    assert gave_up.details["row"]["values"]["status"] == "failed" and gave_up.details["requeues"] == tries
    assert tasks.sweep_redactions(0) == {"requeued": 0, "gave_up": 0}  # a failed redaction is left alone
    web_login(client, data={"email": investigator.email, "password": PASSWORD})
    words = {
        "vi": f"công việc bị gián đoạn {tries + 1} lần và sẽ không được thử nữa",
        "en": f"its work was interrupted {tries + 1} times and is no longer tried",
    }
    for lang, expected in words.items():
        client.cookies.set("lang", lang)
        page = client.get(f"/redactions/{other}")
        assert page.status_code == 200 and 'id="gave-up"' in page.text and expected in page.text, lang
        assert words["en" if lang == "vi" else "vi"] not in page.text
    client.cookies.delete("lang")


def _short_category(client: TestClient, seconds: int) -> str:
    admin = account(client, Role.admin)
    code = f"short_{uuid.uuid4().hex[:6]}"
    made = client.post(
        "/api/v1/retention-categories",
        headers=admin.headers,
        json={"code": code, "name": "Thử nghiệm", "retention_days": seconds / 86400, "mode": "GOVERNANCE"},
    )
    assert made.status_code == 201, made.text
    return code


def _ready(client: TestClient, investigator: Account, clip: Clip, style: str = "box") -> str:
    rid = client.post(
        f"/api/v1/clips/{clip.id}/redactions", headers=investigator.headers, json={"style": style}
    ).json()["id"]
    redaction.detect_faces(session_factory(), uuid.UUID(rid))
    assert client.post(f"/api/v1/redactions/{rid}/render", headers=investigator.headers).status_code == 202
    done = redaction.render(session_factory(), uuid.UUID(rid))
    assert done is not None and done.status == "ready"
    return str(rid)


def test_redacted_copies_are_kept_swept_and_verified_like_clips(
    client: TestClient, face_clip: tuple[Account, Account, Clip, Original], tmp_path: Path
) -> None:
    from app.custody.verify import verify_log
    from app.footage.orphans import sweep_orphans
    from app.footage.retention import sweep_retention

    investigator, _, clip, original = face_clip
    seconds = 6
    code = _short_category(client, seconds)
    case_id = client.get(f"/api/v1/requests/{clip.request_id}", headers=investigator.headers).json()["case_id"]
    patched = client.patch(f"/api/v1/cases/{case_id}", headers=investigator.headers, json={"retention_category": code})
    assert patched.status_code == 200, patched.text
    rid = _ready(client, investigator, clip)
    with session_factory()() as session:
        row = session.get(redaction.Redaction, uuid.UUID(rid))
        assert row is not None and row.legal_hold and row.retain_until is not None
        session.expunge(row)
    store = get_storage()
    objects = [(row.object_key, row.version_id), (row.mask_object_key, row.mask_version_id)]
    for key, version in objects:
        assert key and version
        stat = store.stat(key, version)
        assert stat.legal_hold and stat.retention_mode == "GOVERNANCE"
        assert stat.retain_until is not None and abs((stat.retain_until - row.retain_until).total_seconds()) < 1

    # the orphan sweep knows both objects; a stray object under redactions/ is still found
    stray_path = tmp_path / "stray.json"
    stray_path.write_bytes(b"{}")
    stray = store.put_file(f"redactions/{clip.id}/stray.json", stray_path, content_type="application/json")
    with session_factory()() as session, session.begin():
        report = sweep_orphans(session, remove=False)
    found = {(f["object_key"], f["version_id"]) for f in report.objects_without_rows}
    assert not set(objects) & found, "no false orphans"
    assert (f"redactions/{clip.id}/stray.json", stray.version_id) in found
    assert not [f for f in report.rows_without_objects if f["object_type"] == "redaction"]
    store.remove_version(f"redactions/{clip.id}/stray.json", stray.version_id)

    # verification re-hashes the copy and the mask file and compares the row with its events: all clean ...
    mine = {rid, str(clip.id), str(original.id)}
    with session_factory()() as session:
        result = verify_log(session, include_objects=True, workers=1)
    assert [p for p in result.problems if p.object_id in mine] == []
    # ... until the row is changed around the service: the verification names the redaction and the field
    with session_factory()() as session, session.begin():
        session.execute(
            text("UPDATE redactions SET mask_sha256 = :sha, legal_hold = false WHERE id = :id"),
            {"sha": "0" * 64, "id": rid},
        )
    with session_factory()() as session:
        result = verify_log(session, include_objects=True, workers=1)
    named = sorted(p.what for p in result.problems if p.object_id == rid)
    short = f"redaction {rid[:8]}…"
    assert any(w.startswith(f"{short} mask_sha256 is {'0' * 57}… in the table but") for w in named), named
    assert f"{short} legal_hold is false in the table but true in the log" in named, named
    assert any(w.startswith(f"{short} legal hold is on in S3 but off in the table") for w in named), named
    with session_factory()() as session, session.begin():
        session.execute(
            text("UPDATE redactions SET mask_sha256 = :sha, legal_hold = true WHERE id = :id"),
            {"sha": row.mask_sha256, "id": rid},
        )

    # retention: nothing of the open case goes, past its period or not
    time.sleep(seconds + 1)
    report = sweep_retention(session_factory())
    assert rid not in report.released and rid not in report.deleted
    assert all(store.stat(k, v).legal_hold for k, v in objects if k and v)
    # a manual legal hold holds the copy and its mask file too: the closed case's sweep leaves them
    admin = account(client, Role.admin)
    reason = {"reason": "Kháng cáo đang xét"}
    assert client.post(f"/api/v1/cases/{case_id}/legal-hold", headers=admin.headers, json=reason).status_code == 200
    closed = client.post(
        f"/api/v1/cases/{case_id}/close",
        headers=investigator.headers,
        json={"outcome": "clarified", "footage_contributed": True},
    )
    assert closed.status_code == 200, closed.text
    report = sweep_retention(session_factory())
    assert rid not in report.released and rid not in report.deleted
    assert all(store.stat(k, v).legal_hold for k, v in objects if k and v)
    # released on the closed case: the holds come off, and the sweep deletes the copy with its mask file (the
    # clip, cut before the case took the short category, keeps its longer lock: never shortened)
    released = client.post(f"/api/v1/cases/{case_id}/legal-hold/release", headers=admin.headers, json=reason)
    assert released.status_code == 200, released.text
    assert not any(store.stat(k, v).legal_hold for k, v in objects if k and v)
    report = sweep_retention(session_factory())
    assert rid in report.deleted and str(clip.id) not in report.deleted
    for key, version in objects:
        assert key and version and version not in store.versions(key)
    with session_factory()() as session:
        gone = session.get(redaction.Redaction, uuid.UUID(rid))
        assert gone is not None and gone.deleted_at is not None and not gone.legal_hold
        events = list(
            session.scalars(
                select(CustodyEvent)
                .where(
                    CustodyEvent.object_id == uuid.UUID(rid),
                    CustodyEvent.action.like("retention.%") | CustodyEvent.action.like("legal_hold.%"),
                )
                .order_by(CustodyEvent.seq)
            )
        )
    assert [e.action for e in events] == [
        "legal_hold.placed",
        "legal_hold.released",
        "retention.deleted",
        "retention.deleted",
    ]
    assert {e.details["part"] for e in events[2:]} == {"copy", "mask"}
    fetched = client.get(f"/api/v1/redactions/{rid}/download", headers=investigator.headers, follow_redirects=False)
    assert fetched.status_code == 409
    # the deleted versions are expected gone, the row matches its events, no orphan row is reported
    with session_factory()() as session:
        result = verify_log(session, include_objects=True, workers=1)
    assert [p for p in result.problems if p.object_id in mine or (p.detail and rid in p.detail)] == []
    with session_factory()() as session, session.begin():
        report = sweep_orphans(session, remove=False)
    assert not [f for f in report.rows_without_objects if f["object_type"] == "redaction"]

    # a copy made after the case closed (its render holds it) loses the hold at the next sweep, then goes
    later = _ready(client, investigator, clip)
    report = sweep_retention(session_factory())
    assert later in report.released and later not in report.deleted
    time.sleep(seconds + 1)
    report = sweep_retention(session_factory())
    assert later in report.deleted
    assert [e.action for e in _events(later, "retention.hold_released")] == ["retention.hold_released"]
    assert len(_events(later, "retention.deleted")) == 2
    with session_factory()() as session:
        result = verify_log(session, include_objects=True, workers=1)
    assert [p for p in result.problems if p.object_id in {later, rid}] == []
