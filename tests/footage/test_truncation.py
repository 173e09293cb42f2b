"""A recording cut short (an interrupted copy or download) is refused as MP4s already were: TS, AVI and raw H.264
by their framing and their last frame, with a 422 in plain words and nothing kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core import media
from tests.footage.test_footage import FORMATS, _no_evidence_left, _upload, _video, approved_request

# (format, keep this share of the bytes, round the cut down to whole 188-byte transport packets)
CUTS = [
    ("mpegts", 0.3, False),  # the red-team case: the head of a TS, cut anywhere
    ("mpegts", 0.5, True),  # cut on a packet boundary, inside a stream's last packet
    ("avi-mjpeg", 0.6, False),
    ("raw-h264", 0.45, False),
]


def _cut(path: Path, share: float, whole_packets: bool) -> Path:
    data = path.read_bytes()
    keep = int(len(data) * share)
    if whole_packets:
        keep -= keep % 188
    cut = path.with_name("cut-" + path.name)
    cut.write_bytes(data[:keep])
    return cut


@pytest.mark.parametrize(("fmt", "share", "whole_packets"), CUTS)
def test_a_cut_short_recording_is_refused_in_plain_words(
    fmt: str, share: float, whole_packets: bool, client: TestClient, tmp_path: Path
) -> None:
    _, owner, request_id, t0 = approved_request(client)
    name, codec = FORMATS[fmt]
    cut = _cut(_video(tmp_path, name, codec), share, whole_packets)
    # what ffmpeg makes of it alone: a shorter recording that opens and plays
    assert media.probe(cut, **_opened_as(cut)).duration_s  # type: ignore[arg-type]
    refused = _upload(client, owner, request_id, cut, t0.isoformat())
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert "ends before its last frame" in detail and "upload the whole file" in detail
    # plain words: neither the decoder's messages nor where the file was read from
    for leak in ("http", "/", "Errno", "avcodec", "X-Amz"):
        assert leak not in detail
    _no_evidence_left(request_id)
    # the request still takes the whole file
    whole = _video(tmp_path, name, codec)
    assert _upload(client, owner, request_id, whole, t0.isoformat()).status_code == 201


def _opened_as(path: Path) -> dict[str, object]:
    fmt, options = media.open_options(path.name, 25)
    return {"format": fmt, "options": options}


@pytest.mark.parametrize("fmt", ["mpegts", "avi-mjpeg", "raw-h264"])
def test_whole_recordings_pass_the_checks(fmt: str, tmp_path: Path) -> None:
    name, codec = FORMATS[fmt]
    path = _video(tmp_path, name, codec)
    info = media.probe(path, **_opened_as(path))  # type: ignore[arg-type]
    media.check_complete(path, info, **_opened_as(path))  # type: ignore[arg-type]


def test_framing_checks_on_their_own(tmp_path: Path) -> None:
    ts = _video(tmp_path, "rec.ts", FORMATS["mpegts"][1])
    avi = _video(tmp_path, "rec.avi", FORMATS["avi-mjpeg"][1])
    assert not media.ts_cut_short(media._SourceBytes(ts))
    assert not media.riff_cut_short(media._SourceBytes(avi))
    ragged = tmp_path / "ragged.ts"  # not whole packets, whatever the packet count of the recording
    ragged.write_bytes(ts.read_bytes()[: ts.stat().st_size // 2 // 188 * 188 + 100])
    assert media.ts_cut_short(media._SourceBytes(ragged))
    # cut on packet boundaries: some land inside an audio PES packet, which declares its length
    data = ts.read_bytes()
    middle = len(data) // 2 // 188 * 188
    inside_a_pes = []
    for packets in range(40):
        cut = tmp_path / f"cut-{packets}.ts"
        cut.write_bytes(data[: middle + packets * 188])
        inside_a_pes.append(media.ts_cut_short(media._SourceBytes(cut)))
    assert any(inside_a_pes) and not all(inside_a_pes)
    assert media.riff_cut_short(media._SourceBytes(_cut(avi, 0.99, False)))
