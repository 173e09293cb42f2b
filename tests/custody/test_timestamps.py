"""RFC 3161 time-stamps of checkpoints from a local TSA (openssl ts), stored, bundled and verified offline."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rfc3161_client import decode_timestamp_response
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.core import clock
from app.core.config import PROJECT_ROOT, get_settings, override_settings
from app.custody.bundle_parts import bundle_parts
from app.custody.checkpoints import issue_checkpoint
from app.custody.timestamps import CustodyTimestamp, stamped_message, timestamp_checkpoint
from tests.custody.conftest import append
from tests.custody.tsa import LocalTsa, local_tsa, make_ca

SCRIPT = PROJECT_ROOT / "scripts" / "verify_bundle.py"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture()
def tsa(tmp_path: Path) -> Iterator[LocalTsa]:
    previous = get_settings().tsa_url
    with local_tsa(tmp_path / "tsa") as authority:
        override_settings(tsa_url=authority.url)
        try:
            yield authority
        finally:
            override_settings(tsa_url=previous)


def test_a_checkpoint_is_time_stamped_bundled_and_verified_offline(
    own_log: Engine, tsa: LocalTsa, tmp_path: Path
) -> None:
    append(own_log, 4)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        checkpoint = issue_checkpoint(session)
        stamp = timestamp_checkpoint(session, checkpoint)
    assert stamp is not None
    assert abs(stamp.gen_time - clock.now()) < timedelta(minutes=1)
    response = decode_timestamp_response(stamp.response)
    assert response.tst_info.message_imprint.message == hashlib.sha256(stamped_message(checkpoint)).digest()

    append(own_log, 3)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        parts = bundle_parts(session, [2, 6])
    assert parts.files["timestamp.tsr"] == stamp.response
    folder = tmp_path / "bundle"
    folder.mkdir()
    for name, content in parts.files.items():
        (folder / name).write_bytes(content)

    result = _run(folder, "--tsa-cert", tsa.root)
    assert result.returncode == 0, result.stdout
    assert "ok    timestamp: the log's first 4 events existed by " in result.stdout
    unchecked = _run(folder)
    assert unchecked.returncode == 0 and "the TSA's signature is not checked (no --tsa-cert)" in unchecked.stdout

    # Another authority's root does not vouch for this time-stamp.
    stranger = make_ca(tsa.folder, "stranger")
    other = _run(folder, "--tsa-cert", stranger)
    assert other.returncode == 1 and "timestamp.tsr: the time-stamp does not verify under --tsa-cert" in other.stdout

    # A time-stamp moved to another checkpoint's note no longer matches its imprint.
    info = (folder / "timestamp.json").read_text("utf-8")
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        later = issue_checkpoint(session)
        other_stamp = timestamp_checkpoint(session, later)
    assert other_stamp is not None
    (folder / "timestamp.tsr").write_bytes(other_stamp.response)
    swapped = _run(folder, "--tsa-cert", tsa.root)
    assert swapped.returncode == 1
    assert "its message imprint is not the SHA-256 of the time-stamped checkpoint's note" in swapped.stdout
    assert info == (folder / "timestamp.json").read_text("utf-8")


def test_an_unreachable_or_refusing_tsa_leaves_no_time_stamp(own_log: Engine, tmp_path: Path) -> None:
    append(own_log, 2)
    previous = get_settings().tsa_url
    try:
        for url in ("http://127.0.0.1:9/tsr", "http://127.0.0.1:9/"):
            override_settings(tsa_url=url, tsa_timeout_seconds=2)
            with Session(own_log, expire_on_commit=False) as session, session.begin():
                assert timestamp_checkpoint(session, issue_checkpoint(session)) is None
        with local_tsa(tmp_path / "tsa") as authority:
            override_settings(tsa_url=authority.url.replace("/tsr", "/"), tsa_timeout_seconds=15)
            (authority.folder / "tsa.key").write_text("not a key")  # openssl fails: the server answers 400
            with Session(own_log, expire_on_commit=False) as session, session.begin():
                assert timestamp_checkpoint(session, issue_checkpoint(session)) is None
        with Session(own_log) as session:
            assert session.scalar(select(func.count()).select_from(CustodyTimestamp)) == 0
    finally:
        override_settings(tsa_url=previous, tsa_timeout_seconds=15)
