"""Test session: real PostgreSQL (TEST_DATABASE_URL, else 127.0.0.1:5432, else the embedded one), a real
SeaweedFS started for the session, and the real ffmpeg. Nothing here is mocked."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core import clock, embedded, storage
from app.core.config import override_settings
from app.core.db import dispose_engine
from tests.services import fresh_database, seaweedfs, server_reachable

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER  # tests may read the environment
    if server_reachable(url):
        yield url
        return
    pg = embedded.start_postgres(tmp_path_factory.mktemp("pg"))
    try:
        yield pg.url
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    with fresh_database(pg_server_url) as url:
        yield url


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[embedded.EmbeddedS3]:
    with seaweedfs(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="session")
def configured(database_url: str, s3_server: embedded.EmbeddedS3, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Point the app's settings at the session's database and S3 server."""
    override_settings(
        database_url=database_url,
        s3_endpoint=s3_server.endpoint,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
        s3_secure=False,
        s3_bucket="evidence-test",
        data_dir=Path(tmp_path_factory.mktemp("data")),
    )
    dispose_engine()
    storage.reset_storage()
    storage.get_storage().ensure_bucket(create=True)
    return database_url


# What a problem's words must never carry: they are read by owners and officers, not by the people who run the
# server. Internal addresses (presigned storage URLs), file-system paths and exception names stay in the log.
LEAKS = re.compile(r"https?://|/tmp/|/work/|/root/|\.py\b|\b\w*(?:Error|Exception):|Exception\b|Traceback")


def problem_leaks(response: httpx.Response) -> list[str]:
    """The words of a problem+json answer (`detail`, `errors[].message`) that leak server internals."""
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return []
    response.read()
    if not response.content:  # a HEAD answer carries the headers only
        return []
    body = json.loads(response.content)
    words = [str(body.get("detail") or "")]
    words += [str(e.get("message") or "") for e in body.get("errors") or [] if isinstance(e, dict)]
    return [w for w in words if LEAKS.search(w)]


def refuse_leaking_problems(response: httpx.Response) -> None:
    leaks = problem_leaks(response)
    if leaks:
        raise AssertionError(f"{response.request.method} {response.request.url.path}: problem words leak: {leaks}")


@pytest.fixture()
def client(configured: str) -> Iterator[TestClient]:
    from app.main import create_app

    # An address of each test's own: the per-address sign-in limit counts one test's failures, not the suite's.
    address = f"testclient-{secrets.token_hex(4)}"
    with TestClient(create_app(), client=(address, 50000)) as test_client:
        test_client.event_hooks["response"].append(refuse_leaking_problems)
        yield test_client


@pytest.fixture()
def frozen_clock() -> Iterator[clock.FrozenClock]:
    from datetime import UTC, datetime

    frozen = clock.FrozenClock(datetime(2026, 3, 14, 1, 59, 26, tzinfo=UTC))
    clock.set_clock(frozen)
    try:
        yield frozen
    finally:
        clock.set_clock(None)


@pytest.fixture()
def isolated_client(configured: str, pg_server_url: str) -> Iterator[TestClient]:
    """The app on a fresh database of this test's own: for whole-database checks (custody verification) that
    rows other tests write on purpose (tampering, orphans) must not reach."""
    from app.core.config import get_settings
    from app.main import create_app

    previous = get_settings().database_url
    with fresh_database(pg_server_url) as url:
        override_settings(database_url=url)
        dispose_engine()
        try:
            with TestClient(create_app(), client=(f"testclient-{secrets.token_hex(4)}", 50000)) as test_client:
                test_client.event_hooks["response"].append(refuse_leaking_problems)
                yield test_client
        finally:
            override_settings(database_url=previous)
            dispose_engine()
