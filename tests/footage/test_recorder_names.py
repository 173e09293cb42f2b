"""Recorder file names as exports carry them: the start (and end) in the recorder's local clock."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.footage.recorder_names import NamedRecording, parse

S = datetime(2026, 11, 23, 20, 12, 0)
E = datetime(2026, 11, 23, 20, 42, 0)

MATCHES: list[tuple[str, NamedRecording]] = [
    ("ch01_20261123201200.mp4", NamedRecording(S, None, "hikvision", 1)),
    ("ch01_20261123201200_20261123204200.mp4", NamedRecording(S, E, "hikvision", 1)),
    ("CH12_20261123201200_20261123204200_3.mp4", NamedRecording(S, E, "hikvision", 12)),
    ("ch02_20261123201200123_20261123204200456.mp4", NamedRecording(S, E, "hikvision", 2)),
    ("ch1_20261123201200.avi", NamedRecording(S, None, "hikvision", 1)),
    (
        "NVR4108HS_ch1_main_2026-11-23.20.12.00-2026-11-23.20.42.00[M][0@0][0].dav",
        NamedRecording(S, E, "dahua", 1),
    ),
    ("2026-11-23.20.12.00-2026-11-23.20.42.00[R][0@0][0].dav", NamedRecording(S, E, "dahua", None)),
    # as stored after the upload's file name is made safe (brackets and @ replaced)
    ("XVR_ch4_main_2026-11-23.20.12.00-2026-11-23.20.42.00_M_0_0_0_.dav", NamedRecording(S, E, "dahua", 4)),
    ("C:\\Export\\Cam 3\\ch03_20261123201200.mp4", NamedRecording(S, None, "hikvision", 3)),
    ("RecM01_20261123_201200_204200_6D28808_8E4A.mp4", NamedRecording(S, E, "reolink", None)),
    (
        "RecS03_20261123_235000_000500_6D28808_8E4A.mp4",
        NamedRecording(datetime(2026, 11, 23, 23, 50), datetime(2026, 11, 24, 0, 5), "reolink", None),
    ),
    ("192.168.1.64_01_20261123201200_20261123204200.mp4", NamedRecording(S, E, "generic", None)),
    ("cam_front_20261123201200.h264", NamedRecording(S, None, "generic", None)),
    ("20261123_201200.mkv", NamedRecording(S, None, "generic", None)),
    ("channel2-20261123201200-20261123204200.ts", NamedRecording(S, E, "generic", 2)),
    # an "end" more than two days on is not this file's end
    ("ch01_20261123201200_20261201000000.mp4", NamedRecording(S, None, "hikvision", 1)),
    # an end before the start is dropped, the start kept
    ("20261123204200_20261123201200.mp4", NamedRecording(E, None, "generic", None)),
]

NON_MATCHES = [
    "IMG_1234.mp4",
    "video.dav",
    "hiv00001.mp4",
    "export (1).mp4",
    "20261323201200.mp4",  # month 13
    "20261123256000.mp4",  # hour 25
    "19991123201200.mp4",  # before 2000
    "1795464720.mp4",  # a Unix time, not a recorder stamp
    "ch01_2026112320120.mp4",  # 13 digits
    "4420261123201200.mp4",  # a stamp inside a longer number
    "2026-11-23.mp4",
    "",
]


@pytest.mark.parametrize(("name", "expected"), MATCHES)
def test_names_that_carry_the_time(name: str, expected: NamedRecording) -> None:
    assert parse(name) == expected


@pytest.mark.parametrize("name", NON_MATCHES)
def test_names_that_carry_none(name: str) -> None:
    assert parse(name) is None


def test_segment_names_of_a_split_export_give_consecutive_windows() -> None:
    from datetime import timedelta

    from tests.footage.recorder_exports import segment_names

    parsed = [parse(name) for name in segment_names(2, S, 600, 3)]
    assert [(p.start, p.end, p.channel) for p in parsed if p] == [
        (S + timedelta(minutes=10 * i), S + timedelta(minutes=10 * (i + 1)), 2) for i in range(3)
    ]
