"""A playback copy that cannot be made (here: evidence storage unreachable, a real refused connection) is counted
and recorded in custody without paths or addresses; the sweep leaves the original 1, 2, 4 … minutes after each
failure and takes originals that never failed first, so failing ones do not hold the others back; after three
failures the player page says no copy could be made so far and when the next try is (instead of "being made"),
in the reader's language, with the original's download; once storage is back the copy is made and the count goes."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core import clock
from app.core.db import session_factory
from app.custody.models import CustodyEvent
from app.footage.playable import originals_without_copies
from app.footage.playable_models import PlaybackCopy, PlaybackCopyAttempt
from app.jobs import tasks
from tests.factories import PASSWORD, web_login
from tests.footage.test_clip_failures import look, storage_unreachable
from tests.footage.test_footage import approved_request
from tests.footage.test_playable import VN, _dav, _send


def _waiting(original_id: uuid.UUID) -> bool:
    with session_factory()() as session:
        return original_id in originals_without_copies(session, limit=100_000)


def _note(client: TestClient, original_id: uuid.UUID, language: str) -> str:
    client.cookies.set("lang", language)
    page = client.get(f"/originals/{original_id}/play")
    assert page.status_code == 200, page.text
    assert 'id="download-original"' in page.text  # never a dead end
    found = re.search(r'<p id="not-playable">(.*?)</p>', page.text, re.S)
    assert found is not None, page.text
    return re.sub(r"\s+", " ", found.group(1)).strip()


def test_a_playback_copy_that_fails_waits_longer_each_time_and_the_page_says_so(
    client: TestClient, tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved_request(client)
    original_id = _send(client, owner, request_id, _dav(tmp_path, t0.astimezone(VN).replace(tzinfo=None)), t0)
    assert web_login(client, data={"email": investigator.email, "password": PASSWORD}).status_code == 200
    assert "is being made" in _note(client, original_id, "en")

    frozen = clock.FrozenClock(datetime.now(UTC))
    clock.set_clock(frozen)
    try:
        with storage_unreachable():
            for count, wait_minutes in ((1, 1), (2, 2), (3, 4)):
                assert _waiting(original_id)
                with pytest.raises(Exception):  # noqa: B017 - whatever the S3 client raises, the job records it
                    tasks.make_playback_copy(str(original_id))
                with session_factory()() as session:
                    attempt = session.get(PlaybackCopyAttempt, original_id)
                    assert attempt is not None and (attempt.failures, attempt.problem) == (count, "storage")
                assert not _waiting(original_id), "taken again before its wait"
                frozen.advance(minutes=wait_minutes - 0.5)
                assert not _waiting(original_id)
                frozen.advance(minutes=0.5)
            assert _waiting(original_id)

        vi, en = _note(client, original_id, "vi"), _note(client, original_id, "en")
        assert "chưa tạo được bản sao để xem" in vi and "số lần thử không thành công: 3" in vi, vi
        assert "no playback copy could be made from it so far (failed tries: 3" in en, en
        assert "Asia/Ho_Chi_Minh" in en
        look(client, f"/originals/{original_id}/play", "#not-playable", "player-copy-failed")
        for shown in (vi, en):
            assert "127.0.0.1" not in shown and "://" not in shown

        with session_factory()() as session:
            failed = list(
                session.scalars(
                    select(CustodyEvent)
                    .where(CustodyEvent.object_id == original_id, CustodyEvent.action == "playback_copy.failed")
                    .order_by(CustodyEvent.seq)
                )
            )
        assert [e.details["failures"] for e in failed] == [1, 2, 3]
        assert all(e.details["problem"] == "storage" and e.case_id is not None for e in failed)
        assert all("127.0.0.1" not in (e.reason or "") and "://" not in (e.reason or "") for e in failed)

        # storage is back: the copy is made, the count goes, the page plays it
        assert tasks.make_playback_copy(str(original_id)) is not None
        with session_factory()() as session:
            assert session.get(PlaybackCopyAttempt, original_id) is None
            assert session.scalar(select(PlaybackCopy).where(PlaybackCopy.original_id == original_id))
        client.cookies.set("lang", "en")
        assert 'id="playback-copy-note"' in client.get(f"/originals/{original_id}/play").text
    finally:
        clock.set_clock(None)
