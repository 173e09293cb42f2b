"""Bundles built from a real log verify offline with scripts/verify_bundle.py, and fail once a byte changes."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.config import PROJECT_ROOT
from app.core.errors import NotFound, RuleViolation
from app.custody.bundle_parts import BundleParts, bundle_parts
from app.custody.checkpoints import issue_checkpoint
from app.custody.service import append_event_sequenced
from tests.custody.conftest import append

SCRIPT = PROJECT_ROOT / "scripts" / "verify_bundle.py"
CLIP = b"\x00\x00\x00\x18ftypmp42 not really a video, but bytes with a hash" * 20


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_bundle", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: Path) -> subprocess.CompletedProcess[str]:
    # -I: isolated mode, so the script cannot reach the app's package even by accident.
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def _parts(engine: Engine) -> BundleParts:
    append(engine, 4)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        clip = append_event_sequenced(
            session,
            actor="user:" + str(uuid.uuid4()),
            action="clip.created",
            object_type="clip",
            object_id=uuid.uuid4(),
            sha256=hashlib.sha256(CLIP).hexdigest(),
            version_id="3f2a-version",
            case_id=uuid.uuid4(),
            reason="Trích xuất đoạn 21:04–21:06, camera ngã tư Lê Lợi",
            where={"component": "worker", "client": None},
            details={"object_key": "clips/x.mp4", "offset_s": -2.5, "tiny": 1e-7, "cut": [1.0, 61.04]},
        )
        seq = clip.seq
    append(engine, 3)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return bundle_parts(session, [2, seq, 7])


def _write(parts: BundleParts, folder: Path) -> Path:
    folder.mkdir()
    for name, content in parts.files.items():
        (folder / name).write_bytes(content)
    (folder / "README.md").write_text("How to verify this bundle.\n")
    return folder


def test_a_bundle_from_the_database_verifies_offline(own_log: Engine, tmp_path: Path) -> None:
    parts = _parts(own_log)
    assert parts.checkpoint.tree_size == 8
    assert set(parts.files) == {
        "events.jsonl",
        "proofs.jsonl",
        "checkpoint.json",
        "checkpoint.note",
        "consistency.jsonl",
        "public_key.pem",
    }
    events = [json.loads(line) for line in parts.files["events.jsonl"].decode().splitlines()]
    assert [e["seq"] for e in events] == [2, 5, 7]
    proofs = [json.loads(line) for line in parts.files["proofs.jsonl"].decode().splitlines()]
    assert [(p["seq"], p["leaf_index"], p["tree_size"]) for p in proofs] == [(2, 1, 8), (5, 4, 8), (7, 6, 8)]

    folder = _write(parts, tmp_path / "bundle")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(CLIP)
    result = _run(folder, clip)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("VERIFIED")
    assert f"ok    {clip}: SHA-256 {hashlib.sha256(CLIP).hexdigest()} is clip " in result.stdout
    assert "(events 5)" in result.stdout
    assert "note  README.md: not covered by the signed log" in result.stdout

    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.files.items():
            zf.writestr(f"custody-bundle/{name}", content)
    assert _run(archive).returncode == 0

    wrong = tmp_path / "other.mp4"
    wrong.write_bytes(CLIP + b"!")
    result = _run(folder, wrong)
    assert result.returncode == 1 and "recorded by no event" in result.stdout


def test_one_changed_byte_anywhere_fails(own_log: Engine, tmp_path: Path) -> None:
    parts = _parts(own_log)
    script = _load_script()
    folder = _write(parts, tmp_path / "bundle")
    assert script.verify(folder, [])[0] == []
    for name, content in parts.files.items():
        for position in range(len(content)):
            changed = bytearray(content)
            changed[position] ^= 0x01
            (folder / name).write_bytes(bytes(changed))
            try:
                failures, _ = script.verify(folder, [])
            except script.Unreadable:
                failures = ["unreadable"]
            assert failures, f"{name}: flipping byte {position} went unnoticed"
        (folder / name).write_bytes(content)

    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.files.items():
            zf.writestr(name, content)
    data = bytearray(archive.read_bytes())
    data[len(data) // 3] ^= 0x01
    archive.write_bytes(bytes(data))
    result = _run(archive)
    assert result.returncode != 0 and "VERIFIED" not in result.stdout.replace("NOT VERIFIED", "")


def test_failures_are_precise(own_log: Engine, tmp_path: Path) -> None:
    parts = _parts(own_log)
    folder = _write(parts, tmp_path / "bundle")
    events = parts.files["events.jsonl"].decode().splitlines()
    edited = json.loads(events[1])
    edited["reason"] = "sửa lại"
    (folder / "events.jsonl").write_text("\n".join([events[0], json.dumps(edited, ensure_ascii=False), events[2]]))
    result = _run(folder)
    assert result.returncode == 1
    assert "FAIL  event seq 5 (events.jsonl line 2): its fields hash to leaf" in result.stdout
    assert "FAIL  event seq 5: no valid inclusion proof" not in result.stdout

    (folder / "events.jsonl").write_bytes(parts.files["events.jsonl"])
    checkpoint = json.loads(parts.files["checkpoint.json"])
    (folder / "checkpoint.json").write_text(json.dumps({**checkpoint, "tree_size": 9}))
    result = _run(folder)
    assert "the Ed25519 signature does not verify" in result.stdout and result.returncode == 1

    # Whitespace is not content: a pretty-printed checkpoint still verifies.
    (folder / "checkpoint.json").write_text(json.dumps(checkpoint, indent=2))
    assert _run(folder).returncode == 0
    (folder / "proofs.jsonl").write_bytes(b"".join(parts.files["proofs.jsonl"].splitlines(keepends=True)[:2]))
    result = _run(folder)
    assert "FAIL  event seq 7: no valid inclusion proof in proofs.jsonl" in result.stdout


def test_the_verifier_imports_nothing_of_the_app() -> None:
    source = SCRIPT.read_text()
    assert "from app" not in source and "import app" not in source


def test_parts_refuse_what_they_cannot_prove(own_log: Engine) -> None:
    append(own_log, 3)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        checkpoint = issue_checkpoint(session)
    append(own_log, 1)
    with Session(own_log) as session:
        with pytest.raises(RuleViolation):
            bundle_parts(session, [4], checkpoint=checkpoint)
        assert bundle_parts(session, [1, 3], checkpoint=checkpoint).checkpoint is checkpoint
    with Session(own_log) as session, pytest.raises((NotFound, RuleViolation)):
        bundle_parts(session, [99])
