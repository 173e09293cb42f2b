"""Clock checks through the real app, PostgreSQL, S3 server and ffmpeg: readings paired with true time, who may
take them, what is refused, the custody event, and which offset the next original and its clip take."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from app.auth.models import Role
from app.core import clock, media
from app.core.db import session_factory
from app.core.storage import StorageError, get_storage
from app.footage.cutting import make_clip
from app.footage.models import ClockCheck
from tests.factories import Account, account, make_unit
from tests.footage.test_footage import FORMATS, _upload, _video, approved_request

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture()
def true_time() -> Iterator[clock.FrozenClock]:
    """The server's clock held at a known instant near now, so offsets come out exact."""
    frozen = clock.FrozenClock(datetime.now(UTC).replace(microsecond=0))
    clock.set_clock(frozen)
    try:
        yield frozen
    finally:
        clock.set_clock(None)


@pytest.fixture()
def approved(client: TestClient, true_time: clock.FrozenClock) -> tuple[Account, Account, str, datetime]:
    return approved_request(client)


def _screen(moment: datetime) -> str:
    """How a recorder in Vietnam shows `moment`: naive local time, whole seconds."""
    return moment.astimezone(HCM).replace(tzinfo=None).isoformat()


def _check(client: TestClient, who: Account, request_id: str, **body: Any) -> Any:
    return client.post(f"/api/v1/requests/{request_id}/clock-checks", headers=who.headers, json=body)


def _events(client: TestClient, investigator: Account, request_id: str, action: str) -> list[dict[str, Any]]:
    """The request's case's custody events of one action."""
    case_id = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()["case_id"]
    listed = client.get(f"/api/v1/custody?case_id={case_id}&limit=100", headers=investigator.headers)
    assert listed.status_code == 200, listed.text
    return [event for event in listed.json()["items"] if event["action"] == action]


def test_owner_reading_offset_sign_uncertainty_and_custody(
    client: TestClient, approved: tuple[Account, Account, str, datetime], true_time: clock.FrozenClock
) -> None:
    investigator, owner, request_id, _ = approved
    now = true_time.current
    # The recorder is 2 min 5 s fast: its screen shows a later time than the true one.
    fast = _check(client, owner, request_id, displayed=_screen(now + timedelta(seconds=125)))
    assert fast.status_code == 201, fast.text
    body = fast.json()
    assert body["offset_seconds"] == 125.0
    assert body["method"] == "owner_reading" and body["uncertainty_s"] == 30.0
    assert datetime.fromisoformat(body["measured_at"]) == now
    # A slow recorder gives a negative offset; saying when the reading was taken dates it and narrows it.
    true_time.advance(seconds=40)
    slow = _check(client, owner, request_id, displayed=_screen(now + timedelta(seconds=40 - 6 - 65)), read_ago_s=6)
    assert slow.status_code == 201, slow.text
    assert slow.json()["offset_seconds"] == -65.0 and slow.json()["uncertainty_s"] == 5.0
    assert datetime.fromisoformat(slow.json()["measured_at"]) == now + timedelta(seconds=34)

    event = next(e for e in _events(client, investigator, request_id, "clock.checked") if e["object_id"] == body["id"])
    assert event["object_type"] == "clock_check" and event["actor"] == f"user:{owner.id}"
    details = event["details"]
    assert details["offset_s"] == 125.0 and details["method"] == "owner_reading" and details["uncertainty_s"] == 30
    assert details["displayed"] == _screen(now + timedelta(seconds=125))
    assert datetime.fromisoformat(details["true_time"]) == now
    listed = client.get(f"/api/v1/requests/{request_id}/clock-checks", headers=investigator.headers).json()
    assert [c["offset_seconds"] for c in listed] == [125.0, -65.0]


def test_owner_link_and_investigator_on_site(
    client: TestClient, approved: tuple[Account, Account, str, datetime], true_time: clock.FrozenClock
) -> None:
    investigator, _, request_id, _ = approved
    now = true_time.current
    link = client.post(f"/api/v1/requests/{request_id}/links", headers=investigator.headers)
    assert link.status_code == 201, link.text
    token = link.json()["url"].rsplit("/", 1)[1]
    hour_slow = {"displayed": _screen(now - timedelta(hours=1))}
    by_link = client.post(f"/api/v1/respond/{token}/clock-checks", json=hour_slow)
    assert by_link.status_code == 201, by_link.text
    assert by_link.json()["offset_seconds"] == -3600.0 and by_link.json()["method"] == "owner_reading"
    assert by_link.json()["measured_by"] == f"owner-link:{link.json()['id']}"

    on_site = _check(client, investigator, request_id, displayed=_screen(now + timedelta(seconds=3)))
    assert on_site.status_code == 201, on_site.text
    assert on_site.json()["method"] == "investigator_on_site" and on_site.json()["uncertainty_s"] == 10.0
    # An investigator may also record the owner's reading passed on by phone.
    relayed = _check(client, investigator, request_id, displayed=_screen(now), method="owner_reading")
    assert relayed.status_code == 201 and relayed.json()["method"] == "owner_reading"


def test_who_may_not(client: TestClient, approved: tuple[Account, Account, str, datetime]) -> None:
    _, owner, request_id, _ = approved
    reading = {"displayed": _screen(clock.now())}
    other_unit = account(client, Role.investigator, unit_id=make_unit())
    assert _check(client, other_unit, request_id, **reading).status_code == 404
    other_owner = account(client, Role.owner, owner_id=_other_owner())
    assert _check(client, other_owner, request_id, **reading).status_code == 404
    for role in (Role.supervisor, Role.auditor, Role.admin):
        unit = make_unit() if role == Role.supervisor else None
        assert _check(client, account(client, role, unit_id=unit), request_id, **reading).status_code == 403
    claimed = _check(client, owner, request_id, method="investigator_on_site", **reading)
    assert claimed.status_code == 422 and claimed.json()["errors"][0]["field"] == "method"
    no_photo = _check(client, owner, request_id, method="photo", **reading)
    assert no_photo.status_code == 422 and no_photo.json()["errors"][0]["field"] == "method"
    with session_factory()() as session:
        assert session.query(ClockCheck).filter_by(request_id=uuid.UUID(request_id)).count() == 0


def _other_owner() -> uuid.UUID:
    from tests.factories import make_owner

    return make_owner(name="Chủ khác")


@pytest.mark.parametrize(
    ("displayed", "why"),
    [
        ("later", "more than a week off"),
        ("hôm qua lúc 8 giờ tối", "not ISO 8601"),
        ("20:14:05", "a time without its date"),
        ("2026-11-23T20:14:05\u202e", "a text-direction control character"),
        ("2026-11-23T20:14:05\x00", "a NUL"),
        ("9999-11-23T20:14:05", "beyond any plausible year"),
        ("1700000000", "seconds since 1970 are no reading"),
    ],
)
def test_absurd_readings_are_refused_naming_displayed(
    client: TestClient, approved: tuple[Account, Account, str, datetime], displayed: str, why: str
) -> None:
    _, owner, request_id, _ = approved
    if displayed == "later":
        displayed = _screen(clock.now() + timedelta(days=8))
    refused = _check(client, owner, request_id, displayed=displayed)
    assert refused.status_code == 422, why
    assert refused.json()["errors"][0]["field"] == "displayed", refused.json()


def test_a_stale_or_negative_reading_delay_is_refused(
    client: TestClient, approved: tuple[Account, Account, str, datetime]
) -> None:
    _, owner, request_id, _ = approved
    for read_ago in (-1, 601, "NaN"):
        refused = _check(client, owner, request_id, displayed=_screen(clock.now()), read_ago_s=read_ago)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "read_ago_s"


def test_a_finished_request_takes_no_check(
    client: TestClient, approved: tuple[Account, Account, str, datetime]
) -> None:
    investigator, owner, request_id, _ = approved
    cancelled = client.post(
        f"/api/v1/requests/{request_id}/cancel", headers=investigator.headers, json={"reason": "Đã có hình ảnh khác"}
    )
    assert cancelled.status_code == 200, cancelled.text
    refused = _check(client, owner, request_id, displayed=_screen(clock.now()))
    assert refused.status_code == 409 and refused.json()["current_status"] == "cancelled"


def test_next_upload_takes_the_latest_check_and_says_so(
    client: TestClient,
    approved: tuple[Account, Account, str, datetime],
    true_time: clock.FrozenClock,
    tmp_path: Path,
) -> None:
    investigator, owner, request_id, t0 = approved
    # An older check, then the latest: the recorder runs 90 s fast.
    assert _check(client, owner, request_id, displayed=_screen(true_time.current + timedelta(seconds=30))).is_success
    latest = _check(client, owner, request_id, displayed=_screen(true_time.advance(seconds=20) + timedelta(seconds=90)))
    assert latest.status_code == 201 and latest.json()["offset_seconds"] == 90.0
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1])
    uploaded = _upload(client, owner, request_id, video, _screen(t0 + timedelta(seconds=90)))  # no offset header
    assert uploaded.status_code == 201, uploaded.text
    received = uploaded.json()
    assert received["clock_offset_s"] == 90.0
    assert received["clock_offset_source"] == "clock_check" and received["clock_check_id"] == latest.json()["id"]
    original = client.get(f"/api/v1/originals/{received['id']}", headers=investigator.headers).json()
    assert original["clock_offset_source"] == "clock_check" and original["clock_check_id"] == latest.json()["id"]
    assert datetime.fromisoformat(original["recording_start_true"]) == t0

    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    detail = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()
    assert detail["originals"][0]["clock_offset_source"] == "clock_check"
    read = detail["clips"][0]
    assert read["clock_offset_s"] == 90.0 and read["clock_offset_source"] == "clock_check"
    assert read["clock_check_id"] == latest.json()["id"]
    # the window is 5..12 s after t0 in true time; with the check's offset removed the cut lands on it
    actual_start = datetime.fromisoformat(read["actual_start"])
    assert t0 + timedelta(seconds=5) - timedelta(seconds=2.1) <= actual_start <= t0 + timedelta(seconds=5.05)
    probes = _events(client, investigator, request_id, "original.probed")
    probed = next(e for e in probes if e["object_id"] == received["id"])
    assert probed["details"]["clock_offset_source"] == "clock_check"
    assert probed["details"]["clock_check_id"] == latest.json()["id"]


def test_the_header_wins_over_a_check(
    client: TestClient,
    approved: tuple[Account, Account, str, datetime],
    true_time: clock.FrozenClock,
    tmp_path: Path,
) -> None:
    investigator, owner, request_id, t0 = approved
    assert _check(client, owner, request_id, displayed=_screen(true_time.current + timedelta(seconds=600))).is_success
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=6)
    uploaded = _upload(
        client, owner, request_id, video, _screen(t0 + timedelta(seconds=15)), **{"X-Clock-Offset-Seconds": "15"}
    )
    assert uploaded.status_code == 201, uploaded.text
    original = client.get(f"/api/v1/originals/{uploaded.json()['id']}", headers=investigator.headers).json()
    assert original["clock_offset_s"] == 15.0
    assert original["clock_offset_source"] == "header" and original["clock_check_id"] is None


def test_without_check_or_header_the_offset_is_none(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=6)
    uploaded = _upload(client, owner, request_id, video, _screen(t0))
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["clock_offset_s"] == 0.0 and uploaded.json()["clock_offset_source"] == "none"


def _screen_photo(directory: Path) -> Path:
    path = directory / "man-hinh-dau-ghi.png"
    media.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", "-y", str(path)])
    return path


def test_photo_of_the_screen_is_locked_evidence(
    client: TestClient, approved: tuple[Account, Account, str, datetime], true_time: clock.FrozenClock, tmp_path: Path
) -> None:
    investigator, owner, request_id, _ = approved
    photo = _screen_photo(tmp_path)
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    taken = client.post(
        f"/api/v1/requests/{request_id}/clock-checks/photo",
        headers=owner.headers,
        # read 3 s before sending, 42 s fast
        data={"displayed": _screen(true_time.current + timedelta(seconds=39)), "read_ago_s": "3"},
        files={"photo": (photo.name, photo.read_bytes(), "image/png")},
    )
    assert taken.status_code == 201, taken.text
    body = taken.json()
    assert body["method"] == "photo" and body["offset_seconds"] == 42.0 and body["uncertainty_s"] == 2.0
    assert body["photo_sha256"] == digest
    with session_factory()() as session:
        check = session.get(ClockCheck, uuid.UUID(body["id"]))
        assert check is not None and check.photo_object_key and check.photo_version_id
        key, version = check.photo_object_key, check.photo_version_id
    store = get_storage()
    stored = hashlib.sha256(b"".join(store.iter_version(key, version))).hexdigest()
    assert stored == digest
    info = store.stat(key, version)
    assert info.legal_hold and info.retain_until is not None and info.retain_until > clock.now()
    with pytest.raises(StorageError):
        store.remove_version(key, version)
    event = next(e for e in _events(client, investigator, request_id, "clock.checked") if e["object_id"] == body["id"])
    assert event["sha256"] == digest and event["version_id"] == version and event["details"]["method"] == "photo"


def test_a_photo_that_is_no_image_is_refused_and_not_kept(
    client: TestClient, approved: tuple[Account, Account, str, datetime]
) -> None:
    _, owner, request_id, _ = approved
    refused = client.post(
        f"/api/v1/requests/{request_id}/clock-checks/photo",
        headers=owner.headers,
        data={"displayed": _screen(clock.now())},
        files={"photo": ("screen.jpg", b"MZ\x90\x00 not a photo" * 100, "image/jpeg")},
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "photo"
    bad_reading = client.post(
        f"/api/v1/requests/{request_id}/clock-checks/photo",
        headers=owner.headers,
        data={"displayed": "tối qua"},
        files={"photo": ("screen.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")},
    )
    assert bad_reading.status_code == 422 and bad_reading.json()["errors"][0]["field"] == "displayed"
    store = get_storage()
    assert [v for v in store.list_versions(f"clock-photos/{request_id}/")] == []


def test_a_converted_copy_keeps_its_parents_offset_and_source(
    client: TestClient, approved: tuple[Account, Account, str, datetime], true_time: clock.FrozenClock, tmp_path: Path
) -> None:
    from tests.footage.recorder_exports import dahua_name, write_vendor_blob

    investigator, owner, request_id, t0 = approved
    check = _check(client, owner, request_id, displayed=_screen(true_time.current + timedelta(seconds=90))).json()
    stamped = (t0 + timedelta(seconds=90)).astimezone(HCM).replace(tzinfo=None)
    blob = write_vendor_blob(tmp_path / dahua_name(1, stamped, stamped + timedelta(seconds=20)))
    kept = client.put(
        f"/api/v1/requests/{request_id}/original",
        content=blob.read_bytes(),
        headers={**owner.headers, "X-Filename": blob.name, "X-Vendor-Format": "SmartPSS"},
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["clock_offset_source"] == "clock_check" and kept.json()["clock_check_id"] == check["id"]
    converted = _video(tmp_path, "converted.mp4", FORMATS["mp4-h264"][1])
    copy = client.post(
        f"/api/v1/originals/{kept.json()['id']}/converted",
        content=converted.read_bytes(),
        headers={
            **investigator.headers,
            "X-Filename": converted.name,
            "X-Parent-SHA256": hashlib.sha256(blob.read_bytes()).hexdigest(),
            "X-Converted-By": "SmartPlayer",
            "X-Converter-Version": "3.2.1",
        },
    )
    assert copy.status_code == 201, copy.text
    assert copy.json()["clock_offset_s"] == 90.0
    assert copy.json()["clock_offset_source"] == "clock_check" and copy.json()["clock_check_id"] == check["id"]
