"""scripts/verify_bundle.py --since (consistency with a checkpoint kept earlier or later) and --witness."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.config import PROJECT_ROOT, get_settings, override_settings
from app.custody import notes
from app.custody.bundle_parts import bundle_parts
from app.custody.checkpoints import CustodyCheckpoint, checkpoint_note, issue_checkpoint, signing_key
from app.custody.cosignatures import accept, cosignatures_of
from app.custody.proofs import consistency_proof
from tests.custody.conftest import append

SCRIPT = PROJECT_ROOT / "scripts" / "verify_bundle.py"
WITNESS = "procuracy.example.vn/witness"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture()
def witness() -> Iterator[tuple[Ed25519PrivateKey, str]]:
    private = Ed25519PrivateKey.generate()
    vkey = notes.vkey(WITNESS, notes.SIG_COSIGNATURE, private.public_key().public_bytes_raw())
    previous = get_settings().custody_witness_keys
    override_settings(custody_witness_keys=[vkey])
    try:
        yield private, vkey
    finally:
        override_settings(custody_witness_keys=previous)


def _cosigned(session: Session, checkpoint: CustodyCheckpoint, private: Ed25519PrivateKey) -> str:
    """The checkpoint's note after the witness cosigned it and the service accepted the cosignature."""
    body = notes.checkpoint_body(get_settings().custody_origin, checkpoint.tree_size, checkpoint.root_hash)
    accept(session, checkpoint_note(checkpoint) + str(notes.cosign(body, WITNESS, private, int(time.time()))))
    stored = cosignatures_of(session, checkpoint.tree_size, checkpoint.root_hash)
    return checkpoint_note(checkpoint, [c.line() for c in stored])


def _write(files: dict[str, bytes], folder: Path) -> Path:
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def test_since_an_older_witnessed_checkpoint_and_a_later_one(
    own_log: Engine, tmp_path: Path, witness: tuple[Ed25519PrivateKey, str]
) -> None:
    private, vkey = witness
    append(own_log, 5)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        kept_note = _cosigned(session, issue_checkpoint(session), private)  # the auditor keeps this one (5)
    append(own_log, 6)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        parts = bundle_parts(session, [2, 9])  # checkpoint of 11 events, not witnessed yet
    assert parts.checkpoint.tree_size == 11
    assert json.loads(parts.files["consistency.jsonl"])["first"] == 5
    folder = _write(parts.files, tmp_path / "bundle")
    kept = tmp_path / "kept.note"
    kept.write_text(kept_note, "utf-8")

    older = _run(folder, "--since", kept)
    assert older.returncode == 0, older.stdout
    assert "consistent, the kept checkpoint (5 events) is a prefix of the 11-event log" in older.stdout

    # The witness has not seen the bundle's checkpoint: required, it fails; a later witnessed one settles it.
    unwitnessed = _run(folder, "--witness", vkey)
    assert unwitnessed.returncode == 1
    assert f"witness {WITNESS}: no valid cosignature on the bundle's checkpoint" in unwitnessed.stdout
    append(own_log, 3)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        later = issue_checkpoint(session)
        later_note = _cosigned(session, later, private)
        proof = consistency_proof(session, 11, later.tree_size).as_record()
    later_file = tmp_path / "later.note"
    later_file.write_text(later_note, "utf-8")
    no_proof = _run(folder, "--since", later_file, "--witness", vkey)
    assert no_proof.returncode == 1
    assert "no consistency proof from 11 to 14 events" in no_proof.stdout
    assert "GET /api/v1/custody/proof/consistency?first=11&second=14" in no_proof.stdout
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(proof), "utf-8")
    result = _run(folder, "--since", later_file, "--proof", proof_file, "--witness", vkey)
    assert result.returncode == 0, result.stdout
    assert "the bundle's checkpoint (11 events) is a prefix of the 14-event log" in result.stdout
    assert f"ok    witness {WITNESS}: cosigned the --since checkpoint" in result.stdout

    # A witness the bundle does not know of, or a cosignature made by another key under its name, fails.
    impostor = Ed25519PrivateKey.generate()
    other = notes.vkey(WITNESS, notes.SIG_COSIGNATURE, impostor.public_key().public_bytes_raw())
    assert _run(folder, "--since", later_file, "--proof", proof_file, "--witness", other).returncode == 1


def test_since_a_rewritten_history_fails(own_log: Engine, tmp_path: Path) -> None:
    append(own_log, 4)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        parts = bundle_parts(session, [1, 3])
    folder = _write(parts.files, tmp_path / "bundle")
    # The same key signs another history: the same 4 events with another root, then 6 events whose prefix
    # is not the bundle's (a consistency proof cannot join them).
    origin = get_settings().custody_origin
    forged_body = notes.checkpoint_body(origin, 4, b"\x07" * 32)
    forged = forged_body + "\n" + str(notes.sign_body(forged_body, origin, signing_key().private))
    same_size = tmp_path / "same.note"
    same_size.write_text(forged, "utf-8")
    result = _run(folder, "--since", same_size)
    assert result.returncode == 1
    assert "two different roots signed for the same 4 events: the log was rewritten" in result.stdout

    larger_body = notes.checkpoint_body(origin, 6, b"\x08" * 32)
    larger = tmp_path / "larger.note"
    larger.write_text(larger_body + "\n" + str(notes.sign_body(larger_body, origin, signing_key().private)), "utf-8")
    append(own_log, 2)
    with Session(own_log) as session:
        proof = consistency_proof(session, 4, 6).as_record()  # the true log's proof: it cannot reach the forged root
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(proof), "utf-8")
    result = _run(folder, "--since", larger, "--proof", proof_file)
    assert result.returncode == 1
    assert "the log of 6 events does not extend the log of 4 events" in result.stdout

    # A checkpoint signed by another key is not this log's.
    stranger = Ed25519PrivateKey.generate()
    alien = tmp_path / "alien.note"
    alien.write_text(forged_body + "\n" + str(notes.sign_body(forged_body, origin, stranger)), "utf-8")
    result = _run(folder, "--since", alien)
    assert result.returncode == 1 and "not a checkpoint of this log" in result.stdout


def test_since_accepts_the_kept_json_checkpoint(own_log: Engine, tmp_path: Path) -> None:
    """An auditor who kept the JSON form (an older bundle's checkpoint.json) can use it too."""
    append(own_log, 3)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        old = bundle_parts(session, [1])
    append(own_log, 5)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        parts = bundle_parts(session, [7])
        proof = consistency_proof(session, old.checkpoint.tree_size, parts.checkpoint.tree_size).as_record()
    folder = _write(parts.files, tmp_path / "bundle")
    kept = tmp_path / "checkpoint.json"
    kept.write_bytes(old.files["checkpoint.json"])
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(proof), "utf-8")
    result = _run(folder, "--since", kept, "--proof", proof_file)
    assert result.returncode == 0, result.stdout
    assert "consistent" in result.stdout
