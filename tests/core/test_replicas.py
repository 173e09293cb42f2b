"""The service runs as many: two API replicas (`footage serve --no-with-worker`) and two workers (`footage worker`)
over one PostgreSQL and one S3, each with a data directory of its own, sharing only the settings (token secret,
custody signing key). A whole case is driven through both replicas alternately — a token, a page cookie and an
owner link from one work on the other — and a worker killed in the middle of a clip leaves exactly one clip, a
custody log that verifies and no orphan object."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth.models import Role
from app.core import embedded, media, storage
from app.core.config import get_settings, override_settings
from app.core.db import session_factory
from app.custody.verify import verify_log
from app.footage.cutting import TEMP_PREFIX
from app.footage.models import Clip
from app.footage.orphans import sweep_orphans
from app.footage.preview_models import Preview
from tests.factories import PASSWORD, give_consent, make_camera, make_owner, make_unit, make_user
from tests.services import wait_until_ready

PAPER = "Điều 88 Bộ luật Tố tụng hình sự"


@contextmanager
def _own_bucket() -> Iterator[str]:
    """A bucket of this test's own, so the orphan check sees only what the replicas stored."""
    previous = get_settings().s3_bucket
    bucket = f"replicas-{secrets.token_hex(4)}"
    override_settings(s3_bucket=bucket)
    storage.reset_storage()
    try:
        storage.get_storage().ensure_bucket(create=True)
        yield bucket
    finally:
        override_settings(s3_bucket=previous)
        storage.reset_storage()


def _signing_key(path: Path) -> Path:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    return path


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (ffmpeg runs as a child of the worker that cuts)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _cutting(worker: subprocess.Popen[bytes], tmp: Path) -> bool:
    """This worker is in the middle of a clip: a working copy exists and its ffmpeg runs."""
    if not any(p.name.startswith(TEMP_PREFIX) for p in tmp.iterdir()):
        return False
    for child in _children(worker.pid):
        try:
            if "ffmpeg" in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"):
                return True
        except OSError:
            continue
    return False


def test_two_api_replicas_and_two_workers_share_everything_but_their_process(
    isolated_client: TestClient, s3_server: embedded.EmbeddedS3, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        bucket = stack.enter_context(_own_bucket())
        ports = embedded.free_ports(2)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        shared_tmp = tmp_path / "tmp"
        shared_tmp.mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": str(get_settings().database_url),
            "S3_ENDPOINT": s3_server.endpoint,
            "S3_ACCESS_KEY": s3_server.access_key,
            "S3_SECRET_KEY": s3_server.secret_key,
            "S3_BUCKET": bucket,
            # what replicas share: the settings, never a data directory
            "TOKEN_SECRET": secrets.token_urlsafe(32),
            "SIGNING_KEY_PATH": str(_signing_key(tmp_path / "custody-ed25519.pem")),
            "PUBLIC_BASE_URL": bases[0],  # the address owners are sent to (a proxy's, in production)
            "ADMIN_EMAIL": "admin-replicas@example.org",
            "ADMIN_PASSWORD": secrets.token_urlsafe(16),
            "LOG_LEVEL": "warning",
            "TMPDIR": str(shared_tmp),
        }
        processes: list[subprocess.Popen[bytes]] = []

        def start(name: str, *args: str) -> subprocess.Popen[bytes]:
            data_dir = tmp_path / name
            process = subprocess.Popen(
                [sys.executable, "-m", "app", *args],
                env={**env, "DATA_DIR": str(data_dir)},
                stdout=(tmp_path / f"{name}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            processes.append(process)
            return process

        def stop_all() -> None:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()

        stack.callback(stop_all)
        for index, (base, port) in enumerate(zip(bases, ports, strict=True)):
            api = start(f"api-{index}", "serve", "--no-with-worker", "--port", str(port))
            wait_until_ready(base, api)
        workers = [start(f"worker-{index}", "worker") for index in range(2)]
        a, b = (httpx.Client(base_url=base, timeout=60) for base in bases)
        stack.callback(a.close)
        stack.callback(b.close)

        # people and the registry
        unit = make_unit()
        _, investigator_email = make_user(Role.investigator, unit_id=unit)
        owner = make_owner(name="Nhà thuốc Đỗ Lan", email="dolan-replicas@example.org")
        camera = make_camera(owner, lat=19.8077, lon=105.7764, label="Nhà thuốc Đỗ Lan — cổng trước")
        give_consent(owner, scope="on_request")

        # a token from one replica works on the other
        token = a.post("/api/v1/auth/token", data={"username": investigator_email, "password": PASSWORD})
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert b.get("/api/v1/me", headers=headers).json()["email"] == investigator_email
        # and so does a page session's cookie
        page = httpx.Client(base_url=bases[1], timeout=60)
        stack.callback(page.close)
        form = page.get("/login")
        csrf = _csrf(form.text)
        signed_in = page.post(
            "/login",
            data={"email": investigator_email, "password": PASSWORD, **({"csrf_token": csrf} if csrf else {})},
        )
        assert signed_in.status_code in (200, 303), signed_in.text[:300]
        on_a = httpx.get(f"{bases[0]}/cases", cookies=page.cookies, timeout=60, follow_redirects=False)
        assert on_a.status_code == 200, on_a.status_code

        # a case on one, its request on the other
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        case = a.post(
            "/api/v1/cases",
            headers=headers,
            json={
                "number": f"VV-REPL-{secrets.token_hex(3)}",
                "title": "Cướp giật trên đường Trần Phú",
                "offence": "Cướp giật tài sản",
                "incident_lat": 19.8077,
                "incident_lon": 105.7764,
                "incident_start": (t0 + timedelta(seconds=20)).isoformat(),
                "incident_end": (t0 + timedelta(seconds=60)).isoformat(),
            },
        )
        assert case.status_code == 201, case.text
        filed = b.post(
            f"/api/v1/cases/{case.json()['id']}/requests",
            headers=headers,
            json={
                "camera_id": str(camera),
                "window_start": (t0 + timedelta(seconds=10)).isoformat(),
                "window_end": (t0 + timedelta(seconds=100)).isoformat(),
                "purpose": "Xác định đối tượng",
                "legal_basis": PAPER,
            },
        )
        assert filed.status_code == 201, filed.text
        request_id = filed.json()["id"]

        # an owner link issued by one replica is read, answered and used on both
        link = a.post(f"/api/v1/requests/{request_id}/links", headers=headers)
        assert link.status_code == 201, link.text
        owner_token = link.json()["url"].rstrip("/").rsplit("/", 1)[-1]
        assert b.get(f"/api/v1/respond/{owner_token}").status_code == 200
        assert b.post(f"/api/v1/respond/{owner_token}/approve", json={}).status_code == 200
        recording = tmp_path / "nvr-export.mp4"
        media.run_ffmpeg(
            [
                "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=120",
                "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-b:v", "6M", "-y", str(recording),
            ]
        )  # fmt: skip
        with recording.open("rb") as body:
            uploaded = a.put(
                f"/api/v1/respond/{owner_token}/original",
                headers={"X-Filename": recording.name, "X-Recording-Start": t0.isoformat()},
                content=body,
            )
        assert uploaded.status_code == 201, uploaded.text

        # whichever worker cuts the clip is killed in the middle of it
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline:
            for worker in workers:
                if worker.poll() is None and _cutting(worker, shared_tmp):
                    worker.send_signal(signal.SIGKILL)
                    worker.wait(10)
                    killed = worker
                    break
            else:
                time.sleep(0.01)
        assert killed is not None, "no worker was seen cutting the clip"

        # the other worker's sweep makes the clip, once; read through either replica
        deadline = time.monotonic() + 240
        status = ""
        while time.monotonic() < deadline:
            status = b.get(f"/api/v1/requests/{request_id}", headers=headers).json()["status"]
            if status == "clip_ready":
                break
            time.sleep(2)
        assert status == "clip_ready", status
        assert a.get(f"/api/v1/requests/{request_id}", headers=headers).json()["status"] == "clip_ready"
        # verified with the replicas' key: the workers may have signed a checkpoint with it meanwhile
        previous_key = get_settings().signing_key_path
        override_settings(signing_key_path=Path(env["SIGNING_KEY_PATH"]))
        stack.callback(override_settings, signing_key_path=previous_key)
        with session_factory()() as session:
            assert session.scalar(select(func.count()).select_from(Clip).where(Clip.request_id == request_id)) == 1
        # the clip's poster and strip follow it (a job of their own): their objects are stored before their rows
        # commit, so the orphan check waits for the rows rather than judge a job in flight
        deadline = time.monotonic() + 240
        previews = select(func.count()).select_from(Preview).join(Clip, Clip.id == Preview.clip_id)
        while True:
            with session_factory()() as session:
                if session.scalar(previews.where(Clip.request_id == request_id)):
                    break
            assert time.monotonic() < deadline, "the clip's previews were not made"
            time.sleep(1)
        with session_factory()() as session:
            result = verify_log(session, include_objects=True)
            assert result.ok, result.problems
            orphans = sweep_orphans(session, grace=timedelta(0), remove=False)
        assert orphans.clean, orphans.as_dict()


def _csrf(html: str) -> str | None:
    marker = 'name="csrf_token" value="'
    if marker not in html:
        return None
    return html.split(marker, 1)[1].split('"', 1)[0]
