from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import get_settings, override_settings
from app.core.db import dispose_engine
from tests.custody.conftest import append, tamper


@pytest.fixture()
def pointed_at(own_log: Engine) -> Iterator[Engine]:
    """The app's settings pointed at the test's own log database for the length of the test."""
    previous = get_settings().database_url
    override_settings(database_url=own_log.url.render_as_string(hide_password=False))
    dispose_engine()
    try:
        yield own_log
    finally:
        override_settings(database_url=previous)
        dispose_engine()


def test_a_sound_log_exits_zero(pointed_at: Engine) -> None:
    append(pointed_at, 5)
    result = CliRunner().invoke(cli, ["verify-custody"])
    assert result.exit_code == 0, result.output
    assert "custody log: 5 events" in result.output and result.output.rstrip().endswith("OK")


def test_problems_are_printed_and_exit_non_zero(pointed_at: Engine) -> None:
    append(pointed_at, 5)
    tamper(pointed_at, "UPDATE custody_events SET outcome = 'denied' WHERE seq = 3")
    result = CliRunner().invoke(cli, ["verify-custody", "--no-objects"])
    assert result.exit_code == 1
    assert "PROBLEM seq 3: edited row" in result.output and "FAILED: 1 problem(s)" in result.output
    as_json = CliRunner().invoke(cli, ["verify-custody", "--json"])
    assert as_json.exit_code == 1
    record = json.loads(as_json.stdout)
    assert record["ok"] is False and [(p["seq"], p["what"]) for p in record["problems"]] == [(3, "edited row")]


def test_witnesses_are_required_on_a_signed_checkpoint(pointed_at: Engine) -> None:
    import time

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy.orm import Session

    from app.custody import notes
    from app.custody.checkpoints import checkpoint_note, issue_checkpoint
    from app.custody.cosignatures import accept

    witness, absent = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    vkey = notes.vkey("witness.example/a", notes.SIG_COSIGNATURE, witness.public_key().public_bytes_raw())
    other = notes.vkey("witness.example/b", notes.SIG_COSIGNATURE, absent.public_key().public_bytes_raw())
    previous = get_settings().custody_witness_keys
    override_settings(custody_witness_keys=[vkey])
    try:
        append(pointed_at, 4)
        with Session(pointed_at) as session, session.begin():
            checkpoint = issue_checkpoint(session)
            body = notes.checkpoint_body(get_settings().custody_origin, 4, checkpoint.root_hash)
            line = notes.cosign(body, "witness.example/a", witness, int(time.time()))
            accept(session, checkpoint_note(checkpoint) + str(line))
        append(pointed_at, 2)
        result = CliRunner().invoke(cli, ["verify-custody", "--no-objects", "--witness", vkey])
        assert result.exit_code == 0, result.output
        assert "witness witness.example/a: cosigned the log up to 4 events" in result.output
        missing = CliRunner().invoke(cli, ["verify-custody", "--no-objects", "--witness", vkey, "--witness", other])
        assert missing.exit_code == 1
        assert "no valid cosignature of witness.example/b on any checkpoint" in missing.output
        # A stored cosignature whose signature was changed no longer verifies.
        tamper(pointed_at, "UPDATE custody_cosignatures SET signature = sha512('x'::bytea)")
        forged = CliRunner().invoke(cli, ["verify-custody", "--no-objects", "--witness", vkey])
        assert forged.exit_code == 1 and "PROBLEM seq 4: cosignature invalid" in forged.output
    finally:
        override_settings(custody_witness_keys=previous)


def test_a_broken_case_chain_is_named(pointed_at: Engine) -> None:
    import uuid

    from sqlalchemy.orm import Session

    from app.custody.service import append_event

    case = uuid.uuid4()
    for i in range(4):
        with Session(pointed_at) as session, session.begin():
            append_event(session, actor="system:test", action="case.touch", case_id=case, details={"i": i})
    sound = CliRunner().invoke(cli, ["verify-custody", "--no-objects"])
    assert sound.exit_code == 0, sound.output
    # The third event of the case moved to another case: the fourth's link no longer names its predecessor.
    tamper(pointed_at, "UPDATE custody_events SET case_id = gen_random_uuid() WHERE seq = 3")
    broken = CliRunner().invoke(cli, ["verify-custody", "--no-objects"])
    assert broken.exit_code == 1
    assert "PROBLEM seq 3: edited row" in broken.output
    assert f"PROBLEM seq 4: case chain broken (case {case}: names seq 3" in broken.output
    assert "the log's is 2)" in broken.output
