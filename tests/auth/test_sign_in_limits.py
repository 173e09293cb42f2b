"""Sign-in throttling that cannot be turned against the account's owner, and rate limits on the endpoints anyone
can call: an account waits 1 s after its fifth failure in a row, doubling up to 15 minutes (never a lock a
stranger renews at will), an address its own failures, and each anonymous endpoint group allows 60 calls per
address and minute, with refusals counted per address instead of a security event each."""

from __future__ import annotations

import secrets

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth.models import Role, SecurityEvent, SecurityEventTally
from app.core import clock
from app.core.db import session_factory
from tests.factories import PASSWORD, make_user, web_login

WRONG = "not the password at all"


def _client(address: str) -> TestClient:
    from app.main import create_app

    return TestClient(create_app(), client=(address, 50000))


def _address() -> str:
    return f"198.51.100.{secrets.randbelow(250) + 1}-{secrets.token_hex(3)}"


def _token(client: TestClient, email: str, password: str) -> int:
    return client.post("/api/v1/auth/token", data={"username": email, "password": password}).status_code


def _tally(kind: str, address: str) -> SecurityEventTally | None:
    with session_factory()() as session:
        return session.get(SecurityEventTally, (kind, address))


def test_strangers_failures_delay_the_account_but_never_lock_its_owner_out(
    configured: str, frozen_clock: clock.FrozenClock
) -> None:
    _, email = make_user(Role.investigator)
    home = _client(_address())
    assert _token(home, email, PASSWORD) == 200  # the owner's usual address
    frozen_clock.advance(seconds=1)

    # Strangers on many addresses keep guessing, each try as soon as the account's wait allows.
    waits: list[int] = []
    failures = 0
    strangers = [_client(_address()) for _ in range(6)]
    while failures < 14:
        stranger = strangers[failures // 4]  # four tries each: under the per-address limit
        answer = stranger.post("/api/v1/auth/token", data={"username": email, "password": WRONG})
        if answer.status_code == 429:
            wait = int(answer.headers["retry-after"])
            waits.append(wait)
            frozen_clock.advance(seconds=wait)
            continue
        assert answer.status_code == 401
        failures += 1
    # five free failures, then 1 s doubling with each further one, never past 15 minutes
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert max(waits) <= 15 * 60

    # The owner, at the address they signed in from, is not held by the strangers' failures.
    assert _token(home, email, PASSWORD) == 200

    # From a new address the account's wait applies: at most 15 minutes, then the right password works.
    for _ in range(12):
        frozen_clock.advance(seconds=1)
        stranger = _client(_address())
        while (
            answer := stranger.post("/api/v1/auth/token", data={"username": email, "password": WRONG})
        ).status_code == 429:
            frozen_clock.advance(seconds=int(answer.headers["retry-after"]))
    elsewhere = _address()
    travelling = _client(elsewhere)
    held = travelling.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert held.status_code == 429
    assert 0 < int(held.headers["retry-after"]) <= 15 * 60
    frozen_clock.advance(seconds=int(held.headers["retry-after"]))
    assert _token(travelling, email, PASSWORD) == 200
    # refused tries are counted per address, not written one row each
    with session_factory()() as session:
        assert not session.scalar(
            select(func.count()).select_from(SecurityEvent).where(SecurityEvent.kind == "login_waiting")
        )
    waiting = _tally("login_waiting", elsewhere)
    assert waiting is not None and waiting.count == 1 and waiting.last_email == email


def test_sign_in_page_asks_to_wait_in_the_readers_language(configured: str, frozen_clock: clock.FrozenClock) -> None:
    _, email = make_user(Role.investigator)
    browser = _client(_address())
    for _ in range(5):
        refused = web_login(browser, data={"email": email, "password": WRONG})
        assert refused.status_code == 401 and "mật khẩu không đúng" in refused.text
    waiting = web_login(browser, data={"email": email, "password": PASSWORD})
    assert waiting.status_code == 429
    seconds = int(waiting.headers["retry-after"])
    assert f"hãy thử lại sau {seconds} giây" in waiting.text
    browser.cookies.set("lang", "en")
    english = web_login(browser, data={"email": email, "password": PASSWORD})
    assert english.status_code == 429 and "try again in" in english.text
    frozen_clock.advance(seconds=15 * 60)
    done = web_login(browser, data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert done.status_code == 303 and "footage_session" in done.cookies


def test_sign_in_form_needs_its_csrf_token(client: TestClient) -> None:
    _, email = make_user(Role.investigator)
    # no token (a form posted from another site): refused, nobody signed in
    forged = client.post("/login", data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert forged.status_code == 403 and "footage_session" not in forged.cookies
    assert "Biểu mẫu đã hết hạn" in forged.text
    # a token from another browser's form does not fit this browser's cookie
    other = _client(_address())
    form = other.get("/login").text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    stolen = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert stolen.status_code == 403 and "footage_session" not in stolen.cookies
    signed = web_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert signed.status_code == 303 and "footage_session" in signed.cookies


def test_owner_link_guessing_is_rate_limited_and_counted_not_logged_per_probe(
    configured: str, frozen_clock: clock.FrozenClock
) -> None:
    address = _address()
    prober = _client(address)
    answers = [prober.get(f"/api/v1/respond/{secrets.token_urlsafe(32)}").status_code for _ in range(61)]
    assert answers[:60] == [404] * 60
    assert answers[60] == 429
    limited = prober.get(f"/api/v1/respond/{secrets.token_urlsafe(32)}")
    assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 60
    page = prober.get(f"/respond/{secrets.token_urlsafe(32)}", headers={"accept": "text/html"})
    assert page.status_code == 429 and "hãy thử lại sau" in page.text
    with session_factory()() as session:
        rows = session.scalar(
            select(func.count())
            .select_from(SecurityEvent)
            .where(SecurityEvent.client_address == address, SecurityEvent.kind.like("owner_link%"))
        )
    assert rows == 0
    refused = _tally("owner_link_refused", address)
    assert refused is not None and refused.count == 60 and refused.last_details["reason"] == "unknown"
    rate_limited = _tally("rate_limited", address)
    assert rate_limited is not None and rate_limited.count == 3
    # another address is not held, and the next minute the prober may try again
    assert _client(_address()).get(f"/api/v1/respond/{secrets.token_urlsafe(32)}").status_code == 404
    frozen_clock.advance(seconds=60)
    assert prober.get(f"/api/v1/respond/{secrets.token_urlsafe(32)}").status_code == 404


def test_token_endpoint_is_rate_limited_per_address(configured: str, frozen_clock: clock.FrozenClock) -> None:
    _, email = make_user(Role.investigator)
    caller = _client(_address())
    statuses = [_token(caller, email, PASSWORD) for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429
