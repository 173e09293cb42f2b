"""Access tokens: short-lived signed JWTs (HS256) carrying the user's token version, so they can be revoked.

Why JWT with a version check rather than opaque session rows: verification needs no extra table, and every
request already loads the user (role, unit, owner) — comparing the token's `ver` with the user's
`token_version` there makes logout, deactivation and password changes revoke all earlier tokens at once.
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from uuid import UUID

from app.core import clock
from app.core.config import get_settings
from app.core.service_secret import load_service_secret

# PyJWT imports cryptography (some 7 MB resident with its library) when it is installed, for the RSA, EC and EdDSA
# algorithms; these tokens are HS256 only (hmac and hashlib). When nothing has loaded cryptography yet, PyJWT is
# imported as if it were absent, so an API process that signs nothing else does not carry it. HS256 is the same
# code in PyJWT either way, and cryptography can still be imported afterwards by whatever needs it (TOTP
# secrets, custody signatures); PyJWT then simply offers no asymmetric algorithms, which nothing here asks for.
_without_cryptography = "cryptography" not in sys.modules and "jwt" not in sys.modules
if _without_cryptography:
    sys.modules["cryptography"] = None  # type: ignore[assignment]  # makes `import cryptography` fail here
try:
    import jwt
finally:
    if _without_cryptography:
        del sys.modules["cryptography"]

ALGORITHM = "HS256"
_secret: str | None = None


def _load_secret() -> str:
    return load_service_secret()


def token_secret() -> str:
    global _secret
    if _secret is None:
        _secret = _load_secret()
    return _secret


def reset_secret() -> None:
    global _secret
    _secret = None


@dataclass(frozen=True)
class TokenClaims:
    user_id: UUID
    version: int


def issue(user_id: UUID, version: int, ttl: timedelta | None = None) -> tuple[str, int]:
    """A signed token and its lifetime in seconds (default: the API token lifetime)."""
    ttl = ttl or timedelta(minutes=get_settings().token_ttl_minutes)
    issued = clock.now()
    payload = {
        "sub": str(user_id),
        "ver": version,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, token_secret(), algorithm=ALGORITHM), int(ttl.total_seconds())


def _check(token: str, secret: str) -> tuple[TokenClaims, int] | None:
    """The claims and expiry of a token whose signature checks under `secret`, else None."""
    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"verify_exp": False, "require": ["exp", "sub"]}
        )
        return TokenClaims(UUID(str(payload["sub"])), int(payload.get("ver", 0))), int(payload["exp"])
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None


# A client sends the same token on every call, and checking it again gives the same answer under the same
# secret, so the answers are kept (the expiry is still compared on each use; revocation is the user row's token
# version). The check is otherwise a good part of an authenticated read's CPU. Only token-sized strings are kept,
# so junk in the header cannot make the cache large.
_checked = lru_cache(maxsize=4096)(_check)
_CACHED_LENGTH = 512


def decode(token: str) -> TokenClaims | None:
    """The claims of a valid, unexpired token (by the injectable clock), else None."""
    verified = (_checked if len(token) <= _CACHED_LENGTH else _check)(token, token_secret())
    if verified is None:
        return None
    claims, expires = verified
    if expires <= clock.now().timestamp():
        return None
    return claims


# Password-reset links are signed under a key derived from the token secret, so a reset link is never accepted as
# an access token, nor an access token as a reset link.
def _reset_secret() -> str:
    import hashlib
    import hmac

    return hmac.new(token_secret().encode(), b"password-reset", hashlib.sha256).hexdigest()


def issue_reset(user_id: UUID, version: int, ttl: timedelta) -> tuple[str, datetime]:
    """A signed password-reset token bound to the user's token version, and when it expires."""
    issued = clock.now()
    expires = issued + ttl
    payload = {"sub": str(user_id), "ver": version, "exp": int(expires.timestamp()), "purpose": "password-reset"}
    return jwt.encode(payload, _reset_secret(), algorithm=ALGORITHM), expires.replace(microsecond=0)


def decode_reset(token: str) -> TokenClaims | None:
    """The claims of a reset token whose signature checks and which has not expired (by the injectable clock)."""
    if len(token) > 1024:
        return None
    checked = _check(token, _reset_secret())
    if checked is None or checked[1] <= clock.now().timestamp():
        return None
    return checked[0]


# A sign-in unlock link (sent to a staff account held by the sign-in wait) is signed under a key of its own too.
def _unlock_secret() -> str:
    import hashlib
    import hmac

    return hmac.new(token_secret().encode(), b"sign-in-unlock", hashlib.sha256).hexdigest()


def issue_unlock(user_id: UUID, version: int, ttl: timedelta) -> tuple[str, datetime]:
    """A signed token that lifts the sign-in wait of `user_id` once, and when it expires."""
    expires = clock.now() + ttl
    payload = {"sub": str(user_id), "ver": version, "exp": int(expires.timestamp()), "purpose": "sign-in-unlock"}
    return jwt.encode(payload, _unlock_secret(), algorithm=ALGORITHM), expires.replace(microsecond=0)


def decode_unlock(token: str) -> TokenClaims | None:
    """The claims of an unexpired unlock token (by the injectable clock), else None."""
    if len(token) > 1024:
        return None
    checked = _check(token, _unlock_secret())
    if checked is None or checked[1] <= clock.now().timestamp():
        return None
    return checked[0]


# Between the password and the second factor a browser holds a short-lived "pending" token, signed under a key of
# its own: it names the user whose password was right, and is never accepted as an access token.
def _pending_secret() -> str:
    import hashlib
    import hmac

    return hmac.new(token_secret().encode(), b"second-factor", hashlib.sha256).hexdigest()


def issue_pending(user_id: UUID, version: int, ttl: timedelta) -> str:
    """A token saying `user_id` gave the right password, valid for `ttl` and the user's current token version."""
    expires = clock.now() + ttl
    payload = {"sub": str(user_id), "ver": version, "exp": int(expires.timestamp()), "purpose": "second-factor"}
    return jwt.encode(payload, _pending_secret(), algorithm=ALGORITHM)


def decode_pending(token: str) -> TokenClaims | None:
    """The claims of an unexpired pending token (by the injectable clock), else None."""
    if len(token) > 1024:
        return None
    checked = _check(token, _pending_secret())
    if checked is None or checked[1] <= clock.now().timestamp():
        return None
    return checked[0]


def csrf_token(session_token: str) -> str:
    """The CSRF token bound to a web session: an HMAC of the session cookie under the token secret."""
    import hashlib
    import hmac

    return hmac.new(token_secret().encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()[:40]
