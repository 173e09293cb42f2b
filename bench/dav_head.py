"""Reading the recording start from a stored Dahua `.dav` touches only its head and tail.

Builds DHAV files of 200 MB and 2 GB quickly: real DHAV frames (generated H.264) for the first and the last
seconds, the recorder's clock and frame counter continuing across, and a sparse hole between them. Each is put into
a SeaweedFS started here; then the recorder's clock at the first and last frame is read from the stored object
as ingest reads it (two ranged GETs), timed over several runs, with the bytes fetched counted; for contrast, one
whole read of the 200 MB object.

Usage: .venv/bin/python bench/dav_head.py [--sizes-mb 200 2048] [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import embedded  # noqa: E402
from app.core.config import override_settings  # noqa: E402
from app.core.storage import get_storage, reset_storage  # noqa: E402
from app.footage import recording_start  # noqa: E402
from tests.footage.recorder_exports import write_dav  # noqa: E402

START = datetime(2026, 11, 23, 20, 12, 0)
BITRATE = 4_000_000  # a recorder's main stream, bits per second: sets the recording's length for a size
EDGE_S = 10  # seconds of real frames at each end


def sparse_dav(path: Path, size: int, work: Path) -> timedelta:
    """A DHAV file of `size` bytes: real frames at both ends, a hole between. Returns the first-to-last span."""
    span_s = max(2 * EDGE_S + 1, int(size * 8 / BITRATE))
    head = write_dav(work / "head.dav", START, seconds=EDGE_S)
    tail_start_s = span_s - EDGE_S
    tail = write_dav(
        work / "tail.dav",
        START + timedelta(seconds=tail_start_s),
        seconds=EDGE_S,
        first_millis=(tail_start_s * 1000) % 0x10000,
        first_sequence=tail_start_s * 25 + 1,
    )
    tail_bytes = tail.read_bytes()
    with path.open("wb") as out:
        out.write(head.read_bytes())
        out.seek(size - len(tail_bytes))
        out.write(tail_bytes)
    return timedelta(seconds=tail_start_s + EDGE_S - 0.04)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[200, 2048])
    parser.add_argument("--runs", type=int, default=20)
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-dav-"))
    s3 = embedded.start_seaweedfs(work / "s3")
    override_settings(s3_endpoint=s3.endpoint, s3_access_key=s3.access_key, s3_secret_key=s3.secret_key)
    reset_storage()
    store = get_storage()
    store.ensure_bucket(create=True)
    results: list[dict[str, object]] = []
    try:
        for size_mb in opts.sizes_mb:
            size = size_mb * 1024 * 1024
            path = work / f"export-{size_mb}.dav"
            span = sparse_dav(path, size, work)
            started = time.perf_counter()
            stored = store.put_file(f"bench/{path.name}", path)
            put_s = time.perf_counter() - started
            path.unlink()
            timings = []
            clock = None
            for _ in range(opts.runs):
                started = time.perf_counter()
                clock = recording_start.file_clock(stored.key, stored.version_id, size)
                timings.append(time.perf_counter() - started)
            assert clock is not None and clock.first == START and clock.last - clock.first == span, clock
            row: dict[str, object] = {
                "size_mb": size_mb,
                "recording_span_s": span.total_seconds(),
                "put_s": round(put_s, 2),
                "read_start_median_ms": round(statistics.median(timings) * 1000, 2),
                "read_start_max_ms": round(max(timings) * 1000, 2),
                "bytes_read": clock.bytes_read,
                "runs": opts.runs,
            }
            if size_mb == min(opts.sizes_mb):
                started = time.perf_counter()
                whole = sum(len(chunk) for chunk in store.iter_version(stored.key, stored.version_id))
                row["whole_read_s"] = round(time.perf_counter() - started, 2)
                assert whole == size
            results.append(row)
            print(json.dumps(row), flush=True)
    finally:
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"dav_head": results}, indent=2))


if __name__ == "__main__":
    main()
