"""Where an authenticated read spends its CPU: the app called in-process (ASGI, no network, one request at a
time) on probe routes that add one piece each — a sync endpoint (one thread hop), the session dependency, one
query, the bearer-token check — beside the real /healthz, /api/v1/me, the request detail and the request list.

Real PostgreSQL (a database of its own, dropped after) and a SeaweedFS of its own; the probe routes exist only
in this script's copy of the app.

Usage: .venv/bin/python bench/request_costs.py [--requests 400]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import APIRouter, FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.auth.permissions import CurrentActor  # noqa: E402
from app.core import embedded, migrate, storage  # noqa: E402
from app.core.config import override_settings  # noqa: E402
from app.core.db import SessionDep, dispose_engine, session_factory  # noqa: E402
from bench.load import seed  # noqa: E402
from tests.services import create_database, drop_database  # noqa: E402

ADMIN_PASSWORD = "bench admin password"


def probe_routes() -> APIRouter:
    probes = APIRouter(prefix="/probe")

    @probes.get("/async")
    async def trivial_async() -> dict[str, bool]:
        return {"ok": True}

    @probes.get("/sync")
    def trivial_sync() -> dict[str, bool]:
        return {"ok": True}

    @probes.get("/session")
    def with_session(session: SessionDep) -> dict[str, bool]:
        return {"ok": True}

    @probes.get("/query")
    def with_query(session: SessionDep) -> dict[str, bool]:
        session.execute(text("SELECT 1"))
        return {"ok": True}

    @probes.get("/actor")
    def with_actor(session: SessionDep, actor: CurrentActor) -> dict[str, bool]:
        return {"ok": True}

    return probes


async def call(app: FastAPI, target: str, token: str | None) -> None:
    path, _, query = target.partition("?")
    headers = [(b"host", b"bench")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 200, (target, sent[0]["status"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-costs-"))
    s3 = embedded.start_seaweedfs(work / "s3")
    database = create_database(opts.pg, prefix="bench_costs")
    try:
        migrate.upgrade("heads", database_url=database)
        override_settings(
            database_url=database,
            s3_endpoint=s3.endpoint,
            s3_access_key=s3.access_key,
            s3_secret_key=s3.secret_key,
            s3_secure=False,
            data_dir=work / "data",
            admin_password=ADMIN_PASSWORD,
            totp_required_roles=[],  # the bench signs the admin in by password alone, as bench/harness.py does
        )
        dispose_engine()
        storage.reset_storage()
        storage.get_storage().ensure_bucket(create=True)
        from app.auth.service import ensure_first_admin
        from app.main import create_app

        with session_factory()() as session, session.begin():
            ensure_first_admin(session)
        app = create_app()
        app.include_router(probe_routes())
        with TestClient(app) as http:
            token, request_id = seed(http, 2000)
            search = "radius_m=500&limit=100&at=2026-12-01T08:00:00%2B07:00"
            paths = {
                "GET /healthz (async, no dependency)": ("/healthz", None),
                "async endpoint, nothing else": ("/probe/async", None),
                "sync endpoint (one thread hop)": ("/probe/sync", None),
                "+ session dependency (two more hops, no query)": ("/probe/session", None),
                "+ one query": ("/probe/query", None),
                "+ bearer-token check (a hop and the user's row)": ("/probe/actor", token),
                "GET /api/v1/me": ("/api/v1/me", token),
                "GET /api/v1/requests/{id}": (f"/api/v1/requests/{request_id}", token),
                "GET /api/v1/requests?limit=50": ("/api/v1/requests?limit=50", token),
                # the coverage search: nothing within 500 m (the sparse case), then the first 100 of the seeded
                # cameras around the area request's point
                "GET /api/v1/cameras, 500 m, none found": (f"/api/v1/cameras?{search}&lat=20.5&lon=105.5", token),
                "GET /api/v1/cameras, 500 m, first 100": (f"/api/v1/cameras?{search}&lat=10.78&lon=106.71", token),
            }

            async def measure() -> dict[str, dict[str, float]]:
                results = {}
                for name, (path, auth) in paths.items():
                    for _ in range(50):
                        await call(app, path, auth)
                    wall, cpu = time.perf_counter(), time.process_time()
                    for _ in range(opts.requests):
                        await call(app, path, auth)
                    results[name] = {
                        "wall_ms": round((time.perf_counter() - wall) / opts.requests * 1000, 3),
                        "cpu_ms": round((time.process_time() - cpu) / opts.requests * 1000, 3),
                    }
                return results

            print(json.dumps(http.portal.call(measure), indent=2, ensure_ascii=False))
    finally:
        dispose_engine()
        drop_database(database)
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)  # the S3 data and generated recordings: gigabytes per run


if __name__ == "__main__":
    main()
