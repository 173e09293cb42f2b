#!/usr/bin/env python3
"""Verify a custody bundle offline. Needs Python 3.11+ and the `cryptography` package, nothing else.

    python verify_bundle.py BUNDLE [CLIP_FILE ...] [--witness VKEY ...] [--since CHECKPOINT_FILE [--proof FILE]]
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
and, in bundles from this version on:
  checkpoint.note    the same checkpoint as a C2SP tlog-checkpoint signed note, with witnesses' cosignatures
  consistency.jsonl  consistency proofs {first, second, proof} from earlier witnessed sizes to the checkpoint's

Checks, each failure printed precisely:
  1. key_id = SHA-256 of the raw 32-byte public key, and the Ed25519 signature over the checkpoint's bytes:
       "footage-custody-checkpoint/v1\\n<tree_size>\\n<root_hash>\\n<issued_at>\\n<key_id>\\n"
     (issued_at as YYYY-MM-DDTHH:MM:SS.ffffffZ; hashes in lower-case hex);
  2. each event's leaf, recomputed from its fields: SHA-256(0x00 || canonical JSON of the 13 fields: keys
     sorted, no whitespace, UTF-8, times as above), equals its leaf_hash;
  3. each event's inclusion proof leads to the signed root (RFC 9162 §2.1.3.2, node = SHA-256(0x01||l||r));
  4. each CLIP_FILE's SHA-256 is the sha256 an event in the bundle recorded;
  5. files an event lists in details.bundle_files ({name: sha256}) are present with those hashes;
  6. checkpoint.note, when present, is signed by the same key (key name = the note's origin) and states the
     same size and root as checkpoint.json;
  7. --since CHECKPOINT_FILE (a checkpoint note, or a checkpoint.json, the auditor kept): the kept checkpoint
     is signed by the same key and the log it states is consistent with the bundle's (RFC 9162 2.1.4): the
     smaller tree is a prefix of the larger, whichever is older. The proof comes from consistency.jsonl or
     from --proof FILE (the JSON of GET /api/v1/custody/proof/consistency?first=SMALLER&second=LARGER);
  8. --witness VKEY (repeatable; the witness's NAME+KEYID+BASE64, or a file holding it): a valid
     cosignature/v1 of that witness on the bundle's checkpoint, or on the --since checkpoint when that one is
     at least as large and consistent with it (a bundle exported before the witnesses saw its checkpoint is
     checked against a later witnessed checkpoint: fetch it with Accept: text/plain).
  9. each case's chain: events of a case carry case_prev, the case's previous event {seq, hash} (null for
     the first); from the case's export event (or its last event) back to the first, every link must name an
     event of the bundle with that leaf hash, so an event of the case left out is named by the gap it leaves;
  10. timestamp.tsr and timestamp.json, when present: the RFC 3161 time-stamp of a checkpoint within the
     bundle's (its note, signed by the same key, is consistent with the bundle's checkpoint), whose message
     imprint is the SHA-256 of that note; with --tsa-cert ROOT.pem (and the rfc3161-client package) the TSA's
     signature must chain to that root;
Other files in the bundle (a report, a README) are listed as not covered by the signed log.

Exit status: 0 when everything verifies, 1 when anything fails, 2 when the bundle cannot be read.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import struct
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
OPTIONAL = ("checkpoint.note", "consistency.jsonl", "timestamp.tsr", "timestamp.json")
DASH = "\u2014"
SIG_ED25519, SIG_COSIGNATURE = 0x01, 0x04
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
    if "case_prev" in event:  # an event of a case's chain
        entry["case_prev"] = event["case_prev"]
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
        if base in (*REQUIRED, *OPTIONAL) and base in by_base:
            failures.append(f"{base}: more than one in the bundle")
        by_base.setdefault(base, content)
    for base in REQUIRED:
        if base not in by_base and not any(f.startswith(f"{base}:") for f in failures):
            raise Unreadable(f"{path}: no {base} in the bundle")
    known = (*REQUIRED, *OPTIONAL)
    others = {name: content for name, content in files.items() if name.rsplit("/", 1)[-1] not in known}
    return {**others, **{base: by_base[base] for base in known if base in by_base}}, failures


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


def check_timestamp(
    files: dict[str, bytes], checkpoint: dict[str, Any], tsa_certs: list[Path], failures: list[str], notes: list[str]
) -> None:
    """The RFC 3161 time-stamp of a checkpoint within the bundle's: its note is signed by the bundle's key, it is
    consistent with the bundle's checkpoint, the token's imprint is SHA-256 of that note and (with --tsa-cert,
    using the rfc3161-client package) the TSA's signature chains to the given root."""
    if "timestamp.json" not in files or "timestamp.tsr" not in files:
        if tsa_certs:
            failures.append("--tsa-cert: the bundle holds no time-stamp (timestamp.tsr, timestamp.json)")
        return
    public = bundle_public_key(files)
    if public is None:
        return
    try:
        info = json.loads(files["timestamp.json"].decode("utf-8"))
        note_text = info["note"]
        stamped = read_note(note_text, public)
        proof = [bytes.fromhex(h) for h in info["consistency"]]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        failures.append(f"timestamp.json: not a time-stamped checkpoint of this log ({exc})")
        return
    if not verify_consistency(
        stamped["tree_size"], checkpoint["tree_size"], proof, stamped["root"], checkpoint["root"]
    ):
        failures.append(
            f"timestamp.json: the time-stamped log of {stamped['tree_size']} events is not a prefix of the "
            f"bundle's {checkpoint['tree_size']} events"
        )
        return
    try:
        import rfc3161_client  # a well-kept RFC 3161 parser and verifier; optional for the rest of the checks
    except ImportError:
        if tsa_certs:
            failures.append("--tsa-cert: verifying the time-stamp needs the rfc3161-client package")
        else:
            notes.append("note  timestamp.tsr: not verified (pip install rfc3161-client, then pass --tsa-cert)")
        return
    message = note_text.encode("utf-8")
    try:
        response = rfc3161_client.decode_timestamp_response(files["timestamp.tsr"])
    except ValueError as exc:
        failures.append(f"timestamp.tsr: not a time-stamp response ({exc})")
        return
    if response.tst_info.message_imprint.message != hashlib.sha256(message).digest():
        failures.append("timestamp.tsr: its message imprint is not the SHA-256 of the time-stamped checkpoint's note")
        return
    when = response.tst_info.gen_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not tsa_certs:
        notes.append(
            f"note  timestamp.tsr: imprint matches, time {when}; the TSA's signature is not checked (no --tsa-cert)"
        )
        return
    from cryptography import x509

    try:
        roots = [x509.load_pem_x509_certificate(path.read_bytes()) for path in tsa_certs]
        builder = rfc3161_client.VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        builder.build().verify_message(response, message)
    except (OSError, ValueError, rfc3161_client.VerificationError) as exc:
        failures.append(f"timestamp.tsr: the time-stamp does not verify under --tsa-cert ({exc})")
        return
    notes.append(
        f"ok    timestamp: the log's first {stamped['tree_size']} events existed by {when} "
        "(RFC 3161 time-stamp, signed by the TSA)"
    )


def check_case_chains(events: dict[int, dict[str, Any]], failures: list[str], notes: list[str]) -> None:
    """Each case's chain (events carrying case_prev) runs unbroken from its head back to its first event, so no
    event of the case between them is left out. The head is the case's export event (the one listing
    bundle_files) when the bundle holds one: it named the case's previous event when it was recorded."""
    by_case: dict[str, list[int]] = {}
    for seq, event in events.items():
        if "case_prev" in event:
            by_case.setdefault(str(event.get("case_id")), []).append(seq)
    for case, seqs in sorted(by_case.items()):
        exports = [s for s in seqs if isinstance(events[s]["details"], dict) and "bundle_files" in events[s]["details"]]
        head = max(exports or seqs)
        if exports and head != max(seqs):
            failures.append(f"case {case}: event seq {max(seqs)} comes after the export event seq {head}")
        reached: list[int] = []
        current = head
        broken = False
        while True:
            reached.append(current)
            link = events[current]["case_prev"]
            if link is None:
                break
            if (
                not isinstance(link, dict)
                or not is_int(link.get("seq"))
                or not isinstance(link.get("hash"), str)
                or not 0 < link["seq"] < current
            ):
                failures.append(f"case {case}: event seq {current} has a malformed case_prev")
                broken = True
                break
            previous = events.get(link["seq"])
            if previous is None or str(previous.get("case_id")) != case or previous["leaf_hash"] != link["hash"]:
                held = [s for s in seqs if link["seq"] < s < current]
                failures.append(
                    f"case {case}: events left out between seq {link['seq']} and seq {current}: event seq {current} "
                    f"names seq {link['seq']} (leaf {link['hash']}) as the case's previous event, and the bundle "
                    + ("does not hold it" if previous is None else "holds another event under that seq")
                    + (f" (it holds {held} in between)" if held else "")
                )
                broken = True
                break
            current = link["seq"]
        if broken:
            continue
        stray = sorted(set(seqs) - set(reached))
        if stray:
            failures.append(f"case {case}: events {stray} are not on the case's chain from seq {head}")
            continue
        ending = "the export event" if exports else "the last event in the bundle (no export event names the head)"
        notes.append(
            f"ok    case {case}: chain of {len(reached)} events unbroken from seq {min(reached)} to {ending} seq {head}"
        )


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
        if base not in REQUIRED and base not in OPTIONAL and base not in covered and name not in covered:
            notes.append(f"note  {name}: not covered by the signed log (its content is not verified)")


# -- signed notes, witnesses and consistency -------------------------------------------------------------------
def note_key_id(name: str, sig_type: int, public_raw: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_raw).digest()[:4]


def parse_vkey(text: str) -> tuple[str, int, bytes]:
    """(name, signature type, raw key) of a verifier key NAME+KEYID+BASE64, its key id checked."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not parts[0]:
        raise ValueError(f"{text.strip()!r} is not a verifier key NAME+KEYID+BASE64")
    try:
        raw = base64.b64decode(parts[2], validate=True)
        given = bytes.fromhex(parts[1])
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"verifier key {parts[0]}: id or key is not valid hex/base64") from exc
    if len(raw) != 33 or raw[0] not in (SIG_ED25519, SIG_COSIGNATURE):
        raise ValueError(f"verifier key {parts[0]}: not an Ed25519 key")
    if note_key_id(parts[0], raw[0], raw[1:]) != given:
        raise ValueError(f"verifier key {parts[0]}: its id does not match its name and key")
    return parts[0], raw[0], raw[1:]


def split_note(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(body, [(signer name, key id || signature)]) of a signed note."""
    at = text.rfind("\n\n")
    if at < 0 or not text.endswith("\n"):
        raise ValueError("not a signed note (a body, an empty line, signature lines)")
    lines = []
    for line in text[at + 2 : -1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise ValueError("a signature line is not '— NAME BASE64'")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error as exc:
            raise ValueError("a signature line is not base64") from exc
        if base64.b64encode(blob).decode("ascii") != parts[2]:  # base64 has slack: one encoding only
            raise ValueError("a signature line is not in canonical base64")
        lines.append((parts[1], blob))
    return text[: at + 1], lines


def read_note(text: str, public: Ed25519PublicKey) -> dict[str, Any]:
    """{origin, tree_size, root, body, signatures} of a checkpoint note whose log signature verifies under
    `public` (key name = the note's origin); ValueError otherwise."""
    body, signatures = split_note(text)
    lines = body.split("\n")
    if len(lines) < 4 or not lines[1].isdigit():
        raise ValueError("the note's body is not a checkpoint (origin, size, root)")
    origin = lines[0]
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error as exc:
        raise ValueError("the note's root is not base64") from exc
    if len(root) != 32:
        raise ValueError("the note's root is not 32 bytes")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    wanted = note_key_id(origin, SIG_ED25519, raw)
    for name, blob in signatures:
        if name == origin and blob[:4] == wanted and len(blob) == 68:
            try:
                public.verify(blob[4:], body.encode("utf-8"))
            except InvalidSignature:
                continue
            return {"origin": origin, "tree_size": int(lines[1]), "root": root, "body": body, "signatures": signatures}
    raise ValueError(f"no valid signature of the log's key (name {origin}) on the note")


def cosigned_by(note: dict[str, Any], witness: tuple[str, int, bytes]) -> int | None:
    """The time of `witness`'s valid cosignature/v1 on the note, if it has one."""
    name, _, raw = witness
    wanted = note_key_id(name, SIG_COSIGNATURE, raw)
    public = Ed25519PublicKey.from_public_bytes(raw)
    for signer, blob in note["signatures"]:
        if signer != name or blob[:4] != wanted or len(blob) != 76:
            continue
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        message = f"cosignature/v1\ntime {timestamp}\n{note['body']}".encode()
        try:
            public.verify(blob[12:], message)
        except InvalidSignature:
            continue
        return int(timestamp)
    return None


def verify_consistency(first: int, second: int, proof: list[bytes], first_root: bytes, second_root: bytes) -> bool:
    """RFC 9162 2.1.4.2: the tree of `first` leaves whose root is `first_root` is a prefix of the tree of
    `second` leaves whose root is `second_root`."""
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


def bundle_public_key(files: dict[str, bytes]) -> Ed25519PublicKey | None:
    try:
        public = serialization.load_pem_public_key(files["public_key.pem"])
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return public if isinstance(public, Ed25519PublicKey) else None


def check_note(
    files: dict[str, bytes], checkpoint: dict[str, Any], failures: list[str], notes: list[str]
) -> dict[str, Any] | None:
    """The bundle's checkpoint note, verified and matching checkpoint.json, if the bundle has one."""
    if "checkpoint.note" not in files:
        notes.append("note  checkpoint.note: absent (a bundle from before checkpoint notes)")
        return None
    public = bundle_public_key(files)
    if public is None:
        return None
    try:
        note = read_note(files["checkpoint.note"].decode("utf-8"), public)
    except (UnicodeDecodeError, ValueError) as exc:
        failures.append(f"checkpoint.note: {exc}")
        return None
    if note["tree_size"] != checkpoint["tree_size"] or note["root"] != checkpoint["root"]:
        failures.append(
            f"checkpoint.note: states {note['tree_size']} events and another root than checkpoint.json "
            f"({checkpoint['tree_size']} events)"
        )
        return None
    notes.append(f"ok    checkpoint.note: log {note['origin']}, signed by the same key")
    return note


def read_kept(path: Path, public: Ed25519PublicKey) -> dict[str, Any]:
    """The checkpoint an auditor kept (a note, a checkpoint.json, or the JSON of GET /custody/checkpoint),
    its signature checked under the bundle's key."""
    text = path.read_text("utf-8")
    if text.lstrip().startswith("{"):
        record = json.loads(text)
        if isinstance(record.get("note"), str):
            return read_note(record["note"], public)
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        key_id = hashlib.sha256(raw).hexdigest()
        issued_at = canonical_time(record.get("issued_at"))
        if record.get("key_id") != key_id:
            raise ValueError("signed by another key than the bundle's")
        message = checkpoint_message(int(record["tree_size"]), str(record["root_hash"]), issued_at, key_id)
        try:
            public.verify(bytes.fromhex(str(record["signature"])), message)
        except (InvalidSignature, ValueError) as exc:
            raise ValueError("its signature does not verify under the bundle's key") from exc
        return {"tree_size": int(record["tree_size"]), "root": bytes.fromhex(record["root_hash"]), "signatures": []}
    return read_note(text, public)


def proof_between(
    files: dict[str, bytes], proof_file: Path | None, first: int, second: int, failures: list[str]
) -> list[bytes] | None:
    records = []
    if proof_file is not None:
        try:
            records.append(json.loads(proof_file.read_text("utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            failures.append(f"{proof_file}: not a readable consistency proof ({exc})")
    if "consistency.jsonl" in files:
        records += [record for _, record in json_lines("consistency.jsonl", files["consistency.jsonl"], failures)]
    for record in records:
        if isinstance(record, dict) and record.get("first") == first and record.get("second") == second:
            hashes = record.get("proof")
            if isinstance(hashes, list) and all(isinstance(h, str) and HEX32.fullmatch(h) for h in hashes):
                return [bytes.fromhex(h) for h in hashes]
    return None


def check_since(
    files: dict[str, bytes],
    checkpoint: dict[str, Any],
    since: Path,
    proof_file: Path | None,
    failures: list[str],
    notes: list[str],
) -> dict[str, Any] | None:
    """The kept checkpoint when it is signed by the bundle's key and consistent with the bundle's checkpoint."""
    public = bundle_public_key(files)
    if public is None:
        return None
    try:
        kept = read_kept(since, public)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        failures.append(f"--since {since}: not a checkpoint of this log ({exc})")
        return None
    size, root = checkpoint["tree_size"], checkpoint["root"]
    if kept["tree_size"] == size:
        if kept["root"] != root:
            failures.append(
                f"--since {since}: two different roots signed for the same {size} events: the log was rewritten"
            )
            return None
        notes.append(f"ok    --since: the kept checkpoint is the bundle's ({size} events, same root)")
        return kept
    first, second = sorted((kept["tree_size"], size))
    first_root, second_root = (kept["root"], root) if kept["tree_size"] < size else (root, kept["root"])
    proof = proof_between(files, proof_file, first, second, failures)
    if proof is None:
        failures.append(
            f"--since {since}: no consistency proof from {first} to {second} events; fetch it with "
            f"GET /api/v1/custody/proof/consistency?first={first}&second={second} and pass it with --proof"
        )
        return None
    if not verify_consistency(first, second, proof, first_root, second_root):
        failures.append(
            f"--since {since}: the log of {second} events does not extend the log of {first} events "
            "(the consistency proof fails): the log was rewritten, or the proof is wrong"
        )
        return None
    older = "the kept checkpoint" if kept["tree_size"] < size else "the bundle's checkpoint"
    notes.append(f"ok    --since: consistent, {older} ({first} events) is a prefix of the {second}-event log")
    return kept


def check_witnesses(
    witnesses: list[tuple[str, int, bytes]],
    note: dict[str, Any] | None,
    kept: dict[str, Any] | None,
    checkpoint: dict[str, Any],
    failures: list[str],
    notes: list[str],
) -> None:
    candidates = [("the bundle's checkpoint", note)] if note is not None else []
    if kept is not None and kept["tree_size"] >= checkpoint["tree_size"] and kept.get("body"):
        candidates.append(("the --since checkpoint", kept))
    for witness in witnesses:
        for label, candidate in candidates:
            at = cosigned_by(candidate, witness)
            if at is not None:
                when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                notes.append(f"ok    witness {witness[0]}: cosigned {label} at {when}")
                break
        else:
            failures.append(
                f"witness {witness[0]}: no valid cosignature on the bundle's checkpoint"
                + (" or on a later consistent --since checkpoint" if kept is not None else "")
            )


def verify(
    bundle: Path,
    clips: list[Path],
    *,
    witnesses: list[tuple[str, int, bytes]] | None = None,
    since: Path | None = None,
    proof_file: Path | None = None,
    tsa_certs: list[Path] | None = None,
) -> tuple[list[str], list[str]]:
    """(failures, notes) of verifying `bundle` and the clip files."""
    files, failures = read_bundle(bundle)
    notes: list[str] = []
    checkpoint = check_checkpoint(files, failures, notes)
    if checkpoint is not None:
        note = check_note(files, checkpoint, failures, notes)
        kept = check_since(files, checkpoint, since, proof_file, failures, notes) if since is not None else None
        if witnesses:
            check_witnesses(witnesses, note, kept, checkpoint, failures, notes)
        check_timestamp(files, checkpoint, tsa_certs or [], failures, notes)
    elif witnesses or since is not None:
        failures.append("the checkpoint does not verify, so neither witnesses nor --since can be checked")
    events = check_events(files, failures)
    notes.append(f"ok    events: {len(events)} whose leaf hash matches their fields")
    if checkpoint is not None:
        for seq in sorted(s for s in events if s > checkpoint["tree_size"]):
            failures.append(f"event seq {seq}: beyond the checkpoint's {checkpoint['tree_size']} events")
        proven = check_proofs(files, checkpoint, events, failures)
        notes.append(f"ok    proofs: {proven} events included under the signed root")
    check_case_chains(events, failures, notes)
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


def witness_key(value: str) -> tuple[str, int, bytes]:
    text = Path(value).read_text("utf-8") if "+" not in value and Path(value).is_file() else value
    name, sig_type, raw = parse_vkey(text)
    if sig_type != SIG_COSIGNATURE:
        raise ValueError(f"witness key {name}: not a cosignature key (type 0x04)")
    return name, sig_type, raw


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    if argv[0] == "--receipt":
        if len(argv) != 2:
            print("usage: verify_bundle.py --receipt RECEIPT.json")
            return 2
        try:
            failures, notes = verify_receipt(Path(argv[1]))
        except Unreadable as exc:
            print(f"FAIL  {exc}")
            return 2
        for note in notes:
            print(note)
        for failure in failures:
            print(f"FAIL  {failure}")
        print(f"NOT VERIFIED: {len(failures)} failure(s)" if failures else "VERIFIED")
        return 1 if failures else 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("clips", type=Path, nargs="*")
    parser.add_argument("--witness", action="append", default=[], help="a witness's verifier key, or a file")
    parser.add_argument("--since", type=Path, help="a checkpoint kept earlier (note or JSON)")
    parser.add_argument("--proof", type=Path, help="the consistency proof JSON between it and the bundle's")
    parser.add_argument("--tsa-cert", type=Path, action="append", default=[], help="the TSA's root certificate (PEM)")
    args = parser.parse_args(argv)
    try:
        witnesses = [witness_key(w) for w in args.witness]
    except (OSError, ValueError) as exc:
        print(f"FAIL  --witness: {exc}")
        return 2
    try:
        failures, notes = verify(
            args.bundle,
            args.clips,
            witnesses=witnesses,
            since=args.since,
            proof_file=args.proof,
            tsa_certs=args.tsa_cert,
        )
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
