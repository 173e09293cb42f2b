"""The API's start loads none of the heavy libraries that only some routes or worker steps use: OpenCV, PyAV
and numpy (redaction), fpdf with Pillow and fontTools (PDF receipts and reports), segno (QR codes), and
boto3 (whose S3 client model alone is about 14 MB; S3 writes are signed requests in app/core/multipart.py),
httpx and rfc3161-client (only the worker asks a time-stamping authority), and cryptography (the access tokens are
HS256, which PyJWT signs with hmac; only TOTP secrets, sealed notification links and custody signatures need it).
Each is tens of megabytes of resident memory that every API process would otherwise carry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "cv2",
    "av",
    "numpy",
    "fpdf",
    "PIL",
    "fontTools",
    "segno",
    "skimage",
    "reportlab",
    "zxingcpp",
    "boto3",
    "botocore",
    "httpx",
    "rfc3161_client",
    "cryptography",
)

PROBE = f"""
import json, sys
from app.main import create_app
create_app()
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def test_api_start_leaves_heavy_libraries_unloaded() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_probe_sees_a_heavy_library_when_loaded() -> None:
    probe = PROBE.replace("create_app()\n", "create_app()\nimport segno\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["segno"]


# Tokens signed and checked by a process that has not loaded cryptography, then cryptography loaded by what needs
# it (a TOTP secret sealed and opened, a custody checkpoint signed and verified) and the same tokens still checked.
BOTH_WAYS = """
import json, sys
from datetime import timedelta
from uuid import uuid4
from app.main import create_app
create_app()
from app.auth import tokens
user = uuid4()
token, _ = tokens.issue(user, 3)
forged = token.rsplit(".", 1)[0] + "." + "A" * 43
reset, _ = tokens.issue_reset(user, 3, timedelta(minutes=5))
before = {
    "cryptography": "cryptography" in sys.modules,
    "valid": tokens.decode(token) == tokens.TokenClaims(user, 3),
    "forged": tokens.decode(forged),
    "reset_as_access": tokens.decode(reset),
    "reset": tokens.decode_reset(reset) == tokens.TokenClaims(user, 3),
}
from app.auth import totp
from app.custody import checkpoints
secret = totp.new_secret()
checkpoint = checkpoints.sign_checkpoint(1, bytes(32))
after = {
    "cryptography": "cryptography" in sys.modules,
    "totp": totp.unseal(totp.seal(secret)) == secret,
    "checkpoint": checkpoints.verify_checkpoint(checkpoint),
    "valid": tokens.decode(tokens.issue(user, 4)[0]) == tokens.TokenClaims(user, 4),
    "earlier": tokens.decode(token) == tokens.TokenClaims(user, 3),
    "forged": tokens.decode(forged),
}
print(json.dumps({"before": before, "after": after}))
"""


def test_tokens_work_without_cryptography_and_it_loads_when_needed(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", BOTH_WAYS], capture_output=True, text=True, timeout=300, check=False, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == {
        "cryptography": False,
        "valid": True,
        "forged": None,
        "reset_as_access": None,
        "reset": True,
    }
    assert seen["after"] == {
        "cryptography": True,
        "totp": True,
        "checkpoint": True,
        "valid": True,
        "earlier": True,
        "forged": None,
    }
