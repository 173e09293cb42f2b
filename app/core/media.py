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
from typing import Any, cast

from app.core.config import get_settings
from app.core.native_formats import DHAV, IMKH, IMKH_HEADER_SIZE


class MediaError(Exception):
    """The input is not a readable video, or a media tool failed.

    `plain` says what is wrong in words an uploader can act on; the decoder's own words (which may name the file's
    path or URL) follow it in str(error), for the logs and the original's record only."""

    def __init__(self, plain: str, *, tool_words: str | None = None) -> None:
        super().__init__(plain if tool_words is None else f"{plain}: {tool_words}")
        self.plain = plain


class TruncatedMedia(MediaError):
    """The file ends before its last frame: an export, copy or download that stopped early."""

    def __init__(self, tool_words: str | None = None) -> None:
        super().__init__(CUT_SHORT, tool_words=tool_words)


CUT_SHORT = (
    "the file ends before its last frame, as when a copy or download stops early; copy or export it again "
    "from the recorder and upload the whole file"
)


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


def remux_args(
    source: str,
    output: str,
    format: str | None,  # noqa: A002
    options: dict[str, str],
    *,
    maps: tuple[str, ...] = ("0",),
    faststart: bool = False,
) -> list[str]:
    """ffmpeg's arguments for a remux by stream copy (no re-encoding) of `source` into `output`'s container: the
    packets and their timing are kept, presentation times generated where the input lacks them; `faststart` puts
    an MP4's index first, so a browser starts playing at once."""
    args = ["-fflags", "+genpts", *input_args(format, options), "-i", source]
    for stream in maps:
        args += ["-map", stream]
    args += ["-c", "copy", *(["-movflags", "+faststart"] if faststart else [])]
    return [*args, "-y", output]


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
        raise MediaError("no video could be read from the file", tool_words=str(exc)) from exc
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
                    raise TruncatedMedia("the last seconds do not decode")
    except av.FFmpegError as exc:
        raise MediaError("the video does not decode", tool_words=str(exc)) from exc


def packet_span(
    path: Path,
    *,
    options: dict[str, str] | None = None,
    format: str | None = None,  # noqa: A002
) -> tuple[float, float]:
    """(first presentation time, end of the last frame) of the video stream, in seconds, from the packets.

    The first time is that of the first frame a decoder shows: the first keyframe's, or an earlier-shown frame
    decoded after it. Frames shown before the first keyframe are not counted: after a cut they are the leading
    pictures of an open GOP (HEVC RASL, open-GOP B-frames), which reference the GOP cut away and are dropped."""
    first, last_end, _ = _video_span(path, options=options, format=format)
    return first, last_end


def clip_span(path: Path) -> tuple[float, float, int]:
    """`packet_span` of a clip just cut, and how many of its video packets an MP4's edit list hides from a player
    (0 for other containers). A stream copy whose video was shifted to before 0 keeps those packets in the file,
    but the edit list that starts the presentation at 0 hides them: the clip would seem to start at 0 though its
    first key frame is earlier. The file's sample count (its header) against the packets read tells."""
    return _video_span(path)


def _video_span(
    path: Path,
    *,
    options: dict[str, str] | None = None,
    format: str | None = None,  # noqa: A002
) -> tuple[float, float, int]:
    import av

    with av.open(str(path), format=format, options=options or {}) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        # in the stream's time base (whole ticks) while reading: seconds once, at the end
        keyframe: int | None = None
        first: int | None = None
        earliest: int | None = None  # of any packet: a stream whose container marks no keyframe
        last_end: int | None = None
        read = 0
        for packet in container.demux(stream):
            start = packet.pts
            if start is None or tb is None:
                continue
            read += 1
            end = start + (packet.duration or 0)
            last_end = end if last_end is None else max(last_end, end)
            earliest = start if earliest is None else min(earliest, start)
            if keyframe is None and not packet.is_keyframe:
                continue  # nothing before the first keyframe decodes
            keyframe = start if keyframe is None else keyframe
            if start >= keyframe:
                first = start if first is None else min(first, start)
        first = earliest if first is None else first
        if first is None or tb is None:
            raise MediaError("the clip holds no timed video packet")
        indexed = "mov" in container.format.name.split(",") and stream.frames > 0
        hidden = max(0, stream.frames - read) if indexed else 0
        return float(first * tb), max(0.0, float((last_end or 0) * tb)), hidden


AVFMT_SEEK_TO_PTS = 0x4000000  # the demuxer seeks by presentation time (MP4): ffmpeg then seeks exactly
FFMPEG_DTS_SEEK_MARGIN = 3 * 1_000_000 // 23  # how much earlier ffmpeg seeks by decode time when frames reorder


def cut_key_frame(
    source: str | Path,
    offset_s: float,
    *,
    concat_inpoint: bool = False,
    options: dict[str, str] | None = None,
    format: str | None = None,  # noqa: A002
) -> float | None:
    """The presentation time of the key frame a stream-copy cut from `offset_s` will start at, read from the
    source's index before cutting (no frame is decoded): the key frame at or before the point ffmpeg seeks to.

    As `ffmpeg -ss offset_s -i source -c copy -copyts -start_at_zero` seeks (the offset counts from the file's
    start time, and a demuxer that seeks by decode time is asked 3/23 s earlier when frames reorder), the time is
    an offset from the file's start; as the concat demuxer seeks to an `inpoint` (`concat_inpoint`), it is the
    file's own timestamp. None when the source cannot be read so: the caller then measures instead of predicting."""
    import av

    try:
        with av.open(str(source), format=format, options=options or {}, timeout=30) as container:
            video = container.streams.video[0]
            tb = video.time_base
            if tb is None:
                return None
            base = 0 if concat_inpoint or container.start_time is None else container.start_time
            target = round(offset_s * av.time_base) + base
            reorders = any(v.codec_context.has_b_frames for v in container.streams.video)
            if reorders and not concat_inpoint and not container.format.flags & AVFMT_SEEK_TO_PTS:
                target -= FFMPEG_DTS_SEEK_MARGIN
            container.seek(target, backward=True, any_frame=False)
            for packet in container.demux(video):
                if packet.pts is not None and packet.is_keyframe:
                    return float(packet.pts * tb) - base / av.time_base
    except (av.FFmpegError, OSError, ValueError, IndexError):
        return None
    return None


class _SourceBytes:
    """Ranged reads of a local file or an HTTP(S) URL (a presigned GET), and its size: how the truncation checks
    read a container's framing without downloading the file."""

    def __init__(self, source: str | Path) -> None:
        self.source = str(source)
        self.remote = "://" in self.source
        if self.remote:
            self.size = -1
            self.read(0, 1)  # learns the size from Content-Range
        else:
            self.size = Path(self.source).stat().st_size

    def read(self, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        if not self.remote:
            with open(self.source, "rb") as fh:
                fh.seek(offset)
                return fh.read(length)
        import urllib.request

        ask = urllib.request.Request(self.source, headers={"Range": f"bytes={offset}-{offset + length - 1}"})
        with urllib.request.urlopen(ask, timeout=60) as answer:  # noqa: S310 - our own storage's presigned URL
            total = str(answer.headers.get("Content-Range", "")).rpartition("/")[2]
            if total.isdigit():
                self.size = int(total)
            body: bytes = answer.read(length)
            return body


TS_PACKET_LAYOUTS = ((188, 0), (192, 4), (204, 0))  # packet size, bytes before the sync byte (M2TS: a time code)
TS_TAIL_BYTES = 2 * 1024 * 1024


def ts_cut_short(data: _SourceBytes) -> bool:
    """An MPEG-TS cut short: its size is not a whole number of packets, or a stream's last PES packet declares more
    bytes than the file still holds. A stream whose PES packets declare no length (0, allowed for video) is left
    to the decoder check."""
    head = data.read(0, 1024)
    layout = next(
        (
            (size, lead)
            for size, lead in TS_PACKET_LAYOUTS
            if len(head) >= lead + 2 * size + 1 and head[lead] == 0x47 and head[lead + size] == 0x47
        ),
        None,
    )
    if layout is None:
        return False
    packet, lead = layout
    if data.size % packet:
        return True
    span = min(data.size, TS_TAIL_BYTES // packet * packet)
    tail = data.read(data.size - span, span)
    open_pes: dict[int, list[int]] = {}  # PID -> [declared length, payload bytes seen]
    for at in range(0, len(tail) - packet + 1, packet):
        ts = tail[at + lead : at + lead + 188]
        if ts[0] != 0x47:
            continue
        pid = ((ts[1] & 0x1F) << 8) | ts[2]
        control = (ts[3] >> 4) & 3
        if not control & 1:
            continue  # no payload
        start = 5 + ts[4] if control & 2 else 4
        if start >= 188:
            continue
        payload = ts[start:]
        if ts[1] & 0x40 and payload[:3] == b"\0\0\1" and len(payload) >= 6:
            open_pes[pid] = [int.from_bytes(payload[4:6], "big"), len(payload) - 6]
        elif pid in open_pes:
            open_pes[pid][1] += len(payload)
    return any(declared and seen < declared for declared, seen in open_pes.values())


def riff_cut_short(data: _SourceBytes) -> bool:
    """An AVI cut short: a RIFF chunk ('AVI ', then 'AVIX' for files past 1 GB) declares more bytes than follow."""
    offset = 0
    while offset + 12 <= data.size:
        head = data.read(offset, 12)
        if head[:4] != b"RIFF":
            return False  # bytes after the last chunk are not framing this check judges
        size = int.from_bytes(head[4:8], "little")
        if size == 0:
            return False  # a recorder that never finalised the header: the decoder check judges
        if offset + 8 + size > data.size:
            return True
        offset += 8 + size + (size & 1)
    return False


# Containers without an index that tells where the file should end: the last frame is decoded strictly.
FRAMED_BY_PACKETS = frozenset({"mpegts", "avi", "h264", "hevc"})
TAIL_SECONDS = 12.0
MAX_TAIL_PACKETS = 2000


def last_frame_cut_short(
    source: str | Path,
    *,
    options: dict[str, str] | None,
    format: str | None,
    duration_s: float | None,  # noqa: A002
) -> bool:
    """Decode the last group of pictures strictly: a cut-short file's final packet fails to decode (the bytes of
    its last frame end early). An error before the final packet is damage inside the recording, not a cut: this
    check leaves it alone (the recording is still evidence)."""
    import av

    with av.open(str(source), format=format, options=options or {}, timeout=30) as container:
        stream = container.streams.video[0]
        if duration_s and duration_s > TAIL_SECONDS and format not in UNSEEKABLE_FORMATS:
            container.seek(int((duration_s - TAIL_SECONDS) * av.time_base), any_frame=False, backward=True)
        group: list[Any] = []
        for packet in container.demux(stream):
            if not packet.size:
                continue
            if packet.is_keyframe:
                group = []
            group.append(packet)
            if len(group) > MAX_TAIL_PACKETS:
                return False  # no key frame near the end to decode from: not judged
        if not group or not group[0].is_keyframe:
            return False
        decoder = cast("av.VideoCodecContext", av.CodecContext.create(stream.codec_context.name, "r"))
        if stream.codec_context.extradata:
            decoder.extradata = stream.codec_context.extradata
        decoder.options = {"err_detect": "explode"}
        for index, packet in enumerate(group):
            try:
                decoder.decode(packet)
            except av.FFmpegError:
                return index == len(group) - 1
        try:
            decoder.decode(None)
        except av.FFmpegError:
            return True
        return False


def check_complete(
    source: str | Path,
    info: MediaInfo,
    *,
    options: dict[str, str] | None = None,
    format: str | None = None,  # noqa: A002
) -> None:
    """Refuse a TS, AVI or raw stream cut short (an MP4 cut short fails `check_playable` by its index): by the
    container's framing where it has one, then by decoding the last frames strictly."""
    import av

    container = info.container
    if container not in FRAMED_BY_PACKETS:
        return
    try:
        data = _SourceBytes(source)
        if container == "mpegts" and ts_cut_short(data):
            raise TruncatedMedia("the last transport-stream packet is incomplete")
        if container == "avi" and riff_cut_short(data):
            raise TruncatedMedia("the AVI ends before the size its header declares")
        if last_frame_cut_short(source, options=options, format=format, duration_s=info.duration_s):
            raise TruncatedMedia("the last frame does not decode")
    except (OSError, av.FFmpegError) as exc:
        raise MediaError("the end of the video could not be read", tool_words=str(exc)) from exc


def inspect(
    source: str | Path,
    *,
    options: dict[str, str] | None = None,
    format: str | None = None,  # noqa: A002
) -> MediaInfo:
    """Probe `source` and check that it plays to its end (see `probe` and `check_playable`)."""
    info = probe(source, options=options, format=format)
    check_playable(source, options=options, format=format, duration_s=info.duration_s)
    check_complete(source, info, options=options, format=format)
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
            if answer.get("truncated"):
                raise TruncatedMedia(answer.get("tool_words"))
            raise MediaError(str(answer.get("plain") or answer["error"]), tool_words=answer.get("tool_words"))
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
        words = str(exc)[len(exc.plain) + 2 :] or None
        truncated = isinstance(exc, TruncatedMedia)
        print(json.dumps({"error": str(exc), "plain": exc.plain, "tool_words": words, "truncated": truncated}))
        return
    print(json.dumps({"info": info.as_dict()}))


if __name__ == "__main__":
    _inspect_from_stdin()
