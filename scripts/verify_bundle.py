#!/usr/bin/env python3
"""Verify a custody bundle offline. Needs Python 3.11+ and the `cryptography` package, nothing else.

    python verify_bundle.py BUNDLE [CLIP_FILE ...]
    python verify_bundle.py --receipt RECEIPT.json

RECEIPT.json is a consent receipt (GET /api/v1/consents/{id}/receipts/{seq}): the same four files below under
"files", with the consent, its custody_seq and leaf_hash; checks 1-3 run on its one event, which must record that
consent's change (given, changed or withdrawn) with that seq, leaf hash, scope and terms.


BUNDLE is a zip file or a directory holding:
  events.jsonl     one custody event per line (seq, at, actor, action, object_type, object_id, sha256,
                   version_id, case_id, reason, where, outcome, details, leaf_hash)
  checkpoint.json  {tree_size, root_hash, issued_at, key_id, signature}, signed with Ed25519
  public_key.pem   the signing key (SubjectPublicKeyInfo PEM)
  proofs.jsonl     one inclusion proof per event {seq, leaf_index, tree_size, leaf_hash, audit_path}

Checks, each failure printed precisely:
  1. key_id = SHA-256 of the raw 32-byte public key, and the Ed25519 signature over the checkpoint's bytes:
       "footage-custody-checkpoint/v1\\n<tree_size>\\n<root_hash>\\n<issued_at>\\n<key_id>\\n"
     (issued_at as YYYY-MM-DDTHH:MM:SS.ffffffZ; hashes in lower-case hex);
  2. each event's leaf, recomputed from its fields: SHA-256(0x00 || canonical JSON of the 13 fields: keys
     sorted, no whitespace, UTF-8, times as above), equals its leaf_hash;
  3. each event's inclusion proof leads to the signed root (RFC 9162 §2.1.3.2, node = SHA-256(0x01||l||r));
  4. each CLIP_FILE's SHA-256 is the sha256 an event in the bundle recorded;
  5. files an event lists in details.bundle_files ({name: sha256}) are present with those hashes.
Other files in the bundle (a report, a README) are listed as not covered by the signed log.

Exit status: 0 when everything verifies, 1 when anything fails, 2 when the bundle cannot be read.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CHECKPOINT_FORMAT = "footage-custody-checkpoint/v1"
REQUIRED = ("events.jsonl", "checkpoint.json", "public_key.pem", "proofs.jsonl")
ENTRY_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "sha256",
    "version_id",
    "case_id",
    "reason",
    "where",
    "outcome",
    "details",
)
HEX32 = re.compile(r"[0-9a-f]{64}")
HEX64 = re.compile(r"[0-9a-f]{128}")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


class Unreadable(Exception):
    """The bundle cannot be opened or lacks a required file."""


# -- Merkle hashing (RFC 6962 / RFC 9162) ----------------------------------------------------------
def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# -- canonical forms ---------------------------------------------------------------------------------
def canonical_time(value: Any) -> str:
    """The signed rendering of a time given as ISO 8601 with a "T", seconds and an offset."""
    if not isinstance(value, str) or not ISO_TIME.fullmatch(value):
        raise ValueError(f"expected a time like 2026-03-14T01:59:26.000000Z, got {value!r}")
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_entry(event: dict[str, Any]) -> bytes:
    entry = {name: event[name] for name in ENTRY_FIELDS}
    entry["at"] = canonical_time(entry["at"])
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def checkpoint_message(tree_size: int, root_hex: str, issued_at: str, key_id: str) -> bytes:
    return f"{CHECKPOINT_FORMAT}\n{tree_size}\n{root_hex}\n{issued_at}\n{key_id}\n".encode("ascii")


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# -- reading the bundle --------------------------------------------------------------------------------
def read_bundle(path: Path) -> tuple[dict[str, bytes], list[str]]:
    """(files by name, failures found while reading); zip members are found by their base name."""
    files: dict[str, bytes] = {}
    failures: list[str] = []
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            name = item.relative_to(path).as_posix()
            files[name] = item.read_bytes()
    elif zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    try:
                        files[info.filename] = archive.read(info)  # checks each member's CRC-32
                    except (zipfile.BadZipFile, OSError, ValueError) as exc:
                        failures.append(f"{info.filename}: damaged in the zip ({exc})")
        except (zipfile.BadZipFile, OSError) as exc:
            raise Unreadable(f"{path}: not a readable zip ({exc})") from exc
    else:
        raise Unreadable(f"{path}: neither a directory nor a zip file")
    by_base: dict[str, bytes] = {}
    for name, content in files.items():
        base = name.rsplit("/", 1)[-1]
        if base in REQUIRED and base in by_base:
            failures.append(f"{base}: more than one in the bundle")
        by_base.setdefault(base, content)
    for base in REQUIRED:
        if base not in by_base and not any(f.startswith(f"{base}:") for f in failures):
            raise Unreadable(f"{path}: no {base} in the bundle")
    others = {name: content for name, content in files.items() if name.rsplit("/", 1)[-1] not in REQUIRED}
    return {**others, **{base: by_base[base] for base in REQUIRED if base in by_base}}, failures


def json_lines(name: str, content: bytes, failures: list[str]) -> list[tuple[int, dict[str, Any]]]:
    records = []
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        failures.append(f"{name}: not UTF-8 ({exc})")
        return []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            failures.append(f"{name} line {number}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(record, dict):
            failures.append(f"{name} line {number}: not a JSON object")
            continue
        records.append((number, record))
    return records


# -- the checks ----------------------------------------------------------------------------------------
def check_checkpoint(files: dict[str, bytes], failures: list[str], notes: list[str]) -> dict[str, Any] | None:
    """The checkpoint with its root as bytes when its key id and signature verify, else None."""
    try:
        public = serialization.load_pem_public_key(files["public_key.pem"])
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        failures.append(f"public_key.pem: not a PEM public key ({exc})")
        return None
    if not isinstance(public, Ed25519PublicKey):
        failures.append(f"public_key.pem: a {type(public).__name__}, not an Ed25519 key")
        return None
    canonical_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    if files["public_key.pem"].replace(b"\r\n", b"\n") != canonical_pem:
        # Base64 has slack (unused padding bits): a changed byte could decode to the same key.
        failures.append("public_key.pem: not the canonical PEM encoding of its key")
        return None
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(raw).hexdigest()
    try:
        checkpoint = json.loads(files["checkpoint.json"].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        failures.append(f"checkpoint.json: not JSON ({exc})")
        return None
    if not isinstance(checkpoint, dict):
        failures.append("checkpoint.json: not a JSON object")
        return None
    shape = {
        "tree_size": is_int(checkpoint.get("tree_size")) and checkpoint["tree_size"] >= 0,
        "root_hash": isinstance(checkpoint.get("root_hash"), str) and HEX32.fullmatch(checkpoint["root_hash"]),
        "key_id": isinstance(checkpoint.get("key_id"), str) and HEX32.fullmatch(checkpoint["key_id"]),
        "signature": isinstance(checkpoint.get("signature"), str) and HEX64.fullmatch(checkpoint["signature"]),
    }
    bad = [name for name, good in shape.items() if not good]
    try:
        issued_at = canonical_time(checkpoint.get("issued_at"))
    except ValueError as exc:
        bad.append(f"issued_at ({exc})")
    if bad:
        failures.append(f"checkpoint.json: malformed {', '.join(bad)}")
        return None
    if checkpoint["key_id"] != key_id:
        failures.append(
            f"checkpoint.json: key_id {checkpoint['key_id']} is not the SHA-256 of public_key.pem ({key_id})"
        )
        return None
    message = checkpoint_message(checkpoint["tree_size"], checkpoint["root_hash"], issued_at, key_id)
    try:
        public.verify(bytes.fromhex(checkpoint["signature"]), message)
    except InvalidSignature:
        failures.append("checkpoint.json: the Ed25519 signature does not verify under public_key.pem")
        return None
    notes.append(
        f"ok    checkpoint: {checkpoint['tree_size']} events, root {checkpoint['root_hash']}, issued {issued_at}, "
        f"signed by key {key_id}"
    )
    return {**checkpoint, "root": bytes.fromhex(checkpoint["root_hash"])}


def check_events(files: dict[str, bytes], failures: list[str]) -> dict[int, dict[str, Any]]:
    """Events whose leaf hash matches their fields, by seq."""
    events: dict[int, dict[str, Any]] = {}
    for line, event in json_lines("events.jsonl", files["events.jsonl"], failures):
        where = f"events.jsonl line {line}"
        missing = [name for name in (*ENTRY_FIELDS, "leaf_hash") if name not in event]
        if missing:
            failures.append(f"{where}: missing {', '.join(missing)}")
            continue
        seq = event["seq"]
        if not is_int(seq) or seq < 1:
            failures.append(f"{where}: seq {seq!r} is not a positive integer")
            continue
        where = f"event seq {seq} ({where})"
        if seq in events:
            failures.append(f"{where}: seq {seq} appears twice")
            continue
        stored = event["leaf_hash"]
        if not isinstance(stored, str) or not HEX32.fullmatch(stored):
            failures.append(f"{where}: leaf_hash is not 64 lower-case hex digits")
            continue
        try:
            recomputed = leaf_hash(canonical_entry(event)).hex()
        except (TypeError, ValueError) as exc:
            failures.append(f"{where}: cannot rebuild its entry ({exc})")
            continue
        if recomputed != stored:
            failures.append(f"{where}: its fields hash to leaf {recomputed}, not the recorded {stored}")
            continue
        events[seq] = event
    return events


def check_proofs(
    files: dict[str, bytes], checkpoint: dict[str, Any], events: dict[int, dict[str, Any]], failures: list[str]
) -> int:
    proven: set[int] = set()
    size, root = checkpoint["tree_size"], checkpoint["root"]
    for line, proof in json_lines("proofs.jsonl", files["proofs.jsonl"], failures):
        where = f"proofs.jsonl line {line}"
        seq = proof.get("seq")
        if not is_int(seq):
            failures.append(f"{where}: no integer seq")
            continue
        where = f"proof of seq {seq} ({where})"
        path = proof.get("audit_path")
        if (
            not isinstance(path, list)
            or not all(isinstance(h, str) and HEX32.fullmatch(h) for h in path)
            or not isinstance(proof.get("leaf_hash"), str)
            or not is_int(proof.get("leaf_index"))
            or not is_int(proof.get("tree_size"))
        ):
            failures.append(f"{where}: malformed (leaf_index, tree_size, leaf_hash or audit_path)")
            continue
        if seq in proven:
            failures.append(f"{where}: a second proof for the same event")
            continue
        if proof["tree_size"] != size:
            failures.append(f"{where}: made for a tree of {proof['tree_size']} events, the checkpoint signs {size}")
            continue
        if proof["leaf_index"] != seq - 1:
            failures.append(f"{where}: leaf_index {proof['leaf_index']} is not seq - 1")
            continue
        event = events.get(seq)
        if event is None:
            failures.append(f"{where}: no verified event with this seq in events.jsonl")
            continue
        if proof["leaf_hash"] != event["leaf_hash"]:
            failures.append(f"{where}: leaf_hash differs from the event's")
            continue
        leaf = bytes.fromhex(event["leaf_hash"])
        if not verify_inclusion(leaf, seq - 1, size, [bytes.fromhex(h) for h in path], root):
            failures.append(f"{where}: the audit path does not lead to the signed root")
            continue
        proven.add(seq)
    for seq in sorted(set(events) - proven):
        if not any(f.startswith(f"proof of seq {seq} ") for f in failures):
            failures.append(f"event seq {seq}: no valid inclusion proof in proofs.jsonl")
    return len(proven)


def check_clips(clips: list[Path], events: dict[int, dict[str, Any]], failures: list[str], notes: list[str]) -> None:
    recorded: dict[str, list[dict[str, Any]]] = {}
    for event in events.values():
        if isinstance(event.get("sha256"), str):
            recorded.setdefault(event["sha256"], []).append(event)
    for clip in clips:
        digest = hashlib.sha256()
        try:
            with clip.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
        except OSError as exc:
            failures.append(f"{clip}: cannot be read ({exc})")
            continue
        matches = recorded.get(digest.hexdigest())
        if not matches:
            failures.append(f"{clip}: SHA-256 {digest.hexdigest()} is recorded by no event in the bundle")
            continue
        first = min(matches, key=lambda e: int(e["seq"]))
        seqs = ", ".join(str(e["seq"]) for e in sorted(matches, key=lambda e: int(e["seq"])))
        notes.append(
            f"ok    {clip}: SHA-256 {digest.hexdigest()} is {first['object_type']} {first['object_id']} (events {seqs})"
        )


def check_other_files(
    files: dict[str, bytes], events: dict[int, dict[str, Any]], failures: list[str], notes: list[str]
) -> None:
    covered: dict[str, tuple[str, int]] = {}
    for seq, event in sorted(events.items()):
        listed = event["details"].get("bundle_files") if isinstance(event["details"], dict) else None
        if isinstance(listed, dict):
            for name, sha in listed.items():
                covered[str(name)] = (str(sha), seq)
    for name, (sha, seq) in sorted(covered.items()):
        content = next((c for n, c in files.items() if n == name or n.endswith("/" + name)), None)
        if content is None:
            failures.append(f"{name}: listed by event seq {seq} but not in the bundle")
        elif hashlib.sha256(content).hexdigest() != sha:
            failures.append(f"{name}: SHA-256 differs from the {sha} recorded by event seq {seq}")
        else:
            notes.append(f"ok    {name}: SHA-256 recorded by event seq {seq}")
    for name in sorted(files):
        base = name.rsplit("/", 1)[-1]
        if base not in REQUIRED and base not in covered and name not in covered:
            notes.append(f"note  {name}: not covered by the signed log (its content is not verified)")


def verify(bundle: Path, clips: list[Path]) -> tuple[list[str], list[str]]:
    """(failures, notes) of verifying `bundle` and the clip files."""
    files, failures = read_bundle(bundle)
    notes: list[str] = []
    checkpoint = check_checkpoint(files, failures, notes)
    events = check_events(files, failures)
    notes.append(f"ok    events: {len(events)} whose leaf hash matches their fields")
    if checkpoint is not None:
        for seq in sorted(s for s in events if s > checkpoint["tree_size"]):
            failures.append(f"event seq {seq}: beyond the checkpoint's {checkpoint['tree_size']} events")
        proven = check_proofs(files, checkpoint, events, failures)
        notes.append(f"ok    proofs: {proven} events included under the signed root")
    check_clips(clips, events, failures, notes)
    check_other_files(files, events, failures, notes)
    return failures, notes


RECEIPT_FORMAT = "footage-consent-receipt/v1"
RECEIPT_ACTIONS = {"consent.given": ("given", "changed"), "consent.withdrawn": ("withdrawn",)}


def verify_receipt(path: Path) -> tuple[list[str], list[str]]:
    """(failures, notes) of verifying a consent receipt (JSON): its event's leaf, the inclusion proof under the
    signed checkpoint, and that the event records this consent's change with the receipt's number and hash."""
    try:
        receipt = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unreadable(f"{path}: not a readable JSON receipt ({exc})") from exc
    if (
        not isinstance(receipt, dict)
        or receipt.get("format") != RECEIPT_FORMAT
        or not isinstance(receipt.get("files"), dict)
    ):
        raise Unreadable(f"{path}: not a consent receipt ({RECEIPT_FORMAT})")
    files = {name: str(content).encode("utf-8") for name, content in receipt["files"].items()}
    for base in REQUIRED:
        if base not in files:
            raise Unreadable(f"{path}: the receipt lacks {base}")
    failures: list[str] = []
    notes: list[str] = []
    checkpoint = check_checkpoint(files, failures, notes)
    events = check_events(files, failures)
    if checkpoint is not None:
        proven = check_proofs(files, checkpoint, events, failures)
        notes.append(f"ok    proofs: {proven} event included under the signed root")
    seq, leaf = receipt.get("custody_seq"), receipt.get("leaf_hash")
    consent = receipt.get("consent") if isinstance(receipt.get("consent"), dict) else {}
    event = events.get(seq) if is_int(seq) else None
    if event is None:
        failures.append(f"receipt: custody_seq {seq!r} is not a verified event of the receipt")
        return failures, notes
    if event["leaf_hash"] != leaf:
        failures.append(f"receipt: leaf_hash {leaf!r} is not the leaf of event {seq} ({event['leaf_hash']})")
    if event.get("object_id") != consent.get("id"):
        failures.append(f"receipt: event {seq} is about {event.get('object_id')}, not consent {consent.get('id')}")
    if consent.get("change") not in RECEIPT_ACTIONS.get(str(event.get("action")), ()):
        failures.append(f"receipt: event {seq} records {event.get('action')}, not a consent {consent.get('change')}")
    details = event.get("details") if isinstance(event.get("details"), dict) else {}
    row = details.get("row") if isinstance(details.get("row"), dict) else {}
    row = row.get("values") if isinstance(row.get("values"), dict) else {}
    for name in ("scope", "terms_version", "legal_basis"):
        if name in row and row[name] != consent.get(name):
            failures.append(f"receipt: {name} is {consent.get(name)!r} on the receipt but {row[name]!r} in the log")
    if not failures:
        notes.append(
            f"ok    receipt: event {seq} ({event['action']}, {event['at']}) records consent {consent.get('id')} "
            f"with leaf hash {leaf}"
        )
    return failures, notes


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if argv else 2
    try:
        if argv[0] == "--receipt":
            if len(argv) != 2:
                print("usage: verify_bundle.py --receipt RECEIPT.json")
                return 2
            failures, notes = verify_receipt(Path(argv[1]))
        else:
            failures, notes = verify(Path(argv[0]), [Path(p) for p in argv[1:]])
    except Unreadable as exc:
        print(f"FAIL  {exc}")
        return 2
    for note in notes:
        print(note)
    for failure in failures:
        print(f"FAIL  {failure}")
    if failures:
        print(f"NOT VERIFIED: {len(failures)} failure(s)")
        return 1
    print("VERIFIED")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
