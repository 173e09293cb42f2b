"""A damaged log is reported through the API, never answered with a 500: verification names the damage, and a
proof that cannot be computed says why."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.auth.models import Role
from app.core import storage
from app.core.config import get_settings, override_settings
from app.core.db import dispose_engine
from tests.custody.conftest import append, tamper
from tests.factories import account


@pytest.fixture()
def damaged_client(own_log: Engine) -> Iterator[TestClient]:
    """The app on a log database of this test's own, so the damage stays here."""
    from app.main import create_app

    before = get_settings()
    override_settings(database_url=own_log.url.render_as_string(hide_password=False))
    dispose_engine()
    try:
        with TestClient(create_app()) as client:
            yield client
    finally:
        override_settings(**before.model_dump())
        dispose_engine()
        storage.reset_storage()


def test_a_deleted_event_is_reported_by_verification_and_by_the_proofs(
    own_log: Engine, damaged_client: TestClient
) -> None:
    auditor = account(damaged_client, Role.auditor)
    seqs = append(own_log, 6)
    # The damage comes before any proof was served, so no cached copy of the log hides it.
    tamper(own_log, "DELETE FROM custody_events WHERE seq = :seq", seq=seqs[2])

    verified = damaged_client.post("/api/v1/custody/verify", headers=auditor.headers)
    assert verified.status_code == 200, verified.text
    outcome = verified.json()
    assert outcome["ok"] is False
    assert any(problem.get("seq") == seqs[2] for problem in outcome["problems"])

    for path, params in (
        ("/api/v1/custody/proof/inclusion", {"seq": seqs[-1]}),
        ("/api/v1/custody/proof/consistency", {"first": seqs[1], "second": seqs[-1]}),
    ):
        answer = damaged_client.get(path, params=params, headers=auditor.headers)
        assert answer.status_code == 409, (path, answer.status_code, answer.text)
        assert answer.json()["type"].endswith("/custody-log-damaged")
        assert "verify" in answer.json()["detail"]
