"""A PostgreSQL that stops answering (frozen with SIGSTOP: the connections stay open, nothing comes back) does
not hang the service: requests answer 503 with Retry-After within the configured timeouts, and the service
serves again after SIGCONT. The frozen server is one this test starts for itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from app.core import embedded, migrate
from app.core.config import get_settings
from tests.core.embedded_service import scratch_directory, wait_for
from tests.services import FIRST_ADMIN_TOTP_SECRET, first_admin_code

ADMIN_PASSWORD = "frozen database test password"
STATEMENT_TIMEOUT, CONNECT_TIMEOUT = 2, 2
# Longest a request may take while the database is frozen: a wait on a pooled connection (statement timeout +
# grace), then a new connection's timeout, with room for a loaded machine (without the timeouts a request
# waits as long as the freeze lasts: here, until the client gives up at 60 s).
BOUND = STATEMENT_TIMEOUT + 2 + CONNECT_TIMEOUT + 8


@pytest.fixture()
def own_postgres() -> Iterator[embedded.EmbeddedPostgres]:
    with scratch_directory() as scratch:
        pg = embedded.start_postgres(scratch / "pg")
        try:
            yield pg
        finally:
            pg.stop()


def _cluster_processes(pg_data: Path) -> list[psutil.Process]:
    [postmaster] = embedded.postgres_processes(pg_data)
    root = psutil.Process(postmaster)
    return [root, *root.children(recursive=True)]


def _serve(database_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    settings = get_settings()
    port = embedded.free_ports(1)[0]
    env = {
        **os.environ,  # tests may read the environment
        "DATABASE_URL": database_url,
        "S3_ENDPOINT": str(settings.s3_endpoint),
        "S3_ACCESS_KEY": str(settings.s3_access_key),
        "S3_SECRET_KEY": str(settings.s3_secret_key),
        "S3_BUCKET": settings.s3_bucket,
        "DATA_DIR": str(data_dir),
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ADMIN_TOTP_SECRET": FIRST_ADMIN_TOTP_SECRET,
        "LOG_LEVEL": "warning",
        "DATABASE_STATEMENT_TIMEOUT_SECONDS": str(STATEMENT_TIMEOUT),
        "DATABASE_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT),
    }
    process = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), "--no-with-worker"], env=env)
    base = f"http://127.0.0.1:{port}"
    if not wait_for(lambda: _status(f"{base}/readyz") == 200, 90):
        process.kill()
        raise RuntimeError("the service did not become ready")
    return process, base


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        return httpx.get(url, headers=headers, timeout=30).status_code
    except httpx.HTTPError:
        return 0


def test_a_frozen_postgres_gets_503_with_retry_after_in_time_and_recovers(
    configured: str, own_postgres: embedded.EmbeddedPostgres, tmp_path: Path
) -> None:
    migrate.upgrade("heads", database_url=own_postgres.url)
    pg_data = Path(str(own_postgres.server.pgdata)).parent  # type: ignore[attr-defined]
    process, base = _serve(own_postgres.url, tmp_path / "data")
    frozen: list[psutil.Process] = []
    try:
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": get_settings().admin_email, "password": ADMIN_PASSWORD, "totp_code": first_admin_code()},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        paths = ["/readyz", f"/api/v1/requests/{uuid.uuid4()}", "/api/v1/cases", "/api/v1/me"]
        for path in paths:  # every pool holds connections to the server before it freezes
            assert _status(base + path, headers) in {200, 404}, path

        frozen = _cluster_processes(pg_data)
        for proc in frozen:
            proc.send_signal(signal.SIGSTOP)
        for path in paths:
            started = time.monotonic()
            response = httpx.get(base + path, headers=headers, timeout=60)
            took = time.monotonic() - started
            assert response.status_code == 503, (path, response.status_code, response.text)
            assert response.headers.get("Retry-After"), path
            assert took < BOUND, f"{path} took {took:.1f}s"
        assert process.poll() is None
    finally:
        for proc in frozen:
            proc.send_signal(signal.SIGCONT)
    try:
        assert wait_for(lambda: _status(f"{base}/readyz") == 200, 30), "readiness did not recover after SIGCONT"
        for path in paths:
            assert wait_for(lambda p=path: _status(base + p, headers) in {200, 404}, 20), path  # type: ignore[misc]
    finally:
        process.terminate()
        process.wait(30)
