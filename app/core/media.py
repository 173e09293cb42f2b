"""The only code that runs ffmpeg or probes video.

The ffmpeg binary is the one imageio-ffmpeg ships in its wheel unless `ffmpeg_path` names another, so a
fresh machine needs no system package. Probing uses PyAV, which bundles FFmpeg's libraries and reads
local files and (presigned) URLs alike. PyAV is imported only where it is used: the API process inspects
uploads through `Inspector`, a child process, so FFmpeg's libraries (and their parsing of untrusted
input) stay out of the long-lived server's memory.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.core.config import get_settings
from app.core.native_formats import DHAV, IMKH, IMKH_HEADER_SIZE


class MediaError(Exception):
    """The input is not a readable video, or a media tool failed."""


@dataclass(frozen=True)
class MediaInfo:
    container: str
    video_codec: str | None
    audio_codec: str | None
    duration_s: float | None
    start_time_s: float | None
    width: int | None
    height: int | None
    frame_rate: float | None
    size: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary in use (configured, else the one bundled with imageio-ffmpeg)."""
    configured = get_settings().ffmpeg_path
    if configured:
        found = shutil.which(configured)
        if not found:
            raise MediaError(f"configured ffmpeg {configured!r} was not found or is not executable")
        return found
    import imageio_ffmpeg

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


@lru_cache(maxsize=4)
def _version_of(exe: str) -> str:
    try:
        out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise MediaError(f"ffmpeg at {exe} does not run: {exc}") from exc
    match = re.match(r"ffmpeg version (\S+)", out)
    return match.group(1) if match else out.splitlines()[0] if out else "unknown"


def ffmpeg_version() -> str:
    """The version string ffmpeg reports, e.g. ``n9.0.2-17-g2a571b6068-20260930``."""
    return _version_of(ffmpeg_exe())


def check_ready() -> str | None:
    """None when ffmpeg runs, else what is wrong."""
    try:
        exe = ffmpeg_exe()
        _version_of.cache_clear()
        _version_of(exe)
    except MediaError as exc:
        return str(exc)
    return None


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


RAW_H264_SUFFIXES = (".264", ".h264")
# Read front to back only: raw H.264 has no timestamps to seek by; the DHAV demuxer seeks only within what it read.
UNSEEKABLE_FORMATS = frozenset({"h264", "dhav"})


def open_options(
    filename: str, frame_rate: float | None, native: str | None = None
) -> tuple[str | None, dict[str, str]]:
    """(forced format, demuxer options). A raw H.264 elementary stream carries no container or timestamps, so it
    is read as `h264` at the stated frame rate; an IMKH export is read as the program stream behind its header;
    DHAV is named so that a misleading extension (a `.mp4` that is DHAV) cannot send the probe astray."""
    if native == IMKH:
        return "mpeg", {"skip_initial_bytes": str(IMKH_HEADER_SIZE)}
    if native == DHAV:
        return "dhav", {}
    if filename.lower().endswith(RAW_H264_SUFFIXES):
        return "h264", {"framerate": f"{frame_rate or 25}"}
    return None, {}


def input_args(format: str | None, options: dict[str, str]) -> list[str]:  # noqa: A002
    """The ffmpeg command-line form of (forced format, demuxer options), placed before `-i`."""
    args = ["-f", format] if format else []
    for name, value in options.items():
        args += [f"-{name}", value]
    return args


def probe(
    source: str | Path,
    *,
    options: dict[str, str] | None = None,
    format: str | None = None,  # noqa: A002
) -> MediaInfo:
    """Container, codecs, duration, start time, resolution and frame rate of a file or URL.

    Raises MediaError when the input holds no decodable video stream.
    """
    import av

    try:
        container = av.open(str(source), format=format, options=options or {}, timeout=30)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"not a readable media file: {exc}") from exc
    with container:
        video = next((s for s in container.streams if s.type == "video"), None)
        audio = next((s for s in container.streams if s.type == "audio"), None)
        if video is None:
            raise MediaError("the file holds no video stream")
        duration = container.duration / av.time_base if container.duration else None
        if duration is None and video.duration is not None:
            duration = _seconds(video.duration, video.time_base)
        start = container.start_time / av.time_base if container.start_time is not None else None
        rate = video.average_rate or video.base_rate
        if duration is None and format == "h264" and rate:
            # A raw elementary stream has no index: count its frames (one pass over the packets).
            frames = sum(1 for packet in container.demux(video) if packet.size)
            duration = frames / float(rate)
        size = Path(source).stat().st_size if isinstance(source, Path) else None
        return MediaInfo(
            container=container.format.name,
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio is not None else None,
            duration_s=round(duration, 6) if duration is not None else None,
            start_time_s=round(start, 6) if start is not None else None,
            width=video.codec_context.width or None,  # type: ignore[attr-defined]
            height=video.codec_context.height or None,  # type: ignore[attr-defined]
            frame_rate=float(rate) if rate else None,
            size=size,
        )


def run_ffmpeg(args: list[str], *, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg with `args` (without the binary); raises MediaError with ffmpeg's own words on failure."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        raise MediaError(f"ffmpeg failed to run: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise MediaError(f"ffmpeg exited {done.returncode}: {tail}")
    return done


def check_playable(
    source: str | Path,
    *,
    options: dict[str, str] | None = None,
    format: str | None = None,  # noqa: A002
    duration_s: float | None = None,
) -> None:
    """Decode the first frames and the last seconds; a file cut short (truncated export) fails here."""
    import av

    try:
        with av.open(str(source), format=format, options=options or {}, timeout=30) as container:
            stream = container.streams.video[0]
            frames = 0
            for _frame in container.decode(stream):
                frames += 1
                if frames >= 3:
                    break
            if frames == 0:
                raise MediaError("no video frame decodes")
            if duration_s and duration_s > 4 and format not in UNSEEKABLE_FORMATS:
                container.seek(int((duration_s - 2) * av.time_base), any_frame=False, backward=True)
                tail = 0
                for _frame in container.decode(stream):
                    tail += 1
                    if tail >= 2:
                        break
                if tail == 0:
                    raise MediaError("the last seconds do not decode: the file looks truncated")
    except av.FFmpegError as exc:
        raise MediaError(f"the video does not decode: {exc}") from exc


def packet_span(
    path: Path,
    *,
    options: dict[str, str] | None = None,
    format: str | None = None,  # noqa: A002
) -> tuple[float, float]:
    """(first presentation time, end of the last frame) of the video stream, in seconds, from the packets."""
    import av

    with av.open(str(path), format=format, options=options or {}) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        first: float | None = None
        last_end = 0.0
        for packet in container.demux(stream):
            if packet.pts is None or tb is None:
                continue
            start = float(packet.pts * tb)
            end = start + float((packet.duration or 0) * tb)
            first = start if first is None else min(first, start)
            last_end = max(last_end, end)
        if first is None:
            raise MediaError("the clip holds no timed video packet")
        return first, last_end


def inspect(
    source: str | Path,
    *,
    options: dict[str, str] | None = None,
    format: str | None = None,  # noqa: A002
) -> MediaInfo:
    """Probe `source` and check that it plays to its end (see `probe` and `check_playable`)."""
    info = probe(source, options=options, format=format)
    check_playable(source, options=options, format=format, duration_s=info.duration_s)
    return info


class Inspector:
    """`inspect` in a child process, started ahead of its source: the child starts Python and loads PyAV
    (about 0.4 s) while the caller is still receiving the file, then waits for the source on stdin (a
    presigned URL is a credential: never on the command line) and answers with one JSON line."""

    def __init__(self) -> None:
        self._error: OSError | None = None
        self._process: subprocess.Popen[str] | None = None
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "app.core.media"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        except OSError as exc:
            self._error = exc

    def inspect(
        self,
        source: str | Path,
        *,
        options: dict[str, str] | None = None,
        format: str | None = None,  # noqa: A002
        timeout: float = 900,
    ) -> MediaInfo:
        if self._process is None:
            raise MediaError(f"the media inspector did not start: {self._error}")
        request = json.dumps({"source": str(source), "options": options or {}, "format": format})
        try:
            stdout, stderr = self._process.communicate(request, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.close()
            raise MediaError(f"inspecting the video took longer than {timeout:.0f} s") from exc
        try:
            answer = json.loads(stdout.strip().splitlines()[-1])
        except (IndexError, ValueError) as exc:
            tail = "\n".join(stderr.strip().splitlines()[-3:])
            raise MediaError(f"the media inspector failed (exit {self._process.returncode}): {tail}") from exc
        if "error" in answer:
            raise MediaError(str(answer["error"]))
        return MediaInfo(**answer["info"])

    def close(self) -> None:
        """End the child if it has not answered (the upload was refused before the probe)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.communicate()


def _inspect_from_stdin() -> None:
    import av  # noqa: F401 - loaded before the source arrives, while the caller may still be receiving it

    request = json.loads(sys.stdin.read())
    try:
        info = inspect(request["source"], options=request["options"], format=request["format"])
    except MediaError as exc:
        print(json.dumps({"error": str(exc)}))
        return
    print(json.dumps({"info": info.as_dict()}))


if __name__ == "__main__":
    _inspect_from_stdin()
