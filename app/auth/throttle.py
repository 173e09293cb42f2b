"""Rate limits on the endpoints anyone can call without an account (owner links, sign-in, the token endpoint,
password-reset links, public appeals): `RATE_LIMIT_PER_MINUTE` requests per client address and minute for each
group, then 429 with `Retry-After`. Each refused call is counted in the security trail's tallies, not written a
row each."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from app.auth import audit
from app.auth.permissions import client_address
from app.core import rate_limits
from app.core.errors import TooManyRequests

OWNER_LINKS = "owner-link"
SIGN_IN = "sign-in"
TOKEN = "token"
RESET_LINKS = "reset-link"
APPEALS = "appeal"  # the public appeal page and its uploads (which have quotas of their own besides)

TOO_MANY = "Too many requests from this address; try again in {seconds} seconds."


def check(group: str, address: str | None, path: str | None = None) -> None:
    """Count a call of `address` to `group`; 429 with `Retry-After` past the limit."""
    wait = rate_limits.hit(group, address or "unknown")
    if wait:
        audit.tally_now("rate_limited", client_address=address, path=path, details={"group": group})
        raise TooManyRequests(
            TOO_MANY.format(seconds=wait), headers={"Retry-After": str(wait)}, extra={"retry_after": wait}
        )


def rate_limited(group: str) -> Callable[[Request], None]:
    """A route dependency applying the limit of `group` to the caller's address."""

    def dependency(request: Request) -> None:
        check(group, client_address(request), request.url.path)

    dependency.__name__ = f"rate_limited_{group.replace('-', '_')}"
    return dependency
