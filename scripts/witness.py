#!/usr/bin/env python3
"""A witness of the custody log: cosigns its checkpoints only while they stay consistent with what it saw.

Needs Python 3.11+ and the `cryptography` package, nothing else; run it on a machine the log's operator does
not control (for example at the procuracy), from cron.

    python witness.py keygen --name NAME --key KEY.pem
        make the witness's Ed25519 key (mode 0600) and print its verifier key, NAME+KEYID+BASE64, which the
        service operator puts in CUSTODY_WITNESS_KEYS and auditors pass to --witness.

    python witness.py run --url URL --name NAME --key KEY.pem --log-key LOG_VKEY --state DIR
                          (--token TOKEN | --user EMAIL --password-file FILE)
        fetch the log's checkpoint (C2SP tlog-checkpoint note, GET /api/v1/custody/checkpoint with
        Accept: text/plain), check the log's signature with LOG_VKEY (the `note_vkey` of
        GET /api/v1/custody/public-key, compared out of band), and:
          - the first time, remember it (trust on first use);
          - when the log grew, fetch the consistency proof from the size last cosigned to the new size and
            verify it (RFC 9162 2.1.4.2) against the two roots;
          - at the same size, require the same root;
          - a smaller size, a different root or a proof that fails: REFUSE.
        A checkpoint that passes is cosigned (C2SP tlog-cosignature, cosignature/v1), remembered in
        DIR/state.json, and posted to POST /api/v1/custody/cosignatures. A refusal cosigns nothing, keeps the
        state, writes DIR/refused-<time>.txt with both notes and the reason (the evidence of a split view or a
        rewritten log: send it to whoever relies on the log), prints it and exits with status 3.

Exit status: 0 cosigned, 3 refused, 2 the log could not be reached or answered something unreadable.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DASH = "\u2014"
SIG_ED25519, SIG_COSIGNATURE = 0x01, 0x04
EXIT_REFUSED, EXIT_UNREACHABLE = 3, 2


class Refused(Exception):
    """The checkpoint is not consistent with the one this witness cosigned last."""


class Unreadable(Exception):
    """The log could not be reached, or answered something that is not what the protocol says."""


# -- signed notes (c2sp.org/signed-note) ---------------------------------------------------------------------
def key_id(name: str, sig_type: int, public_raw: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_raw).digest()[:4]


def vkey(name: str, sig_type: int, public_raw: bytes) -> str:
    return (
        f"{name}+{key_id(name, sig_type, public_raw).hex()}+{base64.b64encode(bytes([sig_type]) + public_raw).decode()}"
    )


def parse_vkey(text: str) -> tuple[str, int, bytes]:
    """(name, signature type, raw public key) of NAME+KEYID+BASE64, its key id checked."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not parts[0]:
        raise ValueError("a verifier key is NAME+KEYID+BASE64")
    try:
        raw = base64.b64decode(parts[2], validate=True)
        given = bytes.fromhex(parts[1])
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the verifier key's id or key is not valid hex/base64") from exc
    if len(raw) != 33 or raw[0] not in (SIG_ED25519, SIG_COSIGNATURE):
        raise ValueError("not an Ed25519 verifier key")
    if key_id(parts[0], raw[0], raw[1:]) != given:
        raise ValueError("the verifier key's id does not match its name and key")
    return parts[0], raw[0], raw[1:]


def split_note(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    at = text.rfind("\n\n")
    if at < 0 or not text.endswith("\n"):
        raise ValueError("not a signed note")
    lines = []
    for line in text[at + 2 : -1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise ValueError("a signature line is '— NAME BASE64'")
        lines.append((parts[1], base64.b64decode(parts[2], validate=True)))
    return text[: at + 1], lines


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    body: str
    note: str


def parse_checkpoint(note: str, log_key: tuple[str, int, bytes]) -> Checkpoint:
    """The checkpoint of `note`, whose log signature must verify under `log_key` (name = the note's origin)."""
    try:
        body, signatures = split_note(note)
        origin, size_text, root_text, *_ = body.split("\n")
        root = base64.b64decode(root_text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise Unreadable(f"the checkpoint is not a signed checkpoint note ({exc})") from exc
    if not size_text.isdigit() or len(root) != 32:
        raise Unreadable("the checkpoint's size or root is malformed")
    name, sig_type, public_raw = log_key
    if origin != name or sig_type != SIG_ED25519:
        raise Unreadable(f"the checkpoint is of log {origin!r}, the log key given is {name!r}")
    wanted = key_id(name, SIG_ED25519, public_raw)
    public = Ed25519PublicKey.from_public_bytes(public_raw)
    for signer, blob in signatures:
        if signer == name and blob[:4] == wanted and len(blob) == 68:
            try:
                public.verify(blob[4:], body.encode("utf-8"))
            except InvalidSignature:
                continue
            return Checkpoint(origin, int(size_text), root, body, note)
    raise Unreadable("the checkpoint carries no valid signature of the log's key")


def cosign(body: str, name: str, private: Ed25519PrivateKey, timestamp: int) -> str:
    """The cosignature/v1 line (c2sp.org/tlog-cosignature) over `body`."""
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signature = private.sign(f"cosignature/v1\ntime {timestamp}\n{body}".encode())
    blob = key_id(name, SIG_COSIGNATURE, public_raw) + struct.pack(">Q", timestamp) + signature
    return f"{DASH} {name} {base64.b64encode(blob).decode()}\n"


# -- consistency (RFC 9162 2.1.4.2) ---------------------------------------------------------------------------
def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_consistency(first: int, second: int, proof: list[bytes], first_root: bytes, second_root: bytes) -> bool:
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if first & (first - 1) == 0:
        proof = [first_root, *proof]
    if not proof:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


# -- talking to the log ------------------------------------------------------------------------------------------
class Log:
    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def request(self, path: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
        all_headers = dict(headers or {})
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, headers=all_headers, method="POST" if data else "GET")
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise Unreadable(f"{path}: HTTP {exc.code} {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise Unreadable(f"{path}: the log cannot be reached ({exc})") from exc

    def sign_in(self, email: str, password: str) -> None:
        form = urllib.parse.urlencode({"username": email, "password": password}).encode()
        answer = self.request(
            "/api/v1/auth/token", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        self.token = json.loads(answer)["access_token"]

    def checkpoint_note(self) -> str:
        return self.request("/api/v1/custody/checkpoint", headers={"Accept": "text/plain"}).decode("utf-8")

    def consistency(self, first: int, second: int) -> list[bytes]:
        answer = json.loads(self.request(f"/api/v1/custody/proof/consistency?first={first}&second={second}"))
        if answer.get("first") != first or answer.get("second") != second:
            raise Unreadable("the consistency proof is for other sizes than asked")
        return [bytes.fromhex(h) for h in answer["proof"]]

    def post_cosignature(self, note: str) -> None:
        data = json.dumps({"note": note}).encode()
        self.request("/api/v1/custody/cosignatures", data=data, headers={"Content-Type": "application/json"})


# -- the witness ------------------------------------------------------------------------------------------------
def load_state(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / "state.json"
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return state


def save_state(state_dir: Path, checkpoint: Checkpoint, cosigned_note: str) -> None:
    state = {
        "origin": checkpoint.origin,
        "tree_size": checkpoint.size,
        "root_hash": base64.b64encode(checkpoint.root).decode(),
        "note": cosigned_note,
    }
    tmp = state_dir / f".state.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=2, ensure_ascii=False), "utf-8")
    os.replace(tmp, state_dir / "state.json")


def check(state: dict[str, Any] | None, new: Checkpoint, log: Log) -> None:
    """Raise Refused unless `new` is consistent with the checkpoint last cosigned (`state`)."""
    if state is None:
        return
    if state["origin"] != new.origin:
        raise Refused(f"the log's origin changed from {state['origin']!r} to {new.origin!r}")
    old_size, old_root = int(state["tree_size"]), base64.b64decode(state["root_hash"])
    if new.size < old_size:
        raise Refused(f"the log shrank: it now shows {new.size} events, this witness cosigned {old_size}")
    if new.size == old_size:
        if new.root != old_root:
            raise Refused(f"two different roots for the same {old_size} events: the log was rewritten")
        return
    if old_size == 0:
        return
    proof = log.consistency(old_size, new.size)
    if not verify_consistency(old_size, new.size, proof, old_root, new.root):
        raise Refused(
            f"the log of {new.size} events does not extend the {old_size} events this witness cosigned "
            "(the consistency proof fails): the log was rewritten"
        )


def run(args: argparse.Namespace) -> int:
    state_dir = Path(args.state)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = serialization.load_pem_private_key(Path(args.key).read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        print("the witness key is not an Ed25519 private key", file=sys.stderr)
        return EXIT_UNREACHABLE
    log = Log(args.url, args.token)
    try:
        log_key = parse_vkey(args.log_key)
        if args.user:
            log.sign_in(args.user, Path(args.password_file).read_text("utf-8").strip())
        new = parse_checkpoint(log.checkpoint_note(), log_key)
        state = load_state(state_dir)
        check(state, new, log)
    except Refused as exc:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        report = state_dir / f"refused-{stamp}.txt"
        old_note = (state or {}).get("note", "")
        report.write_text(
            f"REFUSED at {stamp}: {exc}\n\n-- last cosigned checkpoint --\n{old_note}\n-- offered checkpoint --\n"
            f"{new.note}",
            "utf-8",
        )
        print(f"REFUSED: {exc} (evidence in {report})", file=sys.stderr)
        return EXIT_REFUSED
    except (Unreadable, ValueError, KeyError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    line = cosign(new.body, args.name, private, int(time.time()))
    cosigned = new.note + line
    save_state(state_dir, new, cosigned)  # remembered before it leaves: the witness stands by what it signed
    try:
        log.post_cosignature(cosigned)
    except Unreadable as exc:
        print(f"cosigned {new.size} events but could not hand it in: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(f"cosigned {new.origin} at {new.size} events, root {base64.b64encode(new.root).decode()}")
    return 0


def keygen(args: argparse.Namespace) -> int:
    path = Path(args.key)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    print(vkey(args.name, SIG_COSIGNATURE, raw))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("keygen", help="make the witness key and print its verifier key")
    gen.add_argument("--name", required=True, help="the witness's name, e.g. vksnd.example.vn/witness")
    gen.add_argument("--key", required=True, help="where to write the private key (PEM, must not exist)")
    go = commands.add_parser("run", help="check the log's newest checkpoint and cosign it if consistent")
    go.add_argument("--url", required=True, help="the service's base URL")
    go.add_argument("--name", required=True, help="the witness's name, as in its verifier key")
    go.add_argument("--key", required=True, help="the witness's private key (PEM)")
    go.add_argument("--log-key", required=True, help="the log's note verifier key (NAME+KEYID+BASE64)")
    go.add_argument("--state", required=True, help="directory keeping the last cosigned checkpoint")
    go.add_argument("--token", help="a bearer token of an account allowed to read the custody log")
    go.add_argument("--user", help="sign in as this account instead of --token")
    go.add_argument("--password-file", help="file holding the --user account's password")
    args = parser.parse_args(argv)
    if args.command == "keygen":
        return keygen(args)
    if args.user and not args.password_file:
        parser.error("--user needs --password-file")
    return run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
