"""Footage benchmarks, in one run against real services (fresh PostgreSQL database, a SeaweedFS started here):

1. Upload of a >= 1 GB generated recording through the API (PUT /api/v1/requests/{id}/original, streamed and
   hashed) vs a raw minio SDK put of the same file; the API process's peak RSS (VmHWM) during it.
2. The clip job for 60 s of a >= 1 h recording vs the raw operations it stands for: get the original, ffmpeg
   -c copy on the local copy, put the clip.

Usage: .venv/bin/python bench/ingest.py [--size-mb 1100] [--hours 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import embedded, media  # noqa: E402
from app.core.config import override_settings  # noqa: E402
from bench.harness import serve_api, service_env  # noqa: E402
from tests.services import create_database, drop_database  # noqa: E402


def generate(path: Path, *, seconds: int, size: str, bitrate: str | None) -> None:
    args = [
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate=25:duration={seconds}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "50",
    ]
    args += ["-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate] if bitrate else []
    media.run_ffmpeg([*args, "-movflags", "+faststart", "-y", str(path)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1100)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="raw and API uploads, alternating")
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    s3 = embedded.start_seaweedfs(work / "s3")
    db = create_database(opts.pg, prefix="bench_ingest")
    port = embedded.free_ports(1)[0]
    env = service_env(db, s3, work / "data")
    override_settings(
        database_url=db,
        s3_endpoint=s3.endpoint,
        s3_access_key=s3.access_key,
        s3_secret_key=s3.secret_key,
        data_dir=work / "data",
    )
    api, base = serve_api(env, port)
    results: dict[str, object] = {}
    try:
        http = httpx.Client(base_url=base, timeout=3600)
        admin = _token(http, "admin@example.org", "bench admin password")
        unit = http.post("/api/v1/units", json={"name": "Bench", "code": "BENCH"}, headers=admin).json()
        owner = http.post("/api/v1/owners", json={"name": "Bench owner", "kind": "business"}, headers=admin).json()
        for email, role, extra in (
            ("inv@example.org", "investigator", {"unit_id": unit["id"]}),
            ("own@example.org", "owner", {"owner_id": owner["id"]}),
        ):
            http.post(
                "/api/v1/users",
                headers=admin,
                json={"email": email, "password": "bench password 1", "full_name": role, "role": role, **extra},
            )
        inv = _token(http, "inv@example.org", "bench password 1")
        own = _token(http, "own@example.org", "bench password 1")
        http.post(
            f"/api/v1/owners/{owner['id']}/consents",
            headers=admin,
            json={
                "scope": "auto_approve",
                "valid_from": "2025-01-01T00:00:00Z",
                "terms_version": "1",
                "legal_basis": "bench",
            },
        )
        camera = http.post(
            "/api/v1/cameras",
            headers=admin,
            json={"owner_id": owner["id"], "label": "bench", "lat": 10.77, "lon": 106.7, "retention_days": 30},
        ).json()
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        case = http.post(
            "/api/v1/cases",
            headers=inv,
            json={
                "number": f"B-{uuid.uuid4().hex[:6]}",
                "title": "bench",
                "offence": "bench",
                "incident_lat": 10.77,
                "incident_lon": 106.7,
                "incident_start": t0.isoformat(),
                "incident_end": (t0 + timedelta(hours=2)).isoformat(),
            },
        ).json()

        def new_request(start: datetime, end: datetime) -> str:
            return str(
                http.post(
                    f"/api/v1/cases/{case['id']}/requests",
                    headers=inv,
                    json={
                        "camera_id": camera["id"],
                        "window_start": start.isoformat(),
                        "window_end": end.isoformat(),
                        "purpose": "bench",
                        "legal_basis": "bench",
                    },
                ).json()["id"]
            )

        # 1. upload vs raw put
        big = work / "big.mp4"
        seconds = max(60, int(opts.size_mb * 8 / 12 / 1))  # ~12 Mbit/s
        generate(big, seconds=seconds, size="1280x720", bitrate="12M")
        size = big.stat().st_size
        from minio import Minio

        raw_client = Minio(s3.endpoint, s3.access_key, s3.secret_key, secure=False)
        rss_before = _hwm(api.pid)
        # Sign-ins above ran argon2id (64 MiB each) in this process: reset the peak so it measures the uploads.
        Path(f"/proc/{api.pid}/clear_refs").write_text("5")
        rss_at_rest = _status_kb(api.pid, "VmRSS")
        rounds = []
        # Raw and API puts alternate, so both meet the same state of the machine; the median round is reported.
        for n in range(opts.rounds):
            s3_cpu = _cpu_s(s3.process.pid)
            started = time.perf_counter()
            with big.open("rb") as fh:
                raw_client.put_object("evidence", f"bench/raw-{uuid.uuid4()}", fh, -1, part_size=16 * 1024 * 1024)
            raw_put = time.perf_counter() - started
            raw_s3_cpu = _cpu_s(s3.process.pid) - s3_cpu
            window = t0 + timedelta(seconds=40 * n)
            request_id = new_request(window, window + timedelta(seconds=30))
            api_cpu, s3_cpu = _cpu_s(api.pid), _cpu_s(s3.process.pid)
            started = time.perf_counter()
            with big.open("rb") as fh:
                response = http.put(
                    f"/api/v1/requests/{request_id}/original",
                    content=_chunks(fh),
                    headers={
                        **own,
                        "X-Filename": "big.mp4",
                        "X-Recording-Start": t0.isoformat(),
                        "Content-Length": str(size),
                    },
                )
            api_put = time.perf_counter() - started
            assert response.status_code == 201, response.text
            rounds.append(
                {
                    "raw_put_s": round(raw_put, 2),
                    "api_put_s": round(api_put, 2),
                    "ratio": round(raw_put / api_put, 3),
                    # CPU seconds spent meanwhile: the API process with its probe child, the S3 server in each put
                    "api_cpu_s": round(_cpu_s(api.pid) - api_cpu, 2),
                    "s3_cpu_raw_s": round(raw_s3_cpu, 2),
                    "s3_cpu_api_s": round(_cpu_s(s3.process.pid) - s3_cpu, 2),
                }
            )
            print(json.dumps(rounds[-1]), flush=True)
        median = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
        results["upload"] = {
            "bytes": size,
            "rounds": rounds,
            "raw_MBps": round(size / median["raw_put_s"] / 1e6, 1),
            "api_MBps": round(size / median["api_put_s"] / 1e6, 1),
            "throughput_ratio_median": median["ratio"],
            "api_cpu_s_median": sorted(r["api_cpu_s"] for r in rounds)[len(rounds) // 2],
            "api_peak_rss_mb": round(_hwm(api.pid) / 1024, 1),
            "api_peak_rss_before_reset_mb": round(rss_before / 1024, 1),
            "api_rss_before_upload_mb": round(rss_at_rest / 1024, 1),
        }
        print(json.dumps(results["upload"]), flush=True)

        # 2. clip job (reading the original over a presigned URL, and with a full download first) vs raw get +
        #    ffmpeg -c copy + put
        long = work / "long.mp4"
        generate(long, seconds=int(opts.hours * 3600), size="320x240", bitrate=None)
        middle = t0 + timedelta(seconds=int(opts.hours * 1800))
        from app.core.config import get_settings
        from app.core.db import session_factory
        from app.footage.cutting import make_clip

        timings: dict[str, float] = {}
        for n, mode in enumerate(("presigned_url", "download")):
            start = middle + timedelta(minutes=5 * n)  # windows must not overlap: the API refuses a duplicate
            request_id = new_request(start, start + timedelta(minutes=1))
            with long.open("rb") as fh:
                response = http.put(
                    f"/api/v1/requests/{request_id}/original",
                    content=_chunks(fh),
                    headers={**own, "X-Filename": "long.mp4", "X-Recording-Start": t0.isoformat()},
                )
            assert response.status_code == 201, response.text
            original = response.json()
            override_settings(clip_source=mode)
            started = time.perf_counter()
            clip = make_clip(session_factory(), uuid.UUID(request_id))
            timings[mode] = time.perf_counter() - started
            assert clip is not None and clip.actual_end - clip.actual_start >= timedelta(seconds=59)
        assert get_settings().clip_source == "download"
        started = time.perf_counter()
        local = work / "raw-copy.mp4"
        raw_client.fget_object(
            "evidence",
            f"originals/{request_id}/{original['id']}/long.mp4",
            str(local),
            version_id=original["version_id"],
        )
        out = work / "raw-clip.mp4"
        offset = (start - t0).total_seconds()
        media.run_ffmpeg(
            ["-ss", str(offset), "-i", str(local), "-to", str(offset + 60), "-map", "0", "-c", "copy", "-y", str(out)]
        )
        raw_client.fput_object("evidence", f"bench/raw-clip-{uuid.uuid4()}.mp4", str(out))
        raw = time.perf_counter() - started
        results["clip"] = {
            "original_bytes": long.stat().st_size,
            "job_url_s": round(timings["presigned_url"], 2),
            "job_download_s": round(timings["download"], 2),
            "raw_s": round(raw, 2),
            "ratio_url": round(timings["presigned_url"] / raw, 3),
            "ratio_download": round(timings["download"] / raw, 3),
            "clip_bytes": clip.size,
        }
        print(json.dumps(results["clip"]), flush=True)
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(30)
        from app.core.db import dispose_engine

        dispose_engine()
        drop_database(db)
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)  # the S3 data and generated recordings: gigabytes per run
    print(json.dumps(results, indent=2))


def _chunks(fh: object, size: int = 1024 * 1024):  # type: ignore[no-untyped-def]
    while chunk := fh.read(size):  # type: ignore[attr-defined]
        yield chunk


def _status_kb(pid: int, field: str) -> int:
    """A memory figure (kB) of the process from /proc: VmHWM is its peak resident set so far, VmRSS the current."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of the process and of its children it has waited for, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _hwm(pid: int) -> int:
    return _status_kb(pid, "VmHWM")


def _token(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    token = http.post("/api/v1/auth/token", data={"username": email, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


if __name__ == "__main__":
    main()
