"""TOTP two-factor sign-in (RFC 6238, `pyotp`): secrets kept encrypted, recovery codes kept hashed.

The authenticator's secret is stored encrypted (Fernet, under a key derived from the token secret, which lives
outside the database), so a copy of the database alone does not let anyone compute codes. It is shown once, at
enrolment, as a QR code and as text; never again. Ten recovery codes are made at enrolment, shown once, and kept
as argon2id hashes; each works once, in place of a code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import TYPE_CHECKING

import pyotp
from pwdlib import PasswordHash

from app.auth import tokens

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

ISSUER = "Footage tracker"
RECOVERY_CODES = 10
_hasher = PasswordHash.recommended()
_CODE = re.compile(r"^\d{6}$")
_RECOVERY = re.compile(r"^[a-z0-9]{5}-[a-z0-9]{5}$")
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off a sheet of paper


def _fernet() -> Fernet:
    from cryptography.fernet import Fernet  # only the few requests that touch a second factor need it

    key = hmac.new(tokens.token_secret().encode(), b"totp-secret", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    return pyotp.random_base32()


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str | None:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None  # sealed under another token secret: the user enrols again (an admin resets it)


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def normalise(code: str) -> str:
    return re.sub(r"[\s]", "", code).lower()


def is_totp_code(code: str) -> bool:
    return bool(_CODE.match(normalise(code)))


def is_recovery_code(code: str) -> bool:
    return bool(_RECOVERY.match(normalise(code)))


def code_matches(secret: str, code: str, at_unix: float) -> bool:
    """Whether `code` is the secret's code at `at_unix`, or one step either side (clock drift of the phone)."""
    return is_totp_code(code) and pyotp.TOTP(secret).verify(normalise(code), for_time=int(at_unix), valid_window=1)


def new_recovery_codes() -> list[str]:
    def one() -> str:
        text = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        return f"{text[:5]}-{text[5:]}"

    return [one() for _ in range(RECOVERY_CODES)]


def hash_recovery_code(code: str) -> str:
    return _hasher.hash(normalise(code))


def recovery_code_matches(code: str, code_hash: str) -> bool:
    return is_recovery_code(code) and _hasher.verify(normalise(code), code_hash)
