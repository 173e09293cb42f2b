"""The verifiable pieces of a custody bundle, exactly as scripts/verify_bundle.py reads them.

``events.jsonl`` (one exported event per line), ``proofs.jsonl`` (one inclusion proof per event, against the
checkpoint), ``checkpoint.json``, ``checkpoint.note`` (the same checkpoint as a C2SP signed note, with the
witnesses' cosignatures it has), ``consistency.jsonl`` (consistency proofs from the latest earlier witnessed
sizes to the checkpoint's) and ``public_key.pem``. The reports module zips them with its report and a
README. Lines are canonical JSON (keys sorted, no whitespace, UTF-8), so the files are byte-for-byte
reproducible from the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import NotFound, RuleViolation
from app.custody.checkpoints import (
    CustodyCheckpoint,
    checkpoint_note,
    checkpoint_record,
    issue_checkpoint,
    public_key_pem,
)
from app.custody.cosignatures import CustodyCosignature, cosignatures_of
from app.custody.entry import ABSENT, case_prev_value, format_time
from app.custody.models import CustodyEvent
from app.custody.proofs import consistency_proof, inclusion_proofs
from app.custody.timestamps import latest_timestamp, stamped_message

EVENTS = "events.jsonl"
PROOFS = "proofs.jsonl"
CHECKPOINT = "checkpoint.json"
CHECKPOINT_NOTE = "checkpoint.note"
CONSISTENCY = "consistency.jsonl"
PUBLIC_KEY = "public_key.pem"
TIMESTAMP = "timestamp.tsr"  # the TSA's DER answer for the latest time-stamped checkpoint within the bundle's
TIMESTAMP_INFO = "timestamp.json"  # that checkpoint: its note (the stamped bytes) and consistency to the bundle's
WITNESSED_SIZES = 64  # earlier witnessed sizes a bundle carries a consistency proof from


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def exported_event(event: CustodyEvent) -> dict[str, Any]:
    """An event as exported: the fields its leaf commits to, in their canonical rendering, plus the leaf."""
    record = {
        "seq": event.seq,
        "at": format_time(event.at),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": str(event.object_id) if event.object_id else None,
        "sha256": event.sha256,
        "version_id": event.version_id,
        "case_id": str(event.case_id) if event.case_id else None,
        "reason": event.reason,
        "where": event.where,
        "outcome": event.outcome,
        "details": event.details,
        "leaf_hash": event.leaf_hash.hex(),
    }
    link = case_prev_value(event.case_prev_seq, event.case_prev_hash)
    if link is not ABSENT:
        record["case_prev"] = link
    return record


@dataclass(frozen=True)
class BundleParts:
    checkpoint: CustodyCheckpoint
    files: dict[str, bytes]  # file name -> content: events.jsonl, proofs.jsonl, checkpoint.json, public_key.pem


def bundle_parts(session: Session, seqs: Iterable[int], *, checkpoint: CustodyCheckpoint | None = None) -> BundleParts:
    """The events `seqs`, each with its inclusion proof against `checkpoint` (default: one issued now).

    Append the export's own custody event before calling, so the checkpoint covers it too.
    """
    wanted = sorted(set(seqs))
    signed = checkpoint or issue_checkpoint(session)
    beyond = [seq for seq in wanted if seq > signed.tree_size]
    if beyond:
        raise RuleViolation("seqs", f"events {beyond[:5]} are not covered by a checkpoint of {signed.tree_size} events")
    events = session.execute(select(CustodyEvent).where(CustodyEvent.seq.in_(wanted)).order_by(CustodyEvent.seq))
    found = list(events.scalars())
    if len(found) != len(wanted):
        absent = sorted(set(wanted) - {e.seq for e in found})
        raise NotFound(f"custody events {absent[:5]} do not exist")
    proofs = inclusion_proofs(session, wanted, signed.tree_size)
    stored = cosignatures_of(session, signed.tree_size, signed.root_hash)
    earlier = session.execute(
        select(CustodyCosignature.tree_size)
        .where(CustodyCosignature.tree_size > 0, CustodyCosignature.tree_size < signed.tree_size)
        .distinct()
        .order_by(CustodyCosignature.tree_size.desc())
        .limit(WITNESSED_SIZES)
    ).scalars()
    consistency = [consistency_proof(session, size, signed.tree_size) for size in sorted(earlier)]
    stamp = latest_timestamp(session, at_most=signed.tree_size)
    files = {
        EVENTS: "".join(_line(exported_event(e)) for e in found).encode("utf-8"),
        PROOFS: "".join(_line(p.as_record()) for p in proofs).encode("utf-8"),
        CHECKPOINT: _line(checkpoint_record(signed)).encode("utf-8"),
        CHECKPOINT_NOTE: checkpoint_note(signed, [c.line() for c in stored]).encode("utf-8"),
        CONSISTENCY: "".join(_line(p.as_record()) for p in consistency).encode("utf-8"),
        PUBLIC_KEY: public_key_pem().encode("ascii"),
    }
    if stamp is not None:
        stamped = CustodyCheckpoint(tree_size=stamp.tree_size, root_hash=stamp.root_hash)
        files[TIMESTAMP] = stamp.response
        record = {
            "tree_size": stamp.tree_size,
            "root_hash": stamp.root_hash.hex(),
            "note": stamped_message(stamped).decode("utf-8"),
            "gen_time": format_time(stamp.gen_time),
            "consistency": consistency_proof(session, stamp.tree_size, signed.tree_size).proof_hex()
            if stamp.tree_size > 0
            else [],
        }
        files[TIMESTAMP_INFO] = _line(record).encode("utf-8")
    return BundleParts(checkpoint=signed, files=files)
