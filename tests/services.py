"""Real backing services for the tests: a PostgreSQL database per session and a SeaweedFS S3 server."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from app.core import embedded


def admin_dsn(url: str) -> str:
    """A libpq DSN for the maintenance database of the server `url` points at."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql", database="postgres")
    return parsed.render_as_string(hide_password=False)


def server_reachable(url: str) -> bool:
    try:
        with psycopg.connect(admin_dsn(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def create_database(server_url: str, prefix: str = "footage_test") -> str:
    """Create an empty database on the server; return its SQLAlchemy URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_dsn(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parsed = make_url(server_url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(admin_dsn(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(server_url: str, *, migrate: bool = True) -> Iterator[str]:
    from app.core import migrate as migrations

    url = create_database(server_url)
    try:
        if migrate:
            migrations.upgrade("heads", database_url=url)
        yield url
    finally:
        drop_database(url)


@contextmanager
def seaweedfs(data_dir: Path) -> Iterator[embedded.EmbeddedS3]:
    server = embedded.start_seaweedfs(data_dir)
    try:
        yield server
    finally:
        server.stop()


def wait_until_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    """Poll `base`/readyz until it answers 200; fail if the service exits or the time runs out."""
    import httpx

    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the service did not become ready")
        time.sleep(0.3)


# The first admin of a served instance starts enrolled with this authenticator secret (ADMIN_TOTP_SECRET), so the
# tests that run `footage serve` sign in as that admin through the API with a code.
FIRST_ADMIN_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def first_admin_code() -> str:
    """The first admin's current TOTP code (the served process runs on the real clock)."""
    import pyotp

    return pyotp.TOTP(FIRST_ADMIN_TOTP_SECRET).now()
