"""Times leave the service in UTC whatever time zone the PostgreSQL server or the client environment defaults to:
every connection the service opens pins its session's TimeZone (API.md: times are stored UTC)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.core.db import dispose_engine, session_factory
from app.core.queue import libpq_url
from tests.footage.test_footage import approved_request

# An instant with its offset, as the API renders it ("...T01:02:03Z", "...T01:02:03.5+07:00").
STAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:\d{2})")


def _instants(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(key, offset) of every instant in a JSON document, except the fields the API renders in the camera's own
    local time on purpose (`*_local`)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _instants(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _instants(v, key)
    elif isinstance(value, str) and not key.endswith("_local") and (match := STAMP.fullmatch(value)):
        yield key, match.group(2)


def _database_time_zone(url: str, zone: str | None) -> None:
    name = make_url(url).database
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        if zone is None:
            conn.execute(sql.SQL("ALTER DATABASE {} RESET TimeZone").format(sql.Identifier(name)))
        else:
            conn.execute(sql.SQL("ALTER DATABASE {} SET TimeZone = {}").format(sql.Identifier(name), sql.Literal(zone)))


@pytest.fixture()
def local_zone_client(configured: str) -> Iterator[TestClient]:
    """A service on a database whose sessions default to Vietnam's time zone, as a server installed on a machine
    in that zone is set up (initdb writes the machine's zone into postgresql.conf)."""
    from app.main import create_app

    _database_time_zone(configured, "Asia/Ho_Chi_Minh")
    dispose_engine()  # connections opened before the change would hide the default
    try:
        with TestClient(create_app()) as client:
            yield client
    finally:
        _database_time_zone(configured, None)
        dispose_engine()


def test_the_default_really_is_another_zone(local_zone_client: TestClient, configured: str) -> None:
    """The check below means something: a plain connection to that database is not in UTC."""
    with psycopg.connect(libpq_url(configured)) as conn:
        row = conn.execute("SHOW TimeZone").fetchone()
    assert row == ("Asia/Ho_Chi_Minh",)


def test_every_time_in_a_request_detail_is_utc(local_zone_client: TestClient) -> None:
    investigator, _, request_id, _ = approved_request(local_zone_client)
    with session_factory()() as session:
        assert session.execute(text("SHOW TimeZone")).scalar_one() == "UTC"

    detail = local_zone_client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers)
    listing = local_zone_client.get("/api/v1/requests", headers=investigator.headers)
    assert detail.status_code == 200, detail.text
    assert listing.status_code == 200, listing.text
    for body in (detail.json(), listing.json()):
        found = list(_instants(body))
        assert {"window_start", "window_end", "created_at"} <= {key for key, _ in found}, body
        assert [(key, offset) for key, offset in found if offset not in ("Z", "+00:00")] == []
    # The history is built inside PostgreSQL (json_agg), where the session's zone decides the text.
    history = detail.json()["history"]
    assert history, detail.text
    assert all(h["at"].endswith(("Z", "+00:00")) for h in history), history
