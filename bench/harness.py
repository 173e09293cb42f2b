"""What the benchmarks share: the API as `footage serve` in a subprocess, on a free loopback port."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from app.core.embedded import EmbeddedS3

ROOT = Path(__file__).resolve().parents[1]


def serve_api(env: dict[str, str], port: int) -> tuple[subprocess.Popen[bytes], str]:
    """Start the API (no worker beside it) and wait until /readyz answers 200."""
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/footage"), "serve", "--port", str(port), "--no-with-worker"], env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("the API did not become ready within a minute")


def service_env(database_url: str, s3: EmbeddedS3, data_dir: Path) -> dict[str, str]:
    """The environment of a `footage` process pointed at the benchmark's own database and S3 server."""
    import os

    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "S3_ENDPOINT": s3.endpoint,
        "S3_ACCESS_KEY": s3.access_key,
        "S3_SECRET_KEY": s3.secret_key,
        "DATA_DIR": str(data_dir),
        "ADMIN_PASSWORD": "bench admin password",
        "LOG_LEVEL": "warning",
        # The benchmarks sign in with passwords only: they measure the work, not the second factor.
        "TOTP_REQUIRED_ROLES": "[]",
    }
