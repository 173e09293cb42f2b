"""PostgreSQL restarted under load: the running service answers 503 (never 500) while the database is down and
serves again once it is back, without being restarted."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

from app.core import embedded, migrate
from app.core.config import get_settings
from tests.services import FIRST_ADMIN_TOTP_SECRET, first_admin_code

ADMIN_PASSWORD = "database fault test password"


def _serve(database_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    settings = get_settings()
    port = embedded.free_ports(1)[0]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "S3_ENDPOINT": str(settings.s3_endpoint),
        "S3_ACCESS_KEY": str(settings.s3_access_key),
        "S3_SECRET_KEY": str(settings.s3_secret_key),
        "S3_BUCKET": settings.s3_bucket,
        "DATA_DIR": str(data_dir),
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ADMIN_TOTP_SECRET": FIRST_ADMIN_TOTP_SECRET,
        "LOG_LEVEL": "warning",
    }
    process = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), "--no-with-worker"], env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the service did not become ready")


def test_postgres_restart_under_load_the_service_recovers_by_itself(configured: str, tmp_path: Path) -> None:
    pg = embedded.start_postgres(tmp_path / "pg")
    migrate.upgrade("heads", database_url=pg.url)
    process, base = _serve(pg.url, tmp_path / "data")
    try:
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": get_settings().admin_email, "password": ADMIN_PASSWORD, "totp_code": first_admin_code()},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        missing = uuid.uuid4()
        phase = {"now": "before"}
        seen: Counter[tuple[str, int]] = Counter()
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
                while not stop.is_set():
                    # the token check, the request list, a request's detail (404 here: none is filed) and the
                    # coverage search all read on the read pool
                    for path in (
                        "/api/v1/me",
                        "/api/v1/requests?limit=5",
                        f"/api/v1/requests/{missing}",
                        "/api/v1/cameras?lat=10.7769&lon=106.7009&radius_m=500",
                    ):
                        try:
                            seen[(phase["now"], http.get(path).status_code)] += 1
                        except httpx.HTTPError:
                            seen[(phase["now"], 0)] += 1

        workers = [threading.Thread(target=load) for _ in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(1.5)
        phase["now"] = "down"
        pg.stop()
        time.sleep(2.5)
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 503 and "database" in ready.json()["detail"]
        pg = embedded.start_postgres(tmp_path / "pg")
        phase["now"] = "after"
        deadline = time.monotonic() + 20
        while seen[("after", 200)] < 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        for worker in workers:
            worker.join()
        assert process.poll() is None, "the service kept running"
        assert seen[("before", 200)] > 0
        assert seen[("down", 503)] > 0, seen
        assert seen[("after", 200)] >= 20, seen
        assert not [key for key in seen if key[1] >= 500 and key[1] != 503], seen
        assert not [key for key in seen if key[1] == 0], seen  # every request got an answer
        assert httpx.get(f"{base}/readyz").status_code == 200
    finally:
        process.terminate()
        process.wait(30)
        pg.stop()
