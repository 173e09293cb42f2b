"""The auditor's bundle: a zip anyone can verify offline with scripts/verify_bundle.py (stdlib + cryptography).

Contents: report.json and report.pdf (the case report), events.jsonl (one exported custody event per line),
checkpoint.json (a checkpoint signed for this export), public_key.pem, proofs.jsonl (one inclusion proof per
event, against the checkpoint's tree size), verify_bundle.py (the offline verifier) and README.md (how to verify).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.core.config import PROJECT_ROOT
from app.custody.bundle_parts import bundle_parts
from app.custody.checkpoints import checkpoint_record
from app.reports.export import record_export

README = """# Custody bundle — case {number}

This archive proves which custody events were recorded for the case, in which order, and that they are part
of the service's append-only log as signed at {issued_at}.

Files:
- `events.jsonl` — one custody event per line, with its `leaf_hash`.
- `checkpoint.json` — the log's size and Merkle root at export time, signed with Ed25519.
- `checkpoint.note` — the same checkpoint as a C2SP signed note, with any witnesses' cosignatures.
- `consistency.jsonl` — consistency proofs from earlier witnessed checkpoints to this one.
- `timestamp.tsr`, `timestamp.json` — when present, an RFC 3161 time-stamp of a checkpoint within this one
  (check it with `--tsa-cert` and the TSA's root certificate; needs `pip install rfc3161-client`).
- `public_key.pem` — the key that signed it (its SHA-256 over the raw 32 bytes is the checkpoint's `key_id`).
- `proofs.jsonl` — for each event, the RFC 6962 audit path from its leaf to the checkpoint's root.
- `report.json`, `report.pdf` — the case, its requests, originals and clips (hashes, version ids, derivation).
- `verify_bundle.py` — the verifier (Python standard library and `cryptography` only; short enough to read).

Verify offline (Python 3.11 or later and the `cryptography` package; nothing of the service is needed). Unzip
this archive, then, in the folder it made, run the verifier on the zip itself (or on the folder):

    pip install cryptography
    python verify_bundle.py {bundle_name} [clip-file ...]
    python verify_bundle.py .

It prints VERIFIED and exits with 0 when everything checks, FAIL lines and exit status 1 otherwise.

It checks the signature and key id, recomputes every event's leaf from its fields (canonical JSON: keys sorted,
no spaces, UTF-8; leaf = SHA-256(0x00 || entry)), checks each inclusion proof against the signed root
(node = SHA-256(0x01 || left || right)), that report.json and report.pdf have the hashes the export's own
custody event recorded, and, for clip files given, that their SHA-256 appears in the events. Any changed byte
in an event, a proof, the checkpoint or the report makes it fail. The SHA-256 of `verify_bundle.py` is recorded by
the export's custody event too; compare it, and the checkpoint's `key_id`, with what the service publishes.

Every event of the case carries `case_prev`, the case's previous event, and the export's event names the
case's last event before it: the verifier walks that chain, so an event of the case left out is reported with
the gap it leaves. `--witness KEY` requires an independent witness's cosignature; `--since CHECKPOINT_FILE`
(with `--proof FILE` when needed) checks that a checkpoint you kept and this one describe the same growing
log. How: the service's docs/CUSTODY.md.
"""


VERIFIER = "verify_bundle.py"


def verifier_source() -> bytes:
    """The offline verifier shipped in every bundle: scripts/verify_bundle.py of this service."""
    path = PROJECT_ROOT / "scripts" / VERIFIER
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: the service's bundles ship it (copy scripts/ into the image)")
    return path.read_bytes()


def bundle_name(report: dict[str, Any]) -> str:
    """The bundle's download name (the README's command names it)."""
    number = str(report["case"]["number"])
    return "custody-bundle-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in number) + ".zip"


def build_bundle(session: Session, actor: Actor, case_id: UUID, report: dict[str, Any]) -> bytes:
    """Record the export (naming the report files' hashes), then zip the report with the log's verifiable parts:
    the case's events and the export event, each with its inclusion proof against a checkpoint signed now."""
    report_json = json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8")
    from app.reports.pdf import render_pdf  # fpdf (with numpy and PIL) only when a bundle is made

    report_pdf = render_pdf(report)
    files = {"report.json": report_json, "report.pdf": report_pdf, VERIFIER: verifier_source()}
    export = record_export(
        session,
        actor,
        case_id,
        "bundle",
        b"",
        extra={"bundle_files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}},
    )
    parts = bundle_parts(session, [int(e["seq"]) for e in report["events"]] + [export.seq])
    issued_at = checkpoint_record(parts.checkpoint)["issued_at"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        readme = README.format(number=report["case"]["number"], issued_at=issued_at, bundle_name=bundle_name(report))
        archive.writestr("README.md", readme)
        for name, content in {**files, **parts.files}.items():
            archive.writestr(name, content)
    return buffer.getvalue()
