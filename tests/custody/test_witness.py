"""Standard checkpoint notes and witnesses: scripts/witness.py against the service over real HTTP.

A witness cosigns the log while each new checkpoint extends the last one it cosigned, and refuses (and reports)
a log rewritten under the same key, here the operator serving another database's history at N+1 events.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from app.auth.models import Role
from app.core import embedded
from app.core.config import PROJECT_ROOT, get_settings, override_settings
from app.core.db import dispose_engine, write_session
from app.custody import notes
from app.custody.service import append_event
from tests.factories import account
from tests.services import fresh_database

WITNESS = PROJECT_ROOT / "scripts" / "witness.py"


def _append(count: int, tag: str) -> None:
    for i in range(count):
        with write_session() as session:
            append_event(session, actor="system:test", action="test.touch", reason=f"{tag} {i}", details={"i": i})


@contextmanager
def _serving() -> Iterator[str]:
    """The app served by uvicorn on a free port, in a thread of this process (same settings, same database)."""
    from app.main import create_app

    port = embedded.free_ports(1)[0]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def _witness(*args: str) -> subprocess.CompletedProcess[str]:
    # -I: isolated mode, so the script cannot reach the app's package even by accident.
    return subprocess.run(
        [sys.executable, "-I", str(WITNESS), *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture()
def witness_key(tmp_path: Path) -> tuple[Path, str]:
    key = tmp_path / "witness.pem"
    made = _witness("keygen", "--name", "vksnd.example.vn/witness", "--key", str(key))
    assert made.returncode == 0, made.stderr
    return key, made.stdout.strip()


def test_checkpoint_note_is_a_c2sp_signed_note(client: TestClient) -> None:
    auditor = account(client, Role.auditor)
    _append(2, "note")
    text = client.get("/api/v1/custody/checkpoint", headers={**auditor.headers, "Accept": "text/plain"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    as_json = client.get("/api/v1/custody/checkpoint", headers=auditor.headers).json()
    body, lines = notes.split_note(text.text)
    checkpoint = notes.parse_body(body)
    origin = get_settings().custody_origin
    assert body.split("\n")[0] == origin
    assert checkpoint.tree_size == as_json["tree_size"] and checkpoint.root_hash.hex() == as_json["root_hash"]
    assert base64.b64encode(checkpoint.root_hash).decode() == body.split("\n")[2]
    assert as_json["note"] == text.text
    public = client.get("/api/v1/custody/public-key").json()
    log_key = notes.parse_vkey(public["note_vkey"])
    assert log_key.name == origin and log_key.public_raw.hex() == public["raw_hex"]
    assert [notes.verify_body(body, line, log_key) for line in lines] == [True]
    # A changed byte of the body (another root) no longer verifies.
    forged = body.replace(body.split("\n")[2], base64.b64encode(b"\x01" * 32).decode())
    assert not notes.verify_body(forged, lines[0], log_key)


def test_cosignatures_only_from_configured_witnesses_over_this_logs_roots(client: TestClient) -> None:
    auditor = account(client, Role.auditor)
    _append(1, "cosign")
    note = client.get("/api/v1/custody/checkpoint", headers={**auditor.headers, "Accept": "text/plain"}).text
    body, _ = notes.split_note(note)
    witness = Ed25519PrivateKey.generate()
    stranger = Ed25519PrivateKey.generate()
    name = "witness.example/one"
    vkey = notes.vkey(name, notes.SIG_COSIGNATURE, witness.public_key().public_bytes_raw())
    previous = get_settings().custody_witness_keys
    override_settings(custody_witness_keys=[vkey])
    try:
        now = int(time.time())
        refused = client.post(
            "/api/v1/custody/cosignatures", json={"note": note + str(notes.cosign(body, name, stranger, now))}
        )
        assert refused.status_code == 422, refused.text
        assert "witness" in refused.text
        other_root = notes.checkpoint_body(
            get_settings().custody_origin, notes.parse_body(body).tree_size, b"\x02" * 32
        )
        forged = other_root + "\n" + str(notes.cosign(other_root, name, witness, now))
        wrong = client.post("/api/v1/custody/cosignatures", json={"note": forged})
        assert wrong.status_code == 422 and "root" in wrong.text
        assert client.post("/api/v1/custody/cosignatures", json={"note": "not a note"}).status_code == 422
        accepted = client.post(
            "/api/v1/custody/cosignatures", json={"note": note + str(notes.cosign(body, name, witness, now))}
        )
        assert accepted.status_code == 201, accepted.text
        served = client.get("/api/v1/custody/checkpoint", headers=auditor.headers).json()
        if served["tree_size"] == notes.parse_body(body).tree_size:  # no other test appended in between
            assert [c["witness"] for c in served["cosignatures"]] == [name]
            cosigned_body, lines = notes.split_note(served["note"])
            key = notes.parse_vkey(vkey)
            assert [notes.verify_cosignature(cosigned_body, line, key) for line in lines[1:]] == [now]
    finally:
        override_settings(custody_witness_keys=previous)


def test_witness_cosigns_a_growing_log_and_refuses_a_rewritten_one(
    isolated_client: TestClient, pg_server_url: str, witness_key: tuple[Path, str], tmp_path: Path
) -> None:
    key, vkey = witness_key
    state = tmp_path / "state"
    previous_keys = get_settings().custody_witness_keys
    override_settings(custody_witness_keys=[vkey])
    try:
        auditor = account(isolated_client, Role.auditor)
        _append(3, "history")
        log_key = isolated_client.get("/api/v1/custody/public-key").json()["note_vkey"]
        with _serving() as base:
            common = ["run", "--url", base, "--name", "vksnd.example.vn/witness", "--key", str(key)]
            common += ["--log-key", log_key, "--state", str(state)]
            first = _witness(*common, "--token", auditor.token)
            assert first.returncode == 0, first.stderr + first.stdout
            cosigned = json.loads((state / "state.json").read_text("utf-8"))
            size_n = cosigned["tree_size"]

            served = httpx.get(f"{base}/api/v1/custody/checkpoint", headers=auditor.headers).json()
            assert served["tree_size"] == size_n
            assert [c["witness"] for c in served["cosignatures"]] == ["vksnd.example.vn/witness"]

            _append(2, "more")
            second = _witness(*common, "--token", auditor.token)
            assert second.returncode == 0, second.stderr + second.stdout
            grown = json.loads((state / "state.json").read_text("utf-8"))
            assert grown["tree_size"] > size_n
            size_n = grown["tree_size"]

            # The operator rewrites the log: the same key and origin now serve another history of N+1 events.
            with fresh_database(pg_server_url) as rewritten:
                override_settings(database_url=rewritten)
                dispose_engine()
                try:
                    other = account(isolated_client, Role.auditor)
                    with write_session() as session:
                        from app.custody.service import log_head

                        already = log_head(session).tree_size
                    _append(size_n + 1 - already, "rewritten")
                    refused = _witness(*common, "--token", other.token)
                    assert refused.returncode == 3, refused.stderr + refused.stdout
                    assert "REFUSED" in refused.stderr and "rewritten" in refused.stderr
                    reports = list(state.glob("refused-*.txt"))
                    assert len(reports) == 1
                    evidence = reports[0].read_text("utf-8")
                    assert grown["note"] in evidence and f"\n{size_n + 1}\n" in evidence
                    # It cosigned nothing: its state still names N, and the rewritten log holds no cosignature.
                    assert json.loads((state / "state.json").read_text("utf-8")) == grown
                    again = httpx.get(f"{base}/api/v1/custody/checkpoint", headers=other.headers).json()
                    assert again["tree_size"] == size_n + 1 and again["cosignatures"] == []
                finally:
                    override_settings(database_url=get_settings().database_url)
                    dispose_engine()
    finally:
        override_settings(custody_witness_keys=previous_keys)


def test_witness_refuses_a_smaller_or_different_checkpoint(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("witness", WITNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["witness"] = module  # its dataclasses look their module up while being defined
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["witness"]
    state = {"origin": "log.example/x", "tree_size": 5, "root_hash": base64.b64encode(b"\x01" * 32).decode()}
    smaller = module.Checkpoint("log.example/x", 4, b"\x01" * 32, "", "")
    with pytest.raises(module.Refused, match="shrank"):
        module.check(state, smaller, None)
    same_size = module.Checkpoint("log.example/x", 5, b"\x02" * 32, "", "")
    with pytest.raises(module.Refused, match="two different roots"):
        module.check(state, same_size, None)
    module.check(state, module.Checkpoint("log.example/x", 5, b"\x01" * 32, "", ""), None)


def test_a_malformed_witness_key_is_refused_at_start_up() -> None:
    from pydantic import ValidationError

    from app.core.config import Settings

    good = notes.vkey(
        "w.example/a", notes.SIG_COSIGNATURE, Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    )
    assert Settings(custody_witness_keys=[good]).custody_witness_keys == [good]
    for bad in ("w.example/a", "w.example/a+zz+AAAA", good + "x", "two words+" + good.split("+", 1)[1]):
        with pytest.raises(ValidationError):
            Settings(custody_witness_keys=[bad])
