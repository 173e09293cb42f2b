"""Redaction benchmark: a 60 s 720p25 clip with a moving face, redacted at how many times real time?

    .venv/bin/python bench/redaction.py [--seconds 60] [--style blur|box] [--keep DIR]

A test clip (testsrc2 1280x720 at 25 fps, scikit-image's astronaut photo at 300 px moving across it, H.264) is
made first and not timed. Then the product's own steps are timed on it, as the worker runs them minus S3 and
the database: the face search (app.footage.redaction.detect: PyAV decodes every frame, the Haar cascade
searches one in SAMPLE_SECONDS), the tracks and every frame's boxes, the mask file, and the one ffmpeg pass
(render_command / run_render: the grey mask piped in, blur or box inside it, libx264). The figure is seconds of
video per second of processing, for the search, the render and both together.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import tempfile
import time
import uuid
from pathlib import Path

from PIL import Image
from skimage import data as samples

from app.core import media
from app.footage import redaction
from app.footage.redaction_models import Redaction


def make_clip(directory: Path, seconds: int) -> Path:
    photo = directory / "astronaut.png"
    Image.fromarray(samples.astronaut()).save(photo)
    path = directory / "clip.mp4"
    media.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=1280x720:rate=25:duration={seconds}",
            "-loop",
            "1",
            "-i",
            str(photo),
            "-filter_complex",
            "[1:v]scale=300:300[face];[0:v][face]overlay=x='100+15*t':y=200:shortest=1",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "50",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(path),
        ]
    )
    return path


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--style", choices=redaction.STYLES, default="blur")
    parser.add_argument("--keep", type=Path, help="keep the clip, mask file and redacted copy in this folder")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-redaction-") as tmp:
        work = options.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        clip = make_clip(work, options.seconds)

        started, cpu_start = time.monotonic(), _cpu()
        found, width, height, fps, count, step = redaction.detect(clip)
        detected, cpu_detected = time.monotonic(), _cpu()
        row = Redaction(
            id=uuid.uuid4(),
            clip_id=uuid.uuid4(),
            parent_sha256=hashlib.sha256(clip.read_bytes()).hexdigest(),
            style=options.style,
            width=width,
            height=height,
            frame_rate=fps,
            frame_count=count,
            detector=redaction.detector_record(step),
            tracks=redaction.link_tracks(found),
        )
        boxes = redaction.frame_boxes(row)
        (work / "mask.json").write_bytes(redaction.mask_document(row, boxes))
        output = work / "redacted.mp4"
        redaction.run_render(row, boxes, redaction.render_command(row, str(clip), str(output)), work)
        finished, cpu_finished = time.monotonic(), _cpu()

    video_s = count / fps
    search_s, render_s, total_s = detected - started, finished - detected, finished - started
    report = {
        "clip": f"{options.seconds} s {width}x{height} at {fps:g} fps, {count} frames",
        "style": options.style,
        "frames_searched": len(found),
        "frames_with_face": sum(1 for _, b in found if b),
        "tracks": len(row.tracks),
        "frames_masked": sum(1 for b in boxes if b),
        "search_s": round(search_s, 2),
        "render_s": round(render_s, 2),
        "total_s": round(total_s, 2),
        "search_x_real_time": round(video_s / search_s, 2),
        "render_x_real_time": round(video_s / render_s, 2),
        "x_real_time": round(video_s / total_s, 2),
        # processor seconds (this process and ffmpeg): what the work costs whatever else the machine runs
        "search_cpu_s": round(cpu_detected - cpu_start, 2),
        "render_cpu_s": round(cpu_finished - cpu_detected, 2),
        "x_real_time_per_core": round(video_s / (cpu_finished - cpu_start), 2),
        "ffmpeg": media.ffmpeg_version(),
        "opencv": row.detector["version"],
        "machine": machine(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
