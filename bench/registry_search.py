"""Coverage-search benchmark: 1,000,000 cameras in PostgreSQL, spread over Viet Nam plus one dense city of
136,000 cameras in about 7 x 7 km; a 500 m search at a time `at`, first 100 by overwrite deadline.

Reports, in one run: p50/p95 through the HTTP API with auth (uvicorn in a subprocess; the client keeps one
connection alive, and the same queries through httpx and a bare /healthz are reported beside), the bare SQL of the
search, and PostGIS ST_DWithin on a geography GiST index over the same rows (when the postgis extension can
be created), plus the import of 100,000 rows (time and the importing process's peak memory).

Also the API process's CPU time per search (user + system, from /proc), which the machine's other load
disturbs less than the wall-clock percentiles.

Usage: .venv/bin/python bench/registry_search.py [--cameras 1000000] [--city 136000] [--queries 300]
       [--import-rows 100000]   (0 skips the import)
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import embedded, migrate  # noqa: E402
from app.registry import geo  # noqa: E402
from bench.harness import serve_api, service_env  # noqa: E402
from tests.services import create_database, drop_database  # noqa: E402

CITY = (10.7769, 106.7009)  # Ho Chi Minh City, District 1
CITY_SPAN_DEG = 0.063  # about 7 km


class LeanClient:
    """GET over one kept-alive HTTP/1.1 connection (the standard library's client)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        assert parts.hostname is not None and parts.port is not None
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        self.connection.request("GET", path, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(dsn: str, total: int, city: int, rng: random.Random) -> str:
    with psycopg.connect(dsn) as conn:
        owner = uuid.uuid4()
        conn.execute("INSERT INTO owners (id, name, kind, locale) VALUES (%s, 'bench', 'business', 'vi')", (owner,))
        buffer = io.StringIO()
        for i in range(total):
            if i < city:
                lat = CITY[0] + rng.uniform(-CITY_SPAN_DEG / 2, CITY_SPAN_DEG / 2)
                lon = CITY[1] + rng.uniform(-CITY_SPAN_DEG / 2, CITY_SPAN_DEG / 2)
            else:  # the rest of the country, roughly its bounding box
                lat, lon = rng.uniform(8.6, 23.3), rng.uniform(102.2, 109.4)
            direction = "" if rng.random() < 0.3 else f"{rng.uniform(0, 359.9):.1f}"
            buffer.write(
                f"{uuid.uuid4()}\tb{i}\t{owner}\tcam {i}\t{lat:.6f}\t{lon:.6f}\t{direction}\t90\t50\t"
                f"{rng.randint(7, 30)}\tAsia/Ho_Chi_Minh\tprivate\tactive\tf\n"
            )
        buffer.seek(0)
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY cameras (id, external_id, owner_id, label, lat, lon, direction_deg, fov_deg, range_m, "
                "retention_days, timezone, programme, status, indoor) FROM STDIN WITH (NULL '')"
            ) as copy,
        ):
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
    # The table as autovacuum leaves it once a bulk load has settled (statistics, and the visibility map that
    # lets the search's index-only scan skip the heap); run now so the queries do not race autovacuum.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE cameras")
    return str(owner)


def bare_sql(dsn: str, points: list[tuple[float, float]]) -> list[float]:
    """The search's SQL as the service runs it (bounding box on the B-tree, haversine, deadline order)."""
    timings = []
    with psycopg.connect(dsn) as conn:
        for lat, lon in points:
            min_lat, max_lat, (min_lon, max_lon), _ = geo.bounding_box(lat, lon, 500)  # no antimeridian here
            started = time.perf_counter()
            conn.execute(
                """
                SELECT id, distance_m, count(*) OVER () FROM (
                  SELECT id, retention_days, 2 * %(r)s * asin(least(1.0, sqrt(
                    power(sin((radians(lat) - radians(%(lat)s)) / 2), 2) + cos(radians(%(lat)s)) * cos(radians(lat))
                    * power(sin((radians(lon) - radians(%(lon)s)) / 2), 2)))) AS distance_m
                  FROM cameras WHERE lat BETWEEN %(a)s AND %(b)s AND lon BETWEEN %(c)s AND %(d)s) box
                WHERE distance_m <= 500 ORDER BY retention_days, distance_m, id LIMIT 100
                """,
                {
                    "r": geo.EARTH_RADIUS_M,
                    "lat": lat,
                    "lon": lon,
                    "a": min_lat,
                    "b": max_lat,
                    "c": min_lon,
                    "d": max_lon,
                },
            ).fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def postgis(dsn: str, points: list[tuple[float, float]]) -> list[float] | str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            return f"postgis unavailable: {exc}".strip()
        conn.execute("ALTER TABLE cameras ADD COLUMN IF NOT EXISTS geog geography(Point, 4326)")
        conn.execute("UPDATE cameras SET geog = ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography")
        conn.execute("CREATE INDEX IF NOT EXISTS ix_cameras_geog ON cameras USING gist (geog)")
        conn.execute("ANALYZE cameras")
        timings = []
        for lat, lon in points:
            started = time.perf_counter()
            conn.execute(
                "SELECT id, ST_Distance(geog, p) AS d, count(*) OVER () FROM cameras, "
                "(SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS p) q "
                "WHERE ST_DWithin(geog, p, 500) ORDER BY retention_days, d, id LIMIT 100",
                {"lat": lat, "lon": lon},
            ).fetchall()
            timings.append((time.perf_counter() - started) * 1000)
        return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=1_000_000)
    parser.add_argument("--city", type=int, default=136_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--import-rows", type=int, default=100_000, help="rows of the import run; 0 skips it")
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    opts = parser.parse_args()
    rng = random.Random(11)
    work = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    url = create_database(opts.pg, prefix="bench_registry")
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    s3 = embedded.start_seaweedfs(work / "s3")
    port = embedded.free_ports(1)[0]
    env = service_env(url, s3, work / "data")
    results: dict[str, object] = {}
    api = None
    try:
        migrate.upgrade("head", database_url=url)
        started = time.perf_counter()
        owner = load(dsn, opts.cameras, opts.city, rng)
        results["load_s"] = round(time.perf_counter() - started, 1)
        api, base = serve_api(env, port)
        http = httpx.Client(base_url=base, timeout=60)
        token = http.post(
            "/api/v1/auth/token", data={"username": "admin@example.org", "password": "bench admin password"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        at = datetime.now(UTC).isoformat()
        # The timed searches go over one kept-alive connection of the standard library's HTTP client: httpx
        # spends about 0.6 ms of the shared CPU per request here, which is the client's, not the API's. The
        # floor of that path, a bare /healthz, is reported beside each case.
        lean = LeanClient(base)
        floor = []
        for _ in range(opts.queries + 20):
            started = time.perf_counter()
            lean.get("/healthz", {})
            floor.append((time.perf_counter() - started) * 1000)
        floor = floor[20:]
        city_points = [
            (CITY[0] + rng.uniform(-0.02, 0.02), CITY[1] + rng.uniform(-0.02, 0.02)) for _ in range(opts.queries)
        ]
        sparse_points = [(rng.uniform(9, 22), rng.uniform(103, 109)) for _ in range(opts.queries)]
        for name, points in (("sparse", sparse_points), ("dense_city", city_points)):
            timings, found = [], []
            for lat, lon in points[:20]:  # warm-up
                http.get(
                    "/api/v1/cameras",
                    params={"lat": lat, "lon": lon, "radius_m": 500, "at": at, "limit": 100},
                    headers=headers,
                )
            cpu_before = cpu_seconds(api.pid)
            for lat, lon in points:
                query = urlencode({"lat": lat, "lon": lon, "radius_m": 500, "at": at, "limit": 100})
                started = time.perf_counter()
                status, body = lean.get(f"/api/v1/cameras?{query}", headers)
                timings.append((time.perf_counter() - started) * 1000)
                assert status == 200, body[:300]
                found.append(json.loads(body)["total"])
            api_cpu_ms = (cpu_seconds(api.pid) - cpu_before) * 1000 / len(points)
            # the same queries through httpx, as the figures before 2026-12-02 were taken
            with_httpx = []
            for lat, lon in points:
                started = time.perf_counter()
                http.get(
                    "/api/v1/cameras",
                    params={"lat": lat, "lon": lon, "radius_m": 500, "at": at, "limit": 100},
                    headers=headers,
                ).raise_for_status()
                with_httpx.append((time.perf_counter() - started) * 1000)
            sql = bare_sql(dsn, points)
            results[name] = {
                "api_p50_ms": round(percentile(timings, 0.5), 2),
                "api_p95_ms": round(percentile(timings, 0.95), 2),
                "api_cpu_ms_per_search": round(api_cpu_ms, 2),
                "api_httpx_p50_ms": round(percentile(with_httpx, 0.5), 2),
                "api_httpx_p95_ms": round(percentile(with_httpx, 0.95), 2),
                "healthz_p50_ms": round(percentile(floor, 0.5), 2),
                "healthz_p95_ms": round(percentile(floor, 0.95), 2),
                "sql_p50_ms": round(percentile(sql, 0.5), 2),
                "sql_p95_ms": round(percentile(sql, 0.95), 2),
                "mean_cameras_within_500m": round(statistics.mean(found), 1),
            }
            print(name, json.dumps(results[name]), flush=True)
        for name, points in (("sparse", sparse_points), ("dense_city", city_points)):
            timings_or_error = postgis(dsn, points)
            if isinstance(timings_or_error, str):
                results["postgis"] = timings_or_error
                break
            entry = results[name]
            assert isinstance(entry, dict)
            entry["postgis_p50_ms"] = round(percentile(timings_or_error, 0.5), 2)
            entry["postgis_p95_ms"] = round(percentile(timings_or_error, 0.95), 2)
            entry["sql_vs_postgis_p95"] = round(entry["sql_p95_ms"] / entry["postgis_p95_ms"], 2)
            print(name, json.dumps(entry), flush=True)
        if opts.import_rows:
            results["import"] = import_rows(opts.import_rows, owner, work, env, rng)
    finally:
        if api is not None:
            api.send_signal(signal.SIGTERM)
            api.wait(30)
        drop_database(url)
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)  # the S3 data and generated recordings: gigabytes per run
    print(json.dumps(results, indent=2))


def import_rows(rows: int, owner: str, work: Path, env: dict[str, str], rng: random.Random) -> dict[str, object]:
    """Import `rows` CSV rows through the command; its time and the importing process's peak memory."""
    csv_path = work / "import.csv"
    with csv_path.open("w", encoding="utf-8") as fh:
        fh.write("external_id,owner_id,label,lat,lon,retention_days,direction_deg,address\n")
        for i in range(rows):
            fh.write(
                f"imp-{i},{owner},Camera số {i} đường Lê Lợi,{rng.uniform(10.7, 10.85):.6f},"
                f"{rng.uniform(106.6, 106.8):.6f},{rng.randint(7, 30)},{rng.uniform(0, 359):.1f},"
                f'"{i} Lê Lợi, Phường Bến Thành"\n'
            )
    started = time.perf_counter()
    importer = subprocess.Popen(
        [str(ROOT / ".venv/bin/footage"), "import-cameras", str(csv_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak_kb = 0
    while importer.poll() is None:  # the importing process's own peak resident set
        try:
            for line in Path(f"/proc/{importer.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except FileNotFoundError:
            break
        time.sleep(0.2)
    output = importer.communicate()[0]
    elapsed = time.perf_counter() - started
    result = {
        "rows": rows,
        "seconds": round(elapsed, 1),
        "exit": importer.returncode,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "summary": output.strip().splitlines()[-1:],
    }
    print("import", json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
