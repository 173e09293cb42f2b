"""Schemathesis over the live OpenAPI description of the running service (real PostgreSQL and S3), every
operation, as an admin and as an investigator: no 5xx, no response outside the documented schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core import migrate
from app.core.config import get_settings
from tests.hardening.fuzzing import run_schemathesis, running_service, tokens
from tests.services import create_database, drop_database

MAX_EXAMPLES = 15  # bounded for the suite; bench/fuzz.py runs more


@pytest.fixture(scope="module")
def service(pg_server_url: str, configured: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    # A database of its own: the fuzzer fills it with arbitrary owners, cameras and users.
    url = create_database(pg_server_url, prefix="fuzz")
    migrate.upgrade("heads", database_url=url)
    settings = get_settings()
    env = {
        "DATABASE_URL": url,
        "S3_ENDPOINT": str(settings.s3_endpoint),
        "S3_ACCESS_KEY": str(settings.s3_access_key),
        "S3_SECRET_KEY": str(settings.s3_secret_key),
        "S3_BUCKET": settings.s3_bucket,
    }
    try:
        with running_service(env, tmp_path_factory.mktemp("fuzz")) as running:
            yield running
    finally:
        drop_database(url)


@pytest.mark.parametrize("role", ["admin", "investigator"])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(service, role: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, output = run_schemathesis(service.base, tokens_of(service.base)[role], max_examples=MAX_EXAMPLES, seed=7)
    assert code == 0, output[-15000:]


@pytest.mark.parametrize("role", ["admin", "investigator"])
def test_non_finite_numbers_and_extreme_dates_in_any_field_are_no_server_error(service, role: str) -> None:  # type: ignore[no-untyped-def]
    """Every header set, query and body the fuzzer makes carries NaN, an infinity, 0001-01-01 or
    9999-12-31T23:00:00Z in one of its fields: refused or taken, never a 500."""
    code, output = run_schemathesis(
        service.base, tokens_of(service.base)[role], max_examples=MAX_EXAMPLES, seed=11, extremes=True
    )
    assert code == 0, output[-15000:]


_tokens: dict[str, dict[str, str]] = {}


def tokens_of(base: str) -> dict[str, str]:
    if base not in _tokens:
        _tokens[base] = tokens(base)
    return _tokens[base]
