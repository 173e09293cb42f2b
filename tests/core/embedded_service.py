"""`footage serve` on the embedded default (no DATABASE_URL / S3_ENDPOINT), as a subprocess on a data directory
of its own, for the tests of how the embedded backends are found, shared and supervised."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.core import embedded
from app.core.config import PROJECT_ROOT

# The settings a test run may carry in its environment that would point the service elsewhere.
_FOREIGN = ("DATABASE_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET", "PUBLIC_BASE_URL")


def embedded_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _FOREIGN}  # tests may read it
    env.update(DATA_DIR=str(data_dir), PYTHONPATH=str(PROJECT_ROOT), LOG_LEVEL="info", **extra)
    return env


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    base: str
    data_dir: Path
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def start_service(data_dir: Path, *, port: int | None = None, wait: float = 150) -> Service:
    """Start `footage serve` in `data_dir` (also its working directory, so no `.env` is read) and wait until
    /readyz answers 200."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or embedded.free_ports(1)[0]
    output = data_dir.parent / f"serve-{port}.out"
    with output.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port), "--no-with-worker"],
            env=embedded_environment(data_dir),
            cwd=data_dir,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    service = Service(process, f"http://127.0.0.1:{port}", data_dir, output)
    deadline = time.monotonic() + wait
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


def stop_service(service: Service, sig: signal.Signals = signal.SIGTERM) -> None:
    if service.process.poll() is None:
        service.process.send_signal(sig)
        try:
            service.process.wait(60)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()


def footage(data_dir: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run one `footage` command beside the service, from another working directory, on the same DATA_DIR."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=embedded_environment(data_dir),
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def scratch_directory() -> Iterator[Path]:
    """A directory outside pytest's base temp: pytest makes that base private (0700) whenever a test session
    starts, which would shut out the unprivileged user the embedded PostgreSQL runs as when tests run as root."""
    path = Path(tempfile.mkdtemp(prefix="footage-embedded-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        clean_up(path / "data")
        shutil.rmtree(path, ignore_errors=True)


def clean_up(data_dir: Path) -> None:
    """Stop whatever a failed test may have left on the data directory (its own processes only)."""
    for pid in embedded.seaweedfs_processes(data_dir):
        embedded.stop_process(pid, timeout=5)
    for pid in embedded.postgres_processes(data_dir):
        embedded.stop_process(pid, timeout=10)


def wait_for(condition: object, seconds: float) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())
