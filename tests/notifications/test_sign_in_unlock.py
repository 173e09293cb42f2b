"""A staff account held by the sign-in wait gets an unlock link by email (at most one per 15 minutes): opening it
changes nothing, its button lifts the wait once, and the account's owner signs in at once from a new address.
Owners' accounts get none; a used, expired or retired link is refused in plain words."""

from __future__ import annotations

import re
import secrets

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import Role, SecurityEvent
from app.core import clock
from app.core.db import session_factory
from app.notifications import service
from tests.factories import PASSWORD, make_owner, make_user
from tests.notifications.conftest import Inbox

WRONG = "not the password at all"


def _client() -> TestClient:
    from app.main import create_app

    return TestClient(create_app(), client=(f"203.0.113.{secrets.randbelow(250) + 1}-{secrets.token_hex(3)}", 50000))


def _guess_until_held(email: str, frozen_clock: clock.FrozenClock) -> int:
    """Strangers on fresh addresses guess until the account waits; the wait in seconds."""
    for _ in range(12):
        answer = _client().post("/api/v1/auth/token", data={"username": email, "password": WRONG})
        if answer.status_code == 429:
            return int(answer.headers["retry-after"])
        assert answer.status_code == 401
        frozen_clock.advance(seconds=1)
    raise AssertionError("the account never waited")


def _unlock_mails(inbox: Inbox, email: str) -> list[str]:
    service.deliver_due(session_factory())
    links = []
    for message in inbox.messages:
        if message["To"] == email:
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            links += re.findall(r"https?://\S+/unlock/[A-Za-z0-9_.-]+", body.get_content())
    return links


def test_an_unlock_link_lifts_the_wait_once(
    configured: str, smtp_inbox: Inbox, frozen_clock: clock.FrozenClock
) -> None:
    _, email = make_user(Role.investigator)
    wait = _guess_until_held(email, frozen_clock)
    assert wait >= 1
    # more refused tries within the quarter hour send no second email
    assert _client().post("/api/v1/auth/token", data={"username": email, "password": WRONG}).status_code == 429
    [link] = _unlock_mails(smtp_inbox, email)
    [mail] = [m for m in smtp_inbox.messages if m["To"] == email]
    assert "Mở khóa đăng nhập" in str(mail["Subject"])
    path = "/unlock/" + link.rsplit("/unlock/", 1)[1]

    owner_here = _client()  # the account's owner, at an address the account never used
    assert owner_here.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD}).status_code == 429
    opened = owner_here.get(path)  # opening the link (as a mail scanner would) changes nothing
    assert opened.status_code == 200 and email in opened.text and 'id="unlock-form"' in opened.text
    assert owner_here.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD}).status_code == 429
    done = owner_here.post(path)
    assert done.status_code == 200 and 'id="unlock-done"' in done.text and "Đã mở khóa đăng nhập" in done.text
    assert owner_here.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD}).status_code == 200
    # once only
    again = owner_here.post(path)
    assert again.status_code == 410 and 'id="unlock-invalid"' in again.text
    assert owner_here.get(path).status_code == 410
    with session_factory()() as session:
        kinds = list(session.scalars(select(SecurityEvent.kind).where(SecurityEvent.email == email)))
    assert kinds.count("unlock_sent") == 1 and kinds.count("login_unlocked") == 1

    # a quarter hour later, a new round of guessing sends a new link
    frozen_clock.advance(seconds=16 * 60)
    _guess_until_held(email, frozen_clock)
    assert len(_unlock_mails(smtp_inbox, email)) == 2


def test_an_expired_link_is_refused_and_owners_get_none(
    configured: str, smtp_inbox: Inbox, frozen_clock: clock.FrozenClock
) -> None:
    _, email = make_user(Role.supervisor)
    _guess_until_held(email, frozen_clock)
    [link] = _unlock_mails(smtp_inbox, email)
    frozen_clock.advance(seconds=61 * 60)
    late = _client().post("/unlock/" + link.rsplit("/unlock/", 1)[1])
    assert late.status_code == 410 and "đã hết hạn" in late.text
    assert _client().get("/unlock/not-a-token").status_code == 410

    _, owner_email = make_user(Role.owner, owner_id=make_owner(email=f"chu-{secrets.token_hex(3)}@example.org"))
    _guess_until_held(owner_email, frozen_clock)
    assert _unlock_mails(smtp_inbox, owner_email) == []
