"""Running schemathesis against the live service: the same code for the bounded run in the test suite and
the larger one in bench/fuzz.py."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.core import embedded
from tests.services import FIRST_ADMIN_TOTP_SECRET, first_admin_code, wait_until_ready

ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "fuzzing admin password"
SCHEMA_PATH = "/api/v1/openapi.json"

# Checks left out, and why: both judge what the schema cannot express, not what the service answers.
#  - positive_data_acceptance: schema-valid input is still refused (422) where a domain rule forbids it — a
#    window over 24 h, consent missing at filing, an unknown owner in an import row; that is the rule working.
#  - unsupported_method: a method the schema does not declare on a path gets the router's answer; where two
#    paths overlap (PATCH /cameras/export.geojson reaches /cameras/{camera_id}) that answer is a 422 naming
#    the bad id, not a 405.
EXCLUDED_CHECKS = "positive_data_acceptance,unsupported_method"
# POST /auth/logout revokes every token of its user, the very token the run authenticates with; the identity
# tests cover it.
EXCLUDED_PATHS = ["/api/v1/auth/logout"]


@dataclass
class Service:
    base: str
    process: subprocess.Popen[bytes]


@contextmanager
def running_service(env: dict[str, str], data_dir: Path) -> Iterator[Service]:
    """`footage serve` (no worker) in a subprocess on a free port, until the block ends."""
    port = embedded.free_ports(1)[0]
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--no-with-worker"],
        env={
            **os.environ,
            **env,
            "DATA_DIR": str(data_dir),
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "LOG_LEVEL": "error",
            "ADMIN_TOTP_SECRET": FIRST_ADMIN_TOTP_SECRET,
            # the run fuzzes what each operation answers, many times a minute from one address
            "RATE_LIMIT_PER_MINUTE": "1000000",
        },
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process, 60)
        yield Service(base, process)
    finally:
        process.terminate()
        process.wait(30)


def tokens(base: str) -> dict[str, str]:
    """Bearer tokens of an admin and of an investigator of a unit the admin creates."""
    http = httpx.Client(base_url=base, timeout=30)

    def sign_in(email: str, password: str) -> str:
        data = {"username": email, "password": password}
        if email == ADMIN_EMAIL:
            data["totp_code"] = first_admin_code()
        response = http.post("/api/v1/auth/token", data=data)
        response.raise_for_status()
        return str(response.json()["access_token"])

    admin = sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
    headers = {"Authorization": f"Bearer {admin}"}
    unit = http.post("/api/v1/units", headers=headers, json={"name": "Fuzz unit", "code": "FUZZ"}).json()
    http.post(
        "/api/v1/users",
        headers=headers,
        json={
            "email": "investigator@example.org",
            "password": "fuzzing investigator password",
            "full_name": "Điều tra viên",
            "role": "investigator",
            "unit_id": unit["id"],
        },
    ).raise_for_status()
    return {"admin": admin, "investigator": sign_in("investigator@example.org", "fuzzing investigator password")}


EXTREME_HOOKS = "tests.hardening.extreme_hooks"
ROOT = Path(__file__).resolve().parents[2]


def run_schemathesis(
    base: str, token: str, *, max_examples: int, seed: int | None = None, extremes: bool = False
) -> tuple[int, str]:
    """(exit code, output) of one schemathesis run over every operation, authenticated with `token`; with
    `extremes`, each generated header set, query and body carries a non-finite number or an extreme date
    (tests/hardening/extreme_hooks.py)."""
    args = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        base + SCHEMA_PATH,
        "--checks",
        "all",
        "--exclude-checks",
        # the hooks change a field after generation, so whether the data is valid is no longer what the fuzzer
        # believes: a value it made invalid may be replaced by a valid one
        EXCLUDED_CHECKS + (",negative_data_rejection" if extremes else ""),
        "--max-examples",
        str(max_examples),
        "--header",
        f"Authorization: Bearer {token}",
        # The resumable-upload routes answer 412 to a client that does not speak tus 1.0.0 before anything else;
        # sent with every request, it lets the fuzzer reach their validation (other routes ignore it).
        "--header",
        "Tus-Resumable: 1.0.0",
        "--no-color",
    ]
    for path in EXCLUDED_PATHS:
        args += ["--exclude-path", path]
    if seed is not None:
        args += ["--seed", str(seed)]
    # schemathesis keeps a cache of past failures in `.schemathesis/` of its working directory and replays them;
    # each run starts from a fresh one so a run judges this service only.
    with tempfile.TemporaryDirectory(prefix="schemathesis-") as workdir:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": EXTREME_HOOKS} if extremes else None
        done = subprocess.run(args, capture_output=True, text=True, timeout=1800, cwd=workdir, env=env)
    return done.returncode, done.stdout + done.stderr
