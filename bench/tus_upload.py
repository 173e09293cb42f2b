"""Resumable upload benchmark, in one run against real services (fresh PostgreSQL database, a SeaweedFS started
here, the API as `footage serve` in a subprocess):

A >= 1 GB generated recording sent through tus (POST /api/v1/uploads, then PATCHes of the rest of the file),
the connection cut three times mid-body (at about 25, 50 and 75 %) and resumed each time from the offset HEAD
reports, until the original is recorded; vs a raw minio SDK put of the same file in the same run, alternating.
Also the API process's peak RSS (the larger of VmHWM, reset just before the uploads, and VmRSS sampled every
20 ms: the kernel's high-water mark can miss a peak that the heap's trimming gives back), its CPU seconds per
upload split into user and system time, and its minor page faults. The work directory (the S3 server's data,
the generated recording) is removed at the end.

Usage: .venv/bin/python bench/tus_upload.py [--size-mb 1100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import embedded  # noqa: E402
from bench.harness import serve_api, service_env  # noqa: E402
from bench.ingest import _cpu_s, _hwm, _status_kb, _token, generate  # noqa: E402
from tests.services import create_database, drop_database  # noqa: E402

TUS = {"Tus-Resumable": "1.0.0"}
PIECE = 1024 * 1024


class Cut(Exception):
    """The client drops the connection in the middle of a body."""


def body(path: Path, start: int, stop: int | None) -> Iterator[bytes]:
    """The file from `start`, in pieces; with `stop`, the connection breaks once that offset is sent."""
    with path.open("rb") as fh:
        fh.seek(start)
        at = start
        while piece := fh.read(PIECE):
            yield piece
            at += len(piece)
            if stop is not None and at >= stop:
                raise Cut(at)


def tus_upload(http: httpx.Client, auth: dict[str, str], path: Path, meta: dict[str, str], cuts: int) -> dict[str, str]:
    size = path.stat().st_size
    encoded = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    created = http.post(
        "/api/v1/uploads", headers={**TUS, **auth, "Upload-Length": str(size), "Upload-Metadata": encoded}
    )
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    stops = [size * (n + 1) // (cuts + 1) for n in range(cuts)]
    offset = 0
    while True:
        stop = stops[0] if stops else None
        headers = {
            **TUS,
            **auth,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(size - offset),
        }
        try:
            done = http.patch(url, content=body(path, offset, stop), headers=headers)
        except Cut:
            stops.pop(0)  # the connection is gone: ask the server where it stands, as a tus client does
        else:
            if done.status_code == 204:
                return dict(done.headers)
            # refused (423: a request is still appending; 409: not the offset): ask again after a pause
            assert done.status_code in (409, 423), done.text
            time.sleep(0.05)
        # The server answers once the cut request has settled (its acknowledged parts and tail recorded).
        answer = http.head(url, headers={**TUS, **auth})
        assert answer.status_code == 200, answer.text
        offset = int(answer.headers["Upload-Offset"])


class RssPeak(threading.Thread):
    """VmRSS of a process sampled every 20 ms, its maximum kept."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            try:
                self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmRSS"))
            except (OSError, ValueError):
                return
            time.sleep(0.02)


def _times(pid: int) -> tuple[float, float, int]:
    """User and system CPU seconds (the process and its waited-for children), and its minor page faults."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[13])) / tick, (int(fields[12]) + int(fields[14])) / tick, int(fields[7])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1100)
    parser.add_argument("--rounds", type=int, default=3, help="raw and tus uploads, alternating")
    parser.add_argument("--cuts", type=int, default=3)
    parser.add_argument("--file", type=Path, help="send this recording instead of generating one")
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-tus-"))
    s3 = embedded.start_seaweedfs(work / "s3")
    db = create_database(opts.pg, prefix="bench_tus")
    api, base = serve_api(service_env(db, s3, work / "data"), embedded.free_ports(1)[0])
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
            json={"scope": "auto_approve", "valid_from": "2025-01-01T00:00:00Z", "terms_version": "1",
                  "legal_basis": "bench"},
        )  # fmt: skip
        camera = http.post(
            "/api/v1/cameras",
            headers=admin,
            json={"owner_id": owner["id"], "label": "bench", "lat": 10.77, "lon": 106.7, "retention_days": 30},
        ).json()
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        case = http.post(
            "/api/v1/cases",
            headers=inv,
            json={"number": f"B-{uuid.uuid4().hex[:6]}", "title": "bench", "offence": "bench", "incident_lat": 10.77,
                  "incident_lon": 106.7, "incident_start": t0.isoformat(),
                  "incident_end": (t0 + timedelta(hours=2)).isoformat()},
        ).json()  # fmt: skip

        big = opts.file or work / "big.mp4"
        if not opts.file:
            generate(big, seconds=max(60, int(opts.size_mb * 8 / 12)), size="1280x720", bitrate="12M")
        size = big.stat().st_size
        from minio import Minio

        raw_client = Minio(s3.endpoint, s3.access_key, s3.secret_key, secure=False)
        # Sign-ins above ran argon2id (64 MiB each) in this process: reset the peak so it measures the uploads.
        rss_at_rest = _status_kb(api.pid, "VmRSS")
        Path(f"/proc/{api.pid}/clear_refs").write_text("5")
        sampler = RssPeak(api.pid)
        sampler.start()
        rounds = []
        for n in range(opts.rounds):
            started = time.perf_counter()
            with big.open("rb") as fh:
                raw_client.put_object("evidence", f"bench/raw-{uuid.uuid4()}", fh, -1, part_size=16 * 1024 * 1024)
            raw_put = time.perf_counter() - started
            window = t0 + timedelta(seconds=40 * n)
            request = http.post(
                f"/api/v1/cases/{case['id']}/requests",
                headers=inv,
                json={"camera_id": camera["id"], "window_start": window.isoformat(),
                      "window_end": (window + timedelta(seconds=30)).isoformat(), "purpose": "bench",
                      "legal_basis": "bench"},
            ).json()  # fmt: skip
            api_cpu, times = _cpu_s(api.pid), _times(api.pid)
            started = time.perf_counter()
            meta = {"request_id": request["id"], "filename": "big.mp4", "recording_start": t0.isoformat()}
            done = tus_upload(http, own, big, meta, opts.cuts)
            tus_put = time.perf_counter() - started
            original = http.get(f"/api/v1/originals/{done['upload-original-id']}", headers=own).json()
            assert original["size"] == size, original
            rounds.append(
                {
                    "raw_put_s": round(raw_put, 2),
                    "tus_s": round(tus_put, 2),
                    "ratio": round(raw_put / tus_put, 3),
                    "api_cpu_s": round(_cpu_s(api.pid) - api_cpu, 2),
                    "api_user_s": round(_times(api.pid)[0] - times[0], 2),
                    "api_system_s": round(_times(api.pid)[1] - times[1], 2),
                    "api_minor_faults": _times(api.pid)[2] - times[2],
                    "sha256": original["sha256"],
                }
            )
            print(json.dumps(rounds[-1]), flush=True)
        median = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
        results = {
            "bytes": size,
            "cuts": opts.cuts,
            "rounds": rounds,
            "raw_MBps": round(size / median["raw_put_s"] / 1e6, 1),
            "tus_MBps": round(size / median["tus_s"] / 1e6, 1),
            "ratio_median": median["ratio"],
            "api_peak_rss_mb": round(max(_hwm(api.pid), sampler.peak_kb) / 1024, 1),
            "api_peak_vmhwm_mb": round(_hwm(api.pid) / 1024, 1),
            "api_rss_before_uploads_mb": round(rss_at_rest / 1024, 1),
        }
    finally:
        api.terminate()
        api.wait(30)
        from app.core.db import dispose_engine

        dispose_engine()
        drop_database(db)
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
