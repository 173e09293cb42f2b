"""Verification against a log tampered with by a superuser who bypasses the append-only triggers."""

from __future__ import annotations

import hashlib
import io
import secrets
import uuid

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.storage import get_storage
from app.custody import verify as verify_module
from app.custody.checkpoints import issue_checkpoint
from app.custody.service import append_event_sequenced, log_head
from app.custody.verify import VerificationResult, verify_log
from tests.custody.conftest import append, tamper


def _verify(engine: Engine, **options: object) -> VerificationResult:
    with Session(engine) as session:
        return verify_log(session, **options)  # type: ignore[arg-type]


def _problems(result: VerificationResult) -> list[tuple[int | str | None, str]]:
    return [(p.seq if p.seq is not None else p.object_id, p.what) for p in result.problems]


def _checkpoint(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        issue_checkpoint(session)


def _store_object(engine: Engine, content: bytes) -> tuple[uuid.UUID, str, str, int]:
    """Put an object in S3 and log it as stored: (object_id, key, version_id, seq)."""
    object_id = uuid.uuid4()
    key = f"test/{object_id}.mp4"
    stored = get_storage().put_stream(key, io.BytesIO(content), length=len(content))
    with Session(engine) as session, session.begin():
        event = append_event_sequenced(
            session,
            actor="system:test",
            action="original.stored",
            object_type="original",
            object_id=object_id,
            sha256=hashlib.sha256(content).hexdigest(),
            version_id=stored.version_id,
            details={"object_key": key, "size": len(content)},
        )
        return object_id, key, stored.version_id, event.seq


def test_an_untouched_log_verifies(own_log: Engine) -> None:
    append(own_log, 9)
    _checkpoint(own_log)
    _store_object(own_log, secrets.token_bytes(3000))
    append(own_log, 4)
    _checkpoint(own_log)
    result = _verify(own_log)
    with Session(own_log) as session:
        head = log_head(session)
    assert result.ok and result.problems == []
    assert (result.tree_size, result.root_hash) == (head.tree_size, head.root_hash.hex()) == (14, result.root_hash)
    assert (result.checkpoints_checked, result.objects_checked) == (2, 1)
    assert result.as_record()["problems"] == []


def test_an_empty_log_verifies(own_log: Engine) -> None:
    _checkpoint(own_log)
    result = _verify(own_log)
    assert result.ok and result.tree_size == 0
    assert result.root_hash == hashlib.sha256(b"").hexdigest()


def test_an_edited_row_is_named_by_its_seq(own_log: Engine) -> None:
    append(own_log, 12)
    _checkpoint(own_log)
    tamper(own_log, "UPDATE custody_events SET reason = 'không có gì' WHERE seq = 7")
    result = _verify(own_log)
    assert not result.ok
    assert _problems(result) == [(7, "edited row")]
    assert result.problems[0].as_record() == {
        "seq": 7,
        "what": "edited row",
        "detail": "its fields no longer hash to its stored leaf",
    }


def test_an_edit_with_a_recomputed_leaf_breaks_the_roots(own_log: Engine) -> None:
    append(own_log, 6)
    _checkpoint(own_log)
    append(own_log, 6)
    _checkpoint(own_log)
    # A careful forger also rewrites the leaf hash; the head and the signed checkpoints still give it away.
    tamper(own_log, "UPDATE custody_events SET details = '{\"i\": 99}', leaf_hash = sha256(leaf_hash) WHERE seq = 9")
    result = _verify(own_log)
    problems = _problems(result)
    assert (9, "edited row") in problems
    assert (12, "root differs from the log head") in problems
    assert (12, "root differs from a signed checkpoint") in problems
    assert (6, "root differs from a signed checkpoint") not in problems
    checkpoint_problem = next(p for p in result.problems if p.what == "root differs from a signed checkpoint")
    assert checkpoint_problem.detail is not None and "seq 7..12" in checkpoint_problem.detail


def test_a_deleted_row_is_reported_missing(own_log: Engine) -> None:
    append(own_log, 10)
    _checkpoint(own_log)
    tamper(own_log, "DELETE FROM custody_events WHERE seq = 4")
    result = _verify(own_log)
    problems = _problems(result)
    assert not result.ok
    assert (4, "missing row") in problems
    assert (10, "root differs from the log head") in problems
    assert [p for p in problems if p[1] in {"edited row", "reordered row"}] == []


def test_deleted_last_rows_are_reported_missing(own_log: Engine) -> None:
    append(own_log, 8)
    _checkpoint(own_log)
    tamper(own_log, "DELETE FROM custody_events WHERE seq >= 7")
    problems = _problems(_verify(own_log))
    assert (7, "missing row") in problems and (8, "missing row") in problems
    assert (8, "checkpoint beyond the log") in problems


def test_swapped_rows_are_reported_reordered(own_log: Engine) -> None:
    append(own_log, 8)
    tamper(own_log, "UPDATE custody_events SET seq = seq + 1000 WHERE seq IN (3, 5)")
    tamper(own_log, "UPDATE custody_events SET seq = CASE seq WHEN 1003 THEN 5 ELSE 3 END WHERE seq > 1000")
    result = _verify(own_log)
    problems = _problems(result)
    assert (3, "reordered row") in problems and (5, "reordered row") in problems
    assert "appended as seq 5" in next(p.detail or "" for p in result.problems if p.seq == 3)


def test_a_row_beyond_the_head_is_reported(own_log: Engine) -> None:
    append(own_log, 3)
    tamper(
        own_log,
        "INSERT INTO custody_events SELECT 9, at, actor, action, object_type, object_id, sha256, "
        'version_id, case_id, reason, "where", outcome, details, leaf_hash FROM custody_events WHERE seq = 3',
    )
    problems = _problems(_verify(own_log))
    assert (9, "row beyond the log head") in problems and (9, "edited row") in problems
    assert not any(what == "missing row" for _, what in problems)


def test_a_forged_checkpoint_signature_is_reported(own_log: Engine) -> None:
    append(own_log, 2)
    _checkpoint(own_log)
    tamper(own_log, "UPDATE custody_checkpoints SET signature = sha512(signature)")
    assert _problems(_verify(own_log)) == [(2, "checkpoint signature invalid")]


def test_a_deleted_object_version_is_named_by_its_object(own_log: Engine) -> None:
    object_id, key, version_id, _ = _store_object(own_log, secrets.token_bytes(5000))
    kept, _, _, _ = _store_object(own_log, secrets.token_bytes(100))
    get_storage().remove_version(key, version_id)  # not locked, so S3 lets it go
    result = _verify(own_log)
    assert _problems(result) == [(str(object_id), "missing object version")]
    assert str(kept) not in {p.object_id for p in result.problems}
    assert _verify(own_log, include_objects=False).ok


def test_a_replaced_object_version_is_named_by_its_object(own_log: Engine) -> None:
    object_id, key, version_id, seq = _store_object(own_log, b"original footage " * 100)
    storage = get_storage()
    storage.remove_version(key, version_id)
    replacement = storage.put_stream(key, io.BytesIO(b"doctored footage " * 100), length=1700)
    # The forger points the event at the new version (and is caught twice: row and object).
    tamper(own_log, "UPDATE custody_events SET version_id = :v WHERE seq = :s", v=replacement.version_id, s=seq)
    result = _verify(own_log)
    assert sorted(_problems(result), key=str) == sorted(
        [(seq, "edited row"), (str(object_id), "object hash mismatch")], key=str
    )


@pytest.mark.slow
def test_workers_sharing_a_snapshot_find_the_same_problems(own_log: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    append(own_log, 30)
    _checkpoint(own_log)
    tamper(own_log, "UPDATE custody_events SET actor = 'user:someone-else' WHERE seq = 17")
    tamper(own_log, "DELETE FROM custody_events WHERE seq = 23")
    monkeypatch.setattr(verify_module, "RANGE_SIZE", 7)
    alone = _verify(own_log, workers=1)
    together = _verify(own_log, workers=2)
    assert _problems(together) == _problems(alone)
    assert (17, "edited row") in _problems(alone) and (23, "missing row") in _problems(alone)
    assert (together.tree_size, together.root_hash) == (alone.tree_size, alone.root_hash) == (29, alone.root_hash)
