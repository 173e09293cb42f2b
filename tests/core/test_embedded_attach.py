"""With `footage serve` running on the embedded default, the other commands use its PostgreSQL and SeaweedFS
instead of starting a second pair on the same data directory; without it they start their own, only what
they need, and replace a stale record."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from app.core import embedded
from tests.core.embedded_service import (
    Service,
    clean_up,
    embedded_environment,
    footage,
    scratch_directory,
    start_service,
    stop_service,
    wait_for,
)


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    with scratch_directory() as scratch:
        running = start_service(scratch / "data")
        try:
            yield running
        finally:
            stop_service(running)


def _libpq(url: str) -> str:
    from app.core.db import normalise_url

    return normalise_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def test_the_service_records_its_backends(service: Service) -> None:
    record = embedded.read_record(service.data_dir)
    assert record is not None and record.pid == service.process.pid and record.attachable
    assert record.database_url and record.s3_endpoint and record.seaweedfs_pid
    assert record.s3_credentials == str(service.data_dir / "s3-credentials.json")
    assert "secret" not in (service.data_dir / "backends.json").read_text()  # a reference, not the keys
    assert stat.S_IMODE((service.data_dir / "backends.json").stat().st_mode) == 0o600
    assert embedded.seaweedfs_processes(service.data_dir) == [record.seaweedfs_pid]


def test_cli_commands_use_the_running_service_backends(service: Service) -> None:
    weed_log = (service.data_dir / "seaweedfs.log").read_bytes()
    pg_log = (service.data_dir / "postgres" / "log").read_bytes()
    served = service.text()
    weed = embedded.seaweedfs_processes(service.data_dir)
    postmaster = embedded.postgres_processes(service.data_dir)
    assert len(weed) == 1 and len(postmaster) == 1

    made = footage(
        service.data_dir, "create-user", "officer@example.org", "--password", "a long enough password",
        "--role", "auditor",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "created auditor officer@example.org" in made.stdout

    seeded = footage(service.data_dir, "demo", "--owners", "4", "--cameras", "12")
    assert seeded.returncode == 0, seeded.stderr
    assert "seeded" in seeded.stdout and "built cases" in seeded.stdout  # the story, beside the running worker
    assert f"Sign in at {service.base}/login" in seeded.stdout  # the served address, not the default port

    record = embedded.read_record(service.data_dir)
    assert record is not None and record.database_url
    with psycopg.connect(_libpq(record.database_url)) as conn:
        row = conn.execute("SELECT id FROM owners LIMIT 1").fetchone()
    assert row is not None
    cameras = service.data_dir.parent / "cameras.csv"
    cameras.write_text(
        f"external_id,owner_id,label,lat,lon,retention_days\nbeside-1,{row[0]},Ngõ 5 Hàng Gai,21.03,105.85,10\n",
        encoding="utf-8",
    )
    imported = footage(service.data_dir, "import-cameras", str(cameras))
    assert imported.returncode == 0, imported.stderr
    assert "created 1, updated 0, refused 0" in imported.stdout

    verified = footage(service.data_dir, "verify-custody")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip().endswith("OK")

    # Still the one SeaweedFS and the one PostgreSQL of the service, whose logs only grew.
    assert embedded.seaweedfs_processes(service.data_dir) == weed
    assert embedded.postgres_processes(service.data_dir) == postmaster
    assert (service.data_dir / "seaweedfs.log").read_bytes().startswith(weed_log)
    assert (service.data_dir / "postgres" / "log").read_bytes().startswith(pg_log)
    assert service.text().startswith(served)
    assert "SeaweedFS exited early" not in service.text()
    assert service.process.poll() is None
    assert httpx.get(f"{service.base}/readyz", timeout=10).status_code == 200
    # The user made beside the service is known to it: the password is right, and an auditor is then asked to set
    # up the second factor (a wrong password would be a 401).
    token = httpx.post(
        f"{service.base}/api/v1/auth/token",
        data={"username": "officer@example.org", "password": "a long enough password"},
    )
    assert token.status_code == 403 and token.json()["type"].endswith("/totp-enrolment-required"), token.text
    # and the demo's investigator, made beside it too, signs in with the password the demo printed
    accounts = (service.data_dir / "demo-accounts.txt").read_text(encoding="utf-8").splitlines()
    password = next(line.split("\t")[2] for line in accounts if line.split("\t")[1] == "dieutra@demo.example.org")
    assert password in seeded.stdout
    signed_in = httpx.post(
        f"{service.base}/api/v1/auth/token", data={"username": "dieutra@demo.example.org", "password": password}
    )
    assert signed_in.status_code == 200, signed_in.text


def test_a_second_service_on_the_same_data_directory_is_refused(service: Service) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", str(embedded.free_ports(1)[0])],
        env=embedded_environment(service.data_dir),
        cwd=service.data_dir.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode != 0
    assert f"footage serve (pid {service.process.pid}) already runs" in second.stderr
    assert len(embedded.seaweedfs_processes(service.data_dir)) == 1


def test_without_the_service_a_stale_record_is_replaced_and_no_s3_is_started_needlessly(scratch: Path) -> None:
    data_dir = scratch / "data"
    data_dir.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    ports = embedded.free_ports(2)
    embedded.write_record(
        data_dir,
        embedded.BackendRecord(
            pid=dead_pid,
            start_ticks=1,
            attachable=True,
            database_url=f"postgresql+psycopg://postgres@127.0.0.1:{ports[0]}/footage",
            s3_endpoint=f"127.0.0.1:{ports[1]}",
            s3_credentials=str(data_dir / "s3-credentials.json"),
            seaweedfs_pid=dead_pid,
        ),
    )
    try:
        migrated = footage(data_dir, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        made = footage(
            data_dir, "create-user", "first@example.org", "--password", "a long enough password", "--role", "admin"
        )
        assert made.returncode == 0, made.stderr
        # Neither needs S3: no SeaweedFS was started (it would have made its directory and log).
        assert not (data_dir / "seaweedfs").exists() and not (data_dir / "seaweedfs.log").exists()

        verified = footage(data_dir, "verify-custody")  # needs S3: starts its own, then stops it
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert (data_dir / "seaweedfs.log").exists()
        assert embedded.read_record(data_dir) is None  # the stale record was replaced, then removed on exit
        assert embedded.seaweedfs_processes(data_dir) == []
        assert wait_for(lambda: embedded.postgres_processes(data_dir) == [], 30), "PostgreSQL left running"
    finally:
        clean_up(data_dir)


@pytest.fixture()
def scratch() -> Iterator[Path]:
    with scratch_directory() as path:
        yield path
