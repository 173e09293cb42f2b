"""The service (embedded PostgreSQL and SeaweedFS, its worker beside the API) killed with SIGKILL while its clip
job cuts, then started again: the request gets exactly one clip, the killed job's working copy of the evidence is
removed, and one SeaweedFS runs on the data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from app.core import embedded
from app.footage.cutting import TEMP_PREFIX
from tests.core.embedded_service import Service, clean_up, embedded_environment, scratch_directory, stop_service
from tests.footage.test_segments import _video
from tests.services import FIRST_ADMIN_TOTP_SECRET, first_admin_code

ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "clip kill test admin password"
PASSWORD = "clip kill test user password"


def _serve(data_dir: Path, scratch: Path) -> Service:
    """`footage serve` with its worker, on the embedded default, its temporary files in `scratch`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = embedded.free_ports(1)[0]
    output = data_dir.parent / f"serve-{port}.out"
    env = embedded_environment(
        data_dir, ADMIN_PASSWORD=ADMIN_PASSWORD, ADMIN_TOTP_SECRET=FIRST_ADMIN_TOTP_SECRET, TMPDIR=str(scratch)
    )
    with output.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    service = Service(process, f"http://127.0.0.1:{port}", data_dir, output)
    deadline = time.monotonic() + 150
    while True:
        try:
            if httpx.get(f"{service.base}/readyz", timeout=5).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_service(service)
            raise RuntimeError(f"the service did not become ready:\n{service.text()[-3000:]}")
        time.sleep(0.3)


def _token(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    data = {"username": email, "password": password}
    if email == ADMIN_EMAIL:
        data["totp_code"] = first_admin_code()
    answer = http.post("/api/v1/auth/token", data=data)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _approved_request(http: httpx.Client) -> tuple[dict[str, str], dict[str, str], str, datetime]:
    admin = _token(http, ADMIN_EMAIL, ADMIN_PASSWORD)

    def post(path: str, body: dict[str, object], headers: dict[str, str] = admin) -> dict[str, object]:
        answer = http.post(path, json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    unit = post("/api/v1/units", {"name": "Công an phường Bến Thành", "code": f"K{uuid.uuid4().hex[:6]}"})
    owner = post("/api/v1/owners", {"name": "Cửa hàng Hoa Mai", "kind": "business"})
    camera = post(
        "/api/v1/cameras",
        {"owner_id": owner["id"], "label": "Cổng trước", "lat": 10.77, "lon": 106.70, "retention_days": 14},
    )
    post(
        f"/api/v1/owners/{owner['id']}/consents",
        {
            "scope": "auto_approve",
            "valid_from": "2025-01-01T00:00:00Z",
            "terms_version": "1",
            "legal_basis": "Thỏa thuận",
        },
    )
    people = {}
    for role, extra in (("investigator", {"unit_id": unit["id"]}), ("owner", {"owner_id": owner["id"]})):
        email = f"{role}-{uuid.uuid4().hex[:6]}@example.org"
        post("/api/v1/users", {"email": email, "password": PASSWORD, "full_name": "Người thử", "role": role, **extra})
        people[role] = _token(http, email, PASSWORD)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    case = post(
        "/api/v1/cases",
        {
            "number": f"KILL-{uuid.uuid4().hex[:6]}",
            "title": "Trộm cắp",
            "offence": "theft",
            "incident_lat": 10.77,
            "incident_lon": 106.70,
            "incident_start": t0.isoformat(),
            "incident_end": (t0 + timedelta(minutes=5)).isoformat(),
        },
        people["investigator"],
    )
    request = post(
        f"/api/v1/cases/{case['id']}/requests",
        {
            "camera_id": camera["id"],
            "window_start": (t0 + timedelta(seconds=5)).isoformat(),
            "window_end": (t0 + timedelta(seconds=40)).isoformat(),
            "purpose": "Xác định người trộm",
            "legal_basis": "Điều 88 BLTTHS",
        },
        people["investigator"],
    )
    return people["investigator"], people["owner"], str(request["id"]), t0


def _workdirs(scratch: Path) -> list[Path]:
    return sorted(scratch.glob(TEMP_PREFIX + "*"))


def test_a_service_killed_mid_clip_makes_one_clip_after_restart_and_leaves_no_working_copy(tmp_path: Path) -> None:
    # A transport stream is copied whole into the job's working folder before it is cut: a large one keeps the
    # job busy long enough to be killed in the middle.
    video = _video(
        tmp_path / "rec.ts",
        60,
        ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-g", "50", "-c:a", "aac"],
        "1280x720",
    )
    with scratch_directory() as root:
        data_dir, scratch = root / "data", root / "tmp"
        scratch.mkdir()
        first = _serve(data_dir, scratch)
        try:
            with httpx.Client(base_url=first.base, timeout=120) as http:
                investigator, owner, request_id, t0 = _approved_request(http)
                uploaded = http.put(
                    f"/api/v1/requests/{request_id}/original",
                    content=video.read_bytes(),
                    headers={**owner, "X-Filename": "rec.ts", "X-Recording-Start": t0.isoformat()},
                )
                assert uploaded.status_code == 201, uploaded.text
            deadline = time.monotonic() + 60
            while not _workdirs(scratch) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _workdirs(scratch), "the clip job never started"
            os.kill(first.process.pid, signal.SIGKILL)  # in the middle of the cut
            first.process.wait(30)
            [killed] = _workdirs(scratch)
            assert killed.name.startswith(f"{TEMP_PREFIX}{first.process.pid}-")

            second = _serve(data_dir, scratch)
            try:
                assert len(embedded.seaweedfs_processes(data_dir)) == 1
                with httpx.Client(base_url=second.base, timeout=60) as http:
                    deadline = time.monotonic() + 180  # the clip sweep (every minute) finds the request
                    while True:
                        detail = http.get(f"/api/v1/requests/{request_id}", headers=investigator).json()
                        if detail["status"] == "clip_ready" or time.monotonic() > deadline:
                            break
                        time.sleep(1)
                    assert detail["status"] == "clip_ready", detail
                    assert len(detail["clips"]) == 1, detail["clips"]
                assert _workdirs(scratch) == []  # the dead job's working copy is gone
                assert len(embedded.seaweedfs_processes(data_dir)) == 1
            finally:
                stop_service(second)
        finally:
            stop_service(first)
            clean_up(data_dir)
