"""Recorder-native exports through the API, against the real S3 server, PostgreSQL and ffmpeg: the recording start
taken from the right source, the clip cut within one GOP of the window in true time with the recorder's clock
wrong by a known amount, and a vendor file nothing decodes kept until its converted copy arrives."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core.db import session_factory
from app.footage.cutting import make_clip
from app.footage.models import Original
from tests.factories import Account
from tests.footage.recorder_exports import (
    dahua_name,
    hikvision_name,
    write_dav,
    write_dav_segments,
    write_imkh,
    write_vendor_blob,
)
from tests.footage.test_footage import FORMATS, _no_evidence_left, _video, approved_request

VN = ZoneInfo("Asia/Ho_Chi_Minh")
FAST_S = 90  # the recorder's clock runs this far ahead of true time
GOP = timedelta(seconds=2.1)


@pytest.fixture()
def approved(client: TestClient) -> tuple[Account, Account, str, datetime]:
    return approved_request(client)


def _recorder_local(true_time: datetime) -> datetime:
    """What the fast recorder's screen (and its stamps) showed at `true_time`: naive Vietnam local time."""
    return (true_time + timedelta(seconds=FAST_S)).astimezone(VN).replace(tzinfo=None)


def _put(client: TestClient, who: Account, request_id: str, path: Path, **headers: str) -> httpx.Response:
    return client.put(
        f"/api/v1/requests/{request_id}/original",
        content=path.read_bytes(),
        headers={**who.headers, "X-Filename": path.name, **headers},
    )


def _clip_within_a_gop(client: TestClient, investigator: Account, request_id: str, t0: datetime) -> dict[str, Any]:
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    read = client.get(f"/api/v1/clips/{clip.id}", headers=investigator.headers).json()
    requested_start, requested_end = t0 + timedelta(seconds=5), t0 + timedelta(seconds=12)
    actual_start, actual_end = (datetime.fromisoformat(read[k]) for k in ("actual_start", "actual_end"))
    assert requested_start - GOP <= actual_start <= requested_start + timedelta(milliseconds=50)
    assert requested_end - timedelta(milliseconds=50) <= actual_end <= requested_end + GOP
    assert "-c copy" in read["command"][-1]
    return read


def _events(client: TestClient, investigator: Account, object_id: str) -> dict[str, dict[str, Any]]:
    items = client.get(f"/api/v1/custody?object_id={object_id}", headers=investigator.headers).json()["items"]
    return {e["action"]: e for e in items}


def test_dav_start_from_its_frames_over_a_wrong_header_and_name(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved
    stamped = _recorder_local(t0)
    # the name says an hour later (a renamed file), the header ten seconds later (typed from memory)
    name = dahua_name(1, stamped + timedelta(hours=1), stamped + timedelta(hours=1, seconds=20))
    path = write_dav(tmp_path / name, stamped, seconds=20)
    typed = (stamped + timedelta(seconds=10)).isoformat()
    response = _put(client, owner, request_id, path, **{"X-Recording-Start": typed, "X-Clock-Offset-Seconds": "90"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["recording_start_source"] == "file" and body["media"]["container"] == "dhav"
    assert datetime.fromisoformat(body["recording_start_recorder"]) == stamped.replace(tzinfo=VN)
    assert body["media"]["duration_s"] == pytest.approx(20, abs=0.05)

    _clip_within_a_gop(client, investigator, request_id, t0)
    detail = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()
    assert detail["originals"][0]["recording_start_source"] == "file"
    read = client.get(f"/api/v1/originals/{body['id']}", headers=investigator.headers).json()
    assert read["recording_start_source"] == "file" and read["recording_start_stated"] == typed
    probed = _events(client, investigator, body["id"])["original.probed"]["details"]
    assert probed["recording_start_source"] == "file"
    assert probed["recording_start_header"] == typed
    assert probed["header_minus_file_s"] == 10.0 and probed["header_overruled"] is True
    assert probed["recorder_clock"]["ends_on_frame"] is True
    assert probed["recorder_clock"]["bytes_read"] < path.stat().st_size


def test_dav_without_header_takes_the_file_time(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved
    path = write_dav(tmp_path / "export.mp4", _recorder_local(t0), seconds=20)  # a DHAV file misnamed .mp4
    response = _put(client, owner, request_id, path, **{"X-Clock-Offset-Seconds": "90"})
    assert response.status_code == 201, response.text
    assert response.json()["recording_start_source"] == "file"
    _clip_within_a_gop(client, investigator, request_id, t0)


def test_imkh_export_timed_by_its_hikvision_name(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved
    stamped = _recorder_local(t0)
    path = write_imkh(tmp_path / hikvision_name(1, stamped, stamped + timedelta(seconds=20)), seconds=20)
    response = _put(client, owner, request_id, path, **{"X-Clock-Offset-Seconds": "90"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["recording_start_source"] == "filename" and body["media"]["container"] == "mpeg"
    read = _clip_within_a_gop(client, investigator, request_id, t0)
    assert read["parent_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    probed = _events(client, investigator, body["id"])["original.probed"]["details"]
    assert probed["native_format"] == "imkh" and probed["filename_pattern"] == "hikvision"
    assert probed["recording_start_source"] == "filename" and probed["recording_start_header"] is None


def test_header_beats_the_file_name(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved
    stamped = _recorder_local(t0)
    path = _video(tmp_path, hikvision_name(1, stamped - timedelta(minutes=5)), FORMATS["mp4-h264"][1])
    response = _put(
        client, owner, request_id, path, **{"X-Recording-Start": stamped.isoformat(), "X-Clock-Offset-Seconds": "90"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["recording_start_source"] == "header"
    _clip_within_a_gop(client, investigator, request_id, t0)


def test_vendor_file_kept_then_its_converted_copy_clipped(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved
    stamped = _recorder_local(t0)
    blob = write_vendor_blob(tmp_path / dahua_name(1, stamped, stamped + timedelta(seconds=20)))
    kept = _put(client, owner, request_id, blob, **{"X-Vendor-Format": "SmartPSS", "X-Clock-Offset-Seconds": "90"})
    assert kept.status_code == 201, kept.text
    body = kept.json()
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    assert body["sha256"] == digest and body["needs_conversion"] is True
    assert body["recording_start_source"] == "filename" and "convert" in body["conversion_message"]
    detail = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()
    assert detail["status"] == "needs_conversion" and detail["originals"][0]["needs_conversion"] is True
    assert "ffmpeg" not in str(detail) and "Invalid data" not in str(detail)
    with session_factory()() as session:
        stored = session.get(Original, uuid.UUID(body["id"]))
        assert stored is not None and stored.decode_error and stored.vendor_format == "SmartPSS"
    events = _events(client, investigator, body["id"])
    assert {"original.received", "original.needs_conversion", "original.locked"} <= set(events)
    assert events["original.received"]["details"]["vendor_format"] == "SmartPSS"
    assert make_clip(session_factory(), uuid.UUID(request_id)) is None  # nothing to cut yet
    # the owner cannot hand over the same request again meanwhile
    assert _put(client, owner, request_id, blob, **{"X-Vendor-Format": "SmartPSS"}).status_code == 409

    converted = _video(tmp_path, "converted.mp4", FORMATS["mp4-h264"][1])
    url = f"/api/v1/originals/{body['id']}/converted"
    headers = {
        **investigator.headers,
        "X-Filename": converted.name,
        "X-Parent-SHA256": digest,
        "X-Converted-By": "SmartPlayer",
        "X-Converter-Version": "3.2.1",
    }
    wrong_parent = client.post(url, content=converted.read_bytes(), headers={**headers, "X-Parent-SHA256": "0" * 64})
    assert wrong_parent.status_code == 422 and wrong_parent.json()["errors"][0]["field"] == "X-Parent-SHA256"
    assert client.post(url, content=converted.read_bytes(), headers={**headers, **owner.headers}).status_code == 403
    copy = client.post(url, content=converted.read_bytes(), headers=headers)
    assert copy.status_code == 201, copy.text
    assert copy.json()["parent_original_id"] == body["id"] and copy.json()["recording_start_source"] == "filename"
    read = client.get(f"/api/v1/originals/{copy.json()['id']}", headers=investigator.headers).json()
    assert (read["parent_sha256"], read["conversion_tool"], read["conversion_tool_version"]) == (
        digest,
        "SmartPlayer",
        "3.2.1",
    )
    clip = _clip_within_a_gop(client, investigator, request_id, t0)
    assert clip["original_id"] == copy.json()["id"]
    received = _events(client, investigator, copy.json()["id"])["original.received"]["details"]
    assert received["derived_from"] == body["id"] and received["conversion_tool"] == "SmartPlayer"
    assert client.post(url, content=converted.read_bytes(), headers=headers).status_code == 409


def test_undecodable_without_vendor_header_is_refused_and_nothing_kept(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    _, owner, request_id, t0 = approved
    blob = write_vendor_blob(tmp_path / "ch01_20261123201200.dav")
    refused = _put(client, owner, request_id, blob, **{"X-Recording-Start": t0.isoformat()})
    assert refused.status_code == 422 and "does not play as a video" in refused.json()["detail"]
    no_time = write_vendor_blob(tmp_path / "export.bin")
    unnamed = _put(client, owner, request_id, no_time, **{"X-Vendor-Format": "Hik-Connect"})
    assert unnamed.status_code == 422 and unnamed.json()["errors"][0]["field"] == "X-Recording-Start"
    _no_evidence_left(request_id)


def test_no_time_anywhere_is_refused(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    _, owner, request_id, _t0 = approved
    path = write_imkh(tmp_path / "export.mp4", seconds=4)
    refused = _put(client, owner, request_id, path)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "X-Recording-Start"
    _no_evidence_left(request_id)


def test_recording_start_true_uses_the_stated_offset() -> None:
    stamped = datetime(2026, 11, 23, 20, 13, 30)
    assert _recorder_local(datetime(2026, 11, 23, 13, 12, 0, tzinfo=UTC)) == stamped


def test_dav_export_in_two_files_clipped_across_the_boundary(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    """A Dahua export split in two 8 s files, named as the recorder names them, sent with the measured offset and
    no X-Recording-Start: each file is timed by its own frames, and one clip crosses the boundary at t0+8."""
    investigator, owner, request_id, t0 = approved
    files = write_dav_segments(tmp_path, _recorder_local(t0), segment_s=8, count=2)
    ids = []
    for path in reversed(files):  # sent out of order: the timeline orders them
        sent = client.post(
            f"/api/v1/requests/{request_id}/originals",
            content=path.read_bytes(),
            headers={**owner.headers, "X-Filename": path.name, "X-Clock-Offset-Seconds": str(FAST_S)},
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["recording_start_source"] == "file" and sent.json()["media"]["container"] == "dhav"
        ids.insert(0, sent.json()["id"])
    done = client.post(f"/api/v1/requests/{request_id}/originals/complete", headers=owner.headers)
    assert done.status_code == 200, done.text
    export = done.json()["export"]
    assert [f["original_id"] for f in export["files"]] == ids and export["gaps"] == [] == export["overlaps"]
    assert datetime.fromisoformat(export["files"][0]["start"]) == t0
    read = _clip_within_a_gop(client, investigator, request_id, t0)
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]
    assert [p["sha256"] for p in read["parents"]] == digests
    assert read["clock_offset_s"] == FAST_S and read["clock_offset_source"] == "header"
    # the DHAV files are remuxed by stream copy, then cut across in one concat pass, which also moves the clip's
    # first frame to media time 0
    runs = [c for c in read["command"] if c.startswith("ffmpeg ")]
    assert len(runs) == 3 and "-f concat" in runs[-1] and all("-c copy" in c for c in runs)
    assert "-output_ts_offset " in runs[-1]
