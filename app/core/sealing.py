"""Sealing short secrets at rest (one-time link tokens waiting in the notification outbox): authenticated
encryption (Fernet: AES-128-CBC + HMAC-SHA256) under a key kept outside the database.

The key is `NOTIFICATION_SEAL_KEY` (a Fernet key), else one generated once into `DATA_DIR/keys/notification-seal.key`
(mode 0600), which the API and the worker share. A copy of the database alone therefore holds no usable token.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from app.core.config import get_settings

PREFIX = "sealed:v1:"


class SealError(ValueError):
    """A sealed value that this key cannot open (another key, or altered)."""


@cache
def _fernet(key_source: str) -> Fernet:
    return Fernet(key_source.encode("ascii"))


def _key() -> str:
    settings = get_settings()
    if settings.notification_seal_key:
        return settings.notification_seal_key
    path: Path = settings.data_dir / "keys" / "notification-seal.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode("ascii"))
    return path.read_text().strip()


def seal(value: str) -> str:
    """The value encrypted and authenticated, as text: "sealed:v1:<fernet token>"."""
    return PREFIX + _fernet(_key()).encrypt(value.encode("utf-8")).decode("ascii")


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def unseal(value: str) -> str:
    """The value :func:`seal` sealed; raise SealError when it cannot be opened with the key."""
    if not is_sealed(value):
        raise SealError("not a sealed value")
    try:
        return _fernet(_key()).decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise SealError("the sealed value does not open with this key") from exc
