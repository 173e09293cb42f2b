"""The auditor's bundle: a zip anyone can verify offline with scripts/verify_bundle.py (stdlib + cryptography).

Contents: report.json and report.pdf (the case report), events.jsonl (one exported custody event per line),
checkpoint.json (a checkpoint signed for this export), public_key.pem, proofs.jsonl (one inclusion proof per
event, against the checkpoint's tree size) and README.md (how to verify).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from sqlalchemy.orm import Session

from app.custody import checkpoints, proofs
from app.reports.pdf import render_pdf

README = """# Custody bundle — case {number}

This archive proves which custody events were recorded for the case, in which order, and that they are part
of the service's append-only log as signed at {issued_at}.

Files:
- `events.jsonl` — one custody event per line, with its `leaf_hash`.
- `checkpoint.json` — the log's size and Merkle root at export time, signed with Ed25519.
- `public_key.pem` — the key that signed it (its SHA-256 over the raw 32 bytes is the checkpoint's `key_id`).
- `proofs.jsonl` — for each event, the RFC 6962 audit path from its leaf to the checkpoint's root.
- `report.json`, `report.pdf` — the case, its requests, originals and clips (hashes, version ids, derivation).

Verify offline (Python 3 and the `cryptography` package; nothing of the service is needed):

    python verify_bundle.py custody-bundle.zip [clip-file ...]

It checks the signature and key id, recomputes every event's leaf from its fields (canonical JSON: keys sorted,
no spaces, UTF-8; leaf = SHA-256(0x00 || entry)), checks each inclusion proof against the signed root
(node = SHA-256(0x01 || left || right)), and, for clip files given, that their SHA-256 appears in the events.
Any changed byte in an event, a proof or the checkpoint makes it fail.
"""


def build_bundle(session: Session, report: dict[str, Any]) -> bytes:
    """Zip the report with a checkpoint signed now and an inclusion proof per event of the case."""
    checkpoint = checkpoints.issue_checkpoint(session)
    events = report["events"]
    seqs = [int(e["seq"]) for e in events]
    tree_size = checkpoint.tree_size
    proof_records = [p.as_record() for p in proofs.inclusion_proofs(session, seqs, tree_size)] if seqs else []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.md",
            README.format(
                number=report["case"]["number"], issued_at=checkpoints.checkpoint_record(checkpoint)["issued_at"]
            ),
        )
        archive.writestr("report.json", json.dumps(report, ensure_ascii=False, indent=2))
        archive.writestr("report.pdf", render_pdf(report))
        archive.writestr(
            "events.jsonl", "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in events)
        )
        archive.writestr("proofs.jsonl", "".join(json.dumps(p, sort_keys=True) + "\n" for p in proof_records))
        archive.writestr("checkpoint.json", json.dumps(checkpoints.checkpoint_record(checkpoint), indent=2))
        archive.writestr("public_key.pem", checkpoints.public_key_pem())
    return buffer.getvalue()
