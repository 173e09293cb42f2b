"""Load on the read paths an investigator uses — request list, request detail, camera search — against the
real service (`footage serve`, real PostgreSQL and SeaweedFS, seeded data), with wrk (Debian package `wrk`).

Reports requests/s and latency percentiles per path, and the authenticated request-detail throughput as a
ratio to a bare endpoint of the same app (GET /healthz) measured in the same run.

Usage: .venv/bin/python bench/load.py [--seconds 15] [--connections 16] [--cameras 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import embedded  # noqa: E402
from bench.harness import serve_api, service_env  # noqa: E402
from tests.services import create_database, drop_database  # noqa: E402

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, token: str | None, seconds: int, connections: int) -> dict[str, float]:
    """Requests/s and p50/p90/p99 latency (ms) of `url` under wrk with 2 threads."""
    args = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        args[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "90", "99"):
        value, unit = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        result[f"p{pct}_ms"] = round(float(value) * UNITS[unit], 2)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(non_2xx.group(1)) if non_2xx else 0
    result["rps"] = round(result["rps"], 1)
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(http: httpx.Client, cameras: int) -> tuple[str, str]:
    """An investigator with a case, requests on some of many cameras; returns (token, a request id)."""

    def token(email: str, password: str) -> str:
        response = http.post("/api/v1/auth/token", data={"username": email, "password": password})
        return str(response.json()["access_token"])

    admin = {"Authorization": f"Bearer {token('admin@example.org', 'bench admin password')}"}
    unit = http.post("/api/v1/units", json={"name": "Công an Quận 1", "code": "Q1"}, headers=admin).json()
    http.post(
        "/api/v1/users",
        headers=admin,
        json={
            "email": "inv@example.org",
            "password": "bench password 1",
            "full_name": "Điều tra viên",
            "role": "investigator",
            "unit_id": unit["id"],
        },
    ).raise_for_status()
    owner = http.post("/api/v1/owners", json={"name": "Cửa hàng Bến Thành", "kind": "business"}, headers=admin).json()
    http.post(
        f"/api/v1/owners/{owner['id']}/consents",
        headers=admin,
        json={
            "scope": "on_request",
            "valid_from": "2025-01-01T00:00:00Z",
            "terms_version": "1",
            "legal_basis": "bench",
        },
    ).raise_for_status()
    rows = ["external_id,owner_id,label,lat,lon,retention_days,direction_deg,fov_deg,range_m"]
    for i in range(cameras):
        rows.append(
            f"B{i},{owner['id']},Camera {i},{10.77 + (i % 50) * 0.0004},{106.70 + (i // 50) * 0.0004},14,90,90,40"
        )
    imported = http.post(
        "/api/v1/cameras/import", content="\n".join(rows).encode(), headers={**admin, "Content-Type": "text/csv"}
    ).json()
    assert not imported["errors"], imported["errors"][:3]
    inv = token("inv@example.org", "bench password 1")
    headers = {"Authorization": f"Bearer {inv}"}
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    case = http.post(
        "/api/v1/cases",
        headers=headers,
        json={
            "number": f"HS-{uuid.uuid4().hex[:6]}",
            "title": "Cướp giật tài sản",
            "offence": "robbery",
            "incident_lat": 10.78,
            "incident_lon": 106.71,
            "incident_start": t0.isoformat(),
            "incident_end": (t0 + timedelta(hours=1)).isoformat(),
        },
    ).json()
    area = http.post(
        f"/api/v1/cases/{case['id']}/area-requests",
        headers=headers,
        json={
            "lat": 10.78,
            "lon": 106.71,
            "radius_m": 300,
            "window_start": t0.isoformat(),
            "window_end": (t0 + timedelta(minutes=30)).isoformat(),
            "purpose": "Xác định đối tượng",
            "legal_basis": "Điều 88 BLTTHS",
        },
    ).json()
    return inv, area["requests"][0]["id"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cameras", type=int, default=2000)
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    opts = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    s3 = embedded.start_seaweedfs(work / "s3")
    db = create_database(opts.pg, prefix="bench_load")
    api, base = serve_api(service_env(db, s3, work / "data"), embedded.free_ports(1)[0])
    try:
        http = httpx.Client(base_url=base, timeout=120)
        token, request_id = seed(http, opts.cameras)
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        paths = {
            "bare GET /healthz": ("/healthz", None),
            "request detail GET /api/v1/requests/{id}": (f"/api/v1/requests/{request_id}", token),
            "request list GET /api/v1/requests?limit=50": ("/api/v1/requests?limit=50", token),
            "camera search GET /api/v1/cameras?lat&lon&radius_m=500&at": (
                f"/api/v1/cameras?lat=10.78&lon=106.71&radius_m=500&at={at}&limit=100",
                token,
            ),
        }
        for path, auth in paths.values():  # warm-up
            wrk(base + path, auth, 2, opts.connections)
        results = {}
        for name, (path, auth) in paths.items():
            before = cpu_seconds(api.pid)
            results[name] = wrk(base + path, auth, opts.seconds, opts.connections)
            served = results[name]["rps"] * opts.seconds
            # the API process's CPU per request: where the time goes when the ratio is low
            results[name]["api_cpu_ms_per_request"] = round((cpu_seconds(api.pid) - before) / served * 1000, 2)
        detail, bare = results["request detail GET /api/v1/requests/{id}"], results["bare GET /healthz"]
        results["ratio request detail / bare"] = {"rps": round(detail["rps"] / bare["rps"], 3)}
        print(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(30)
        drop_database(db)
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)  # the S3 data and generated recordings: gigabytes per run


if __name__ == "__main__":
    main()
