"""Playback start against storage: the first frame of a clip in Chromium (through the player's logged link and its
redirect to storage) against fetching the clip's first 1 MB straight from storage, in the same run.

    .venv/bin/python bench/playback.py --runs 7

Starts its own SeaweedFS, a fresh database on the PostgreSQL server (TEST_DATABASE_URL or 127.0.0.1:5432) and the
service with its worker; one camera hands over a 720p25 H.264 recording of 60 s and the clip of 40 s is cut from it
(stream copy, MP4 with its index first). Each run opens the player page afresh (a new link, logged), then times in
the page: setting the video's source to the link → the first frame presented (requestVideoFrameCallback). Beside it
each run times a ranged GET of bytes 0..1 MiB of the same clip version from a presigned URL. Goal: first frame
≤ 2 × the 1 MB fetch (median of the runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from app.core import media  # noqa: E402
from tests.services import fresh_database, seaweedfs  # noqa: E402
from tests.web.browser import CHROMIUM, DESKTOP, live_service  # noqa: E402
from tests.web.evidence_scene import FPS, scene, sign_in  # noqa: E402

FIRST_FRAME_JS = """async (url) => {
  const player = document.getElementById("player");  // the page's own video stops loading: nothing competes
  player.removeAttribute("src");
  player.load();
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  document.body.appendChild(video);
  const started = performance.now();
  const shown = new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(performance.now())));
  video.src = url;
  await video.play();
  const at = await shown;
  video.pause();
  video.remove();
  return at - started;
}"""


def hd_video(path: Path, first_frame: int, seconds: int) -> Path:
    """A 720p25 recording with moving detail (testsrc2), about 2.5 Mbit/s as recorders write."""
    media.run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate={FPS}:duration={seconds}"]
        + ["-c:v", "libx264", "-preset", "veryfast", "-b:v", "2500k", "-g", str(FPS * 2), "-pix_fmt", "yuv420p"]
        + ["-y", str(path)]
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    server = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    with tempfile.TemporaryDirectory(prefix="bench-playback-") as tmp:
        work = Path(tmp)
        with (
            seaweedfs(work / "s3") as s3,
            fresh_database(server) as url,
            live_service(url, s3, "bench-playback", work / "data") as service,
        ):
            made = scene(
                service, work, [("Cửa trước", 10.7725, 106.6981, 0, 0.0)], seconds=60, window_s=(10, 50), video=hd_video
            )
            clip = made.cameras[0].clip
            print(f"clip: {clip['size'] / 1e6:.1f} MB, {clip['container']}")
            firsts: list[float] = []
            fetches: list[float] = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_context(viewport=DESKTOP).new_page()
                sign_in(page, service.base, made.investigator_email)
                with httpx.Client(base_url=service.base, timeout=60) as http:
                    for run in range(args.runs):
                        page.goto(f"{service.base}/clips/{clip['id']}/play")
                        source = page.locator("#player").get_attribute("src") or ""
                        first = float(page.evaluate(FIRST_FRAME_JS, source))
                        link = http.post(
                            f"/api/v1/clips/{clip['id']}/download-link",
                            headers=made.investigator,
                            json={"purpose": "đo thời gian tải"},
                        ).json()["url"]
                        location = http.get(link, follow_redirects=False).headers["location"]
                        started = time.perf_counter()
                        with httpx.Client(timeout=60) as storage:
                            body = storage.get(location, headers={"Range": "bytes=0-1048575"})
                        fetch = (time.perf_counter() - started) * 1000
                        assert body.status_code == 206 and len(body.content) == 1048576, body.status_code
                        firsts.append(first)
                        fetches.append(fetch)
                        print(f"run {run + 1}: first frame {first:.0f} ms, first 1 MB from storage {fetch:.0f} ms")
                browser.close()
    first_median, fetch_median = statistics.median(firsts), statistics.median(fetches)
    print(
        f"median first frame {first_median:.0f} ms (range {min(firsts):.0f}–{max(firsts):.0f}); median 1 MB fetch "
        f"{fetch_median:.0f} ms (range {min(fetches):.0f}–{max(fetches):.0f}); ratio {first_median / fetch_median:.2f}"
        f" (goal ≤ 2); {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}"
    )


if __name__ == "__main__":
    main()
