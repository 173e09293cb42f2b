"""`footage demo`'s province: every account signs in, the story's requests stand in the states the README names,
the clips are real, another unit's case stays out of sight, a second build changes nothing and the log verifies."""

from __future__ import annotations

import stat

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.db import session_factory
from app.custody.models import CustodyEvent
from app.custody.verify import verify_log
from app.demo import province
from app.footage.models import Clip


def test_the_demo_province_is_lived_in_and_built_once(client: TestClient) -> None:
    with session_factory()() as session:  # the suite's database holds other tests' clips (appeal clips among them)
        clips_before = session.scalar(select(func.count()).select_from(Clip)) or 0
    built = province.build()
    assert not built.already
    assert {account.role.value for account, _ in built.accounts} == {
        "admin", "investigator", "supervisor", "auditor", "owner"
    }  # fmt: skip
    assert set(built.requests.values()) >= {
        "submitted", "approved", "partially_approved", "denied", "expired", "cancelled",
        "footage_mismatch", "needs_conversion", "clip_ready", "closed",
    }  # fmt: skip
    assert built.clips == 3
    with session_factory()() as session:
        assert session.scalar(select(func.count()).select_from(Clip)) == clips_before + 3

    # the passwords are kept for the user alone, and each printed account signs in
    mode = province.accounts_file().stat().st_mode
    assert not mode & (stat.S_IRWXG | stat.S_IRWXO)
    tokens = {}
    for account, password in built.accounts:
        if account.role.value in ("admin", "auditor"):
            continue  # staff with a second factor enrol it at their first sign-in
        answer = client.post("/api/v1/auth/token", data={"username": account.email, "password": password})
        assert answer.status_code == 200, (account.email, answer.text)
        tokens[account.email] = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    mine = client.get("/api/v1/cases", headers=tokens["dieutra@demo.example.org"]).json()["items"]
    numbers = {case["number"].rsplit("-", 1)[-1] for case in mine}
    assert {"0142", "0117"} <= numbers and "0208" not in numbers
    theirs = client.get("/api/v1/cases", headers=tokens["dieutra2@demo.example.org"]).json()["items"]
    assert {case["number"].rsplit("-", 1)[-1] for case in theirs} == {"0208"}
    owner = client.get("/api/v1/requests", headers=tokens["chucamera@demo.example.org"]).json()["items"]
    assert [r["status"] for r in owner] == ["clip_ready"]  # the owner sees the request for her own camera

    again = province.build()
    assert again.already
    assert {a.email: p for a, p in again.accounts} == {a.email: p for a, p in built.accounts}
    with session_factory()() as session:
        assert session.scalar(select(func.count()).where(CustodyEvent.action == province.DONE)) == 1
        result = verify_log(session, include_objects=True)
    assert result.ok, result.problems
