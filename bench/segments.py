"""A clip across two 1 h segments of an export vs the raw operations it stands for, in one run against real
services (a fresh PostgreSQL database, a SeaweedFS started here, the API served here):

- the clip job (`make_clip`) for a window across the boundary between the two files (the end of the first, the start
  of the second), with the originals read over presigned URLs and, second, downloaded whole first;
- raw: get both files from S3, `ffmpeg -f concat -c copy` of the same window (inpoint/outpoint), put the result.

Both segments are uploaded through the API (POST .../originals, then .../originals/complete) for every round; the
rounds alternate job and raw so both meet the same state of the machine, and the median round is reported.
The segments are kept small in bitrate (320x240) so a run takes minutes.

Usage: .venv/bin/python bench/segments.py [--hours 1] [--window-min 10] [--rounds 3]
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
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import embedded, media  # noqa: E402
from app.core.config import override_settings  # noqa: E402
from bench.harness import serve_api, service_env  # noqa: E402
from bench.ingest import _chunks, _token  # noqa: E402
from tests.services import create_database, drop_database  # noqa: E402


def generate(path: Path, seconds: int) -> None:
    """A recording of `seconds` at 25 fps, 320x240, key frame every 2 s, about 150 kbit/s."""
    media.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=320x240:rate=25:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "150k",
            "-g",
            "50",
            "-movflags",
            "+faststart",
            "-y",
            str(path),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=1.0, help="length of each segment")
    parser.add_argument("--window-min", type=float, default=10.0, help="the window, centred on the boundary")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-segments-"))
    s3 = embedded.start_seaweedfs(work / "s3")
    db = create_database(opts.pg, prefix="bench_segments")
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
    results: dict[str, Any] = {}
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
        segment_s = int(opts.hours * 3600)
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2 * segment_s + 3600)
        boundary = t0 + timedelta(seconds=segment_s)
        half = timedelta(minutes=opts.window_min / 2)
        window = (boundary - half, boundary + half)

        started = time.perf_counter()
        first, second = work / "seg-1.mp4", work / "seg-2.mp4"
        generate(first, segment_s)
        second.write_bytes(first.read_bytes())  # same pictures, the next hour on the recorder's clock
        generation_s = time.perf_counter() - started

        def request_with_segments() -> tuple[str, list[dict[str, Any]]]:
            case = http.post(
                "/api/v1/cases",
                headers=inv,
                json={
                    "number": f"B-{uuid.uuid4().hex[:6]}",
                    "title": "bench",
                    "offence": "bench",
                    "incident_lat": 10.77,
                    "incident_lon": 106.7,
                    "incident_start": window[0].isoformat(),
                    "incident_end": window[1].isoformat(),
                },
            ).json()
            request_id = str(
                http.post(
                    f"/api/v1/cases/{case['id']}/requests",
                    headers=inv,
                    json={
                        "camera_id": camera["id"],
                        "window_start": window[0].isoformat(),
                        "window_end": window[1].isoformat(),
                        "purpose": "bench",
                        "legal_basis": "bench",
                    },
                ).json()["id"]
            )
            originals = []
            for path, start in ((first, t0), (second, boundary)):
                with path.open("rb") as fh:
                    response = http.post(
                        f"/api/v1/requests/{request_id}/originals",
                        content=_chunks(fh),
                        headers={
                            **own,
                            "X-Filename": path.name,
                            "X-Recording-Start": start.isoformat(),
                            "Content-Length": str(path.stat().st_size),
                        },
                    )
                assert response.status_code == 201, response.text
                originals.append(response.json())
            done = http.post(f"/api/v1/requests/{request_id}/originals/complete", headers=own)
            assert done.status_code == 200 and done.json()["status"] == "footage_received", done.text
            return request_id, originals

        from minio import Minio

        import app.models  # noqa: F401 - every table, for the ORM in this process
        from app.core.db import session_factory
        from app.footage.cutting import make_clip

        raw_client = Minio(s3.endpoint, s3.access_key, s3.secret_key, secure=False)
        rounds = []
        for n in range(opts.rounds):
            row: dict[str, Any] = {}
            for mode in ("presigned_url", "download"):
                request_id, originals = request_with_segments()
                override_settings(clip_source=mode)
                started = time.perf_counter()
                clip = make_clip(session_factory(), uuid.UUID(request_id))
                row[f"job_{mode}_s"] = round(time.perf_counter() - started, 2)
                assert clip is not None and len(clip.parents) == 2
                assert clip.actual_start <= window[0] + timedelta(seconds=0.05)
                assert clip.actual_end >= window[1] - timedelta(seconds=0.05)
                row["clip_bytes"] = clip.size
            # raw: get both, ffmpeg's concat demuxer over the window, put the result
            started = time.perf_counter()
            local = []
            for original, path in zip(originals, (first, second), strict=True):
                copy = work / f"raw-{n}-{path.name}"
                raw_client.fget_object(
                    "evidence",
                    f"originals/{request_id}/{original['id']}/{path.name}",
                    str(copy),
                    version_id=original["version_id"],
                )
                local.append(copy)
            listing = work / f"raw-{n}.txt"
            inpoint = (window[0] - t0).total_seconds()
            outpoint = (window[1] - boundary).total_seconds()
            listing.write_text(f"file '{local[0]}'\ninpoint {inpoint}\nfile '{local[1]}'\noutpoint {outpoint}\n")
            out = work / f"raw-clip-{n}.mp4"
            media.run_ffmpeg(
                ["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0", "-c", "copy", "-y", str(out)]
            )
            raw_client.fput_object("evidence", f"bench/raw-clip-{uuid.uuid4()}.mp4", str(out))
            row["raw_s"] = round(time.perf_counter() - started, 2)
            row["raw_clip_bytes"] = out.stat().st_size
            for mode in ("presigned_url", "download"):
                row[f"ratio_{mode}"] = round(row[f"job_{mode}_s"] / row["raw_s"], 3)
            for path in (*local, out):
                path.unlink()
            rounds.append(row)
            print(json.dumps(row), flush=True)
        median = sorted(rounds, key=lambda r: r["ratio_download"])[len(rounds) // 2]
        results["segments"] = {
            "segment_s": segment_s,
            "segment_bytes": first.stat().st_size,
            "window_s": opts.window_min * 60,
            "generation_s": round(generation_s, 1),
            "rounds": rounds,
            "median_round": median,
        }
    finally:
        api.send_signal(signal.SIGTERM)
        api.wait(30)
        from app.core.db import dispose_engine

        dispose_engine()
        drop_database(db)
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)  # the S3 data and generated recordings: gigabytes per run
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
