"""The service's own secret: TOKEN_SECRET when set (replicas share it), else one generated once into
DATA_DIR/keys/token-secret (mode 0600). Access tokens are signed with it and other keys are derived from it
(each under a label of its own), so no domain keeps a key file of its own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from app.core.config import get_settings


def load_service_secret() -> str:
    settings = get_settings()
    if settings.token_secret:
        return settings.token_secret
    path: Path = settings.data_dir / "keys" / "token-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process wrote it meanwhile
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def derived_key(label: str) -> bytes:
    """A 32-byte key for one purpose, as URL-safe base64 (the form Fernet takes)."""
    digest = hmac.new(load_service_secret().encode(), label.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)
