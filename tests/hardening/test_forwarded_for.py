"""X-Forwarded-For is believed only from TRUSTED_PROXIES: a client cannot choose the address that sign-in limits,
security events and custody record. Runs `footage serve` for real, since uvicorn reads the header."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.core import embedded
from tests.services import fresh_database
from tests.web.browser import live_service

FORGED = "203.0.113.9"


def _failure_addresses(database_url: str, email: str) -> list[str | None]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT client_address FROM security_events WHERE kind = 'login_failure' AND email = :email"),
                {"email": email},
            )
            return [row[0] for row in rows]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("trusted", "expected"), [(None, "127.0.0.1"), ('["127.0.0.1"]', FORGED)])
def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    pg_server_url: str,
    s3_server: embedded.EmbeddedS3,
    tmp_path: Path,
    trusted: str | None,
    expected: str,
) -> None:
    settings = {"TRUSTED_PROXIES": trusted} if trusted else {}
    email = "nobody@example.org"
    with (
        fresh_database(pg_server_url) as url,
        live_service(url, s3_server, "evidence-proxy", tmp_path, **settings) as service,
        httpx.Client(base_url=service.base, timeout=30) as http,
    ):
        refused = http.post(
            "/api/v1/auth/token",
            data={"username": email, "password": "wrong password"},
            headers={"X-Forwarded-For": FORGED},
        )
        assert refused.status_code == 401, refused.text
        assert _failure_addresses(url, email) == [expected]
