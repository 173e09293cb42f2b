"""The embedded backends are supervised: a SeaweedFS that dies is restarted by the service, a killed service's
leftovers are stopped or reused by the next start (never two servers on one data directory), and a stale pid
file does not leave PostgreSQL running. Real processes, real signals."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core import embedded
from tests.core.embedded_service import scratch_directory, start_service, stop_service, wait_for


@pytest.fixture()
def scratch() -> Iterator[Path]:
    with scratch_directory() as path:
        yield path


def test_a_killed_seaweedfs_is_restarted_and_readiness_recovers(scratch: Path) -> None:
    service = start_service(scratch / "data")
    try:
        [old] = embedded.seaweedfs_processes(service.data_dir)
        os.kill(old, signal.SIGKILL)
        assert wait_for(lambda: not embedded.process_alive(old), 10)
        assert wait_for(lambda: _ready(service.base), 60), "readiness did not recover without a restart"

        def recorded_and_running() -> bool:
            # On a loaded machine the supervisor may restart more than once; the record follows the last start.
            record = embedded.read_record(service.data_dir)
            running = embedded.seaweedfs_processes(service.data_dir)
            return record is not None and running == [record.seaweedfs_pid] and record.pid == service.process.pid

        assert wait_for(recorded_and_running, 30)
        [new] = embedded.seaweedfs_processes(service.data_dir)
        assert new != old
        assert service.process.poll() is None
        assert "restarting it" in service.text()
    finally:
        stop_service(service)
    assert embedded.seaweedfs_processes(service.data_dir) == []
    assert wait_for(lambda: embedded.postgres_processes(service.data_dir) == [], 30)


def test_first_start_shows_the_first_admin_in_a_box_and_a_private_file(scratch: Path) -> None:
    service = start_service(scratch / "data")
    try:
        assert wait_for(lambda: "First admin" in service.text(), 20)
        output = service.text()
        credentials = service.data_dir / "first-admin.txt"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        email, password = credentials.read_text().splitlines()
        # The box comes after the server's own start-up lines, and names the file.
        assert output.index("First admin") > output.index("Application startup complete")
        box = output[output.rindex("+-", 0, output.index("First admin")) :]
        assert f"email:    {email}" in box and f"password: {password}" in box and str(credentials) in box
        assert f"Owner links use {service.base}" in box  # PUBLIC_BASE_URL followed --port
        token = httpx.post(f"{service.base}/api/v1/auth/token", data={"username": email, "password": password})
        # The password is right; an admin sets up the authenticator on the sign-in page before the first token.
        assert token.status_code == 403, token.text
        assert token.json()["type"].endswith("/totp-enrolment-required")
    finally:
        stop_service(service)
    again = start_service(service.data_dir)
    try:
        assert wait_for(lambda: "Serving on" in again.text(), 20)
        assert "password:" not in again.text()  # shown once: the admin exists now
    finally:
        stop_service(again)


def test_after_sigkill_of_the_service_a_new_start_runs_one_of_each_and_stops_them(scratch: Path) -> None:
    first = start_service(scratch / "data")
    [weed] = embedded.seaweedfs_processes(first.data_dir)
    [postmaster] = embedded.postgres_processes(first.data_dir)
    # A SeaweedFS that does not go away with its parent (stopped: the kernel's SIGTERM stays pending).
    os.kill(weed, signal.SIGSTOP)
    stop_service(first, signal.SIGKILL)
    assert embedded.process_alive(weed) and embedded.process_alive(postmaster)

    second = start_service(first.data_dir)
    try:
        assert not embedded.process_alive(weed), "the leftover SeaweedFS still runs"
        assert len(embedded.seaweedfs_processes(second.data_dir)) == 1
        assert embedded.postgres_processes(second.data_dir) == [postmaster]  # the leftover PostgreSQL, reused
        record = embedded.read_record(second.data_dir)
        assert record is not None and record.pid == second.process.pid
    finally:
        stop_service(second)
    # The dead service's handle on PostgreSQL does not keep it running after the new one stops.
    assert embedded.seaweedfs_processes(second.data_dir) == []
    assert wait_for(lambda: embedded.postgres_processes(second.data_dir) == [], 30), "PostgreSQL left running"
    assert embedded.read_record(second.data_dir) is None


def test_a_stale_postmaster_pid_naming_another_process_does_not_stop_a_start(scratch: Path) -> None:
    data_dir = scratch / "data"
    data_dir.mkdir()
    pg = embedded.start_postgres(data_dir)
    pid_file = data_dir / "postgres" / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    pg.stop()
    assert wait_for(lambda: embedded.postgres_processes(data_dir) == [], 30)
    # The pid a crashed postmaster left behind now belongs to an unrelated process.
    unrelated = subprocess.Popen(["sleep", "120"])
    try:
        pid_file.write_text("\n".join([str(unrelated.pid), *lines[1:]]) + "\n")
        pg = embedded.start_postgres(data_dir)
        try:
            assert embedded.postgres_answers(pg.url)
            # a just-forked child shows the postmaster's command line until it names itself: count once settled
            assert wait_for(lambda: len(embedded.postgres_processes(data_dir)) == 1, 10)
        finally:
            pg.stop()
        assert wait_for(lambda: embedded.postgres_processes(data_dir) == [], 30)
        assert unrelated.poll() is None  # not ours: left alone
    finally:
        unrelated.kill()
        unrelated.wait()


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
