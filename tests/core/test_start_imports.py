"""The API's start loads none of the heavy libraries that only some routes or worker steps use: OpenCV, PyAV
and numpy (redaction), fpdf with Pillow and fontTools (PDF receipts and reports), segno (QR codes), and
boto3 (whose S3 client model alone is about 14 MB; S3 writes are signed requests in app/core/multipart.py),
httpx and rfc3161-client (only the worker asks a time-stamping authority).
Each is tens of megabytes of resident memory that every API process would otherwise carry."""

from __future__ import annotations

import json
import subprocess
import sys

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
