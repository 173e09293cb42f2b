"""The recording start's precedence: the file's stamps, then the header, then the recorder's file name."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from app.footage.recorder_names import parse
from app.footage.recording_start import RecordingStart, RecordingStartSource, resolve

TZ = "Asia/Ho_Chi_Minh"
LOCAL = datetime(2026, 11, 23, 20, 12, 0)
INSTANT = datetime(2026, 11, 23, 13, 12, 0, tzinfo=UTC)
NAMED = parse("ch01_20261123191200.mp4")  # an hour earlier than the stamps


def test_file_beats_header_and_name_and_a_small_difference_is_not_an_overrule() -> None:
    near = resolve(file_time=LOCAL, header=INSTANT + timedelta(seconds=1.5), header_stated="x", named=NAMED, tz_name=TZ)
    assert near is not None and near.source is RecordingStartSource.file and near.recorder == INSTANT
    assert near.details["header_minus_file_s"] == 1.5 and near.details["header_overruled"] is False
    far = resolve(file_time=LOCAL, header=INSTANT - timedelta(seconds=3), header_stated="x", named=None, tz_name=TZ)
    assert far is not None and far.details["header_overruled"] is True and far.recorder == INSTANT


def test_header_beats_name_and_name_is_the_last_resort() -> None:
    header = resolve(file_time=None, header=INSTANT, header_stated="x", named=NAMED, tz_name=TZ)
    assert header is not None and header.source is RecordingStartSource.header and header.recorder == INSTANT
    named = resolve(file_time=None, header=None, header_stated=None, named=NAMED, tz_name=TZ)
    assert named is not None and named.source is RecordingStartSource.filename
    assert named.recorder == INSTANT - timedelta(hours=1) and named.details["filename_pattern"] == "hikvision"
    assert resolve(file_time=None, header=None, header_stated=None, named=None, tz_name=TZ) is None


def test_a_converted_copy_inherits_its_parents_start_not_its_own_name() -> None:
    parent = RecordingStart(INSTANT, RecordingStartSource.header, {"recording_start_header": "x"})
    parent_id = uuid.uuid4()
    copy = resolve(file_time=None, header=None, header_stated=None, named=NAMED, tz_name=TZ, parent=(parent_id, parent))
    assert copy is not None and copy.recorder == INSTANT and copy.source is RecordingStartSource.header
    assert copy.details["inherited_from_original"] == str(parent_id)
