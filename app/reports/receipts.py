"""Consent receipts as the owner keeps them: a Vietnamese PDF (DejaVu Sans embedded, so the diacritics render and
extract) and a JSON receipt that `scripts/verify_bundle.py --receipt` checks offline.

The JSON receipt carries the custody event of the change, its inclusion proof and a signed checkpoint that covers
it, with the public key: the same four files as a custody bundle, so one verifier checks both.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.custody.bundle_parts import bundle_parts
from app.custody.checkpoints import checkpoint_record, current_checkpoint
from app.custody.models import CustodyEvent
from app.registry import receipts
from app.registry import service as registry
from app.registry.receipts import ConsentReceipt

RECEIPT_FORMAT = "footage-consent-receipt/v1"


def receipt_of(session: Session, actor: Actor, consent_id: UUID, seq: int) -> ConsentReceipt:
    consent = registry.get_consent(session, actor, consent_id)
    return receipts.receipt(session, consent, seq)


def list_receipts(session: Session, actor: Actor, consent_id: UUID) -> list[ConsentReceipt]:
    return receipts.receipts_of(session, registry.get_consent(session, actor, consent_id))


def receipt_json(session: Session, actor: Actor, consent_id: UUID, seq: int) -> dict[str, Any]:
    """The receipt with what verifies it offline: the event, its inclusion proof, a checkpoint, the public key."""
    made = receipt_of(session, actor, consent_id, seq)
    parts = bundle_parts(session, [made.seq], checkpoint=current_checkpoint(session))
    consent = made.consent
    return {
        "format": RECEIPT_FORMAT,
        "consent": {
            "id": str(consent.id),
            "change": made.change,
            "applies_to": made.camera_label or receipts.ALL_CAMERAS["vi"],
            "scope": consent.scope,
            "valid_from": consent.valid_from.isoformat(),
            "valid_until": consent.valid_until.isoformat() if consent.valid_until else None,
            "terms_version": consent.terms_version,
            "legal_basis": consent.legal_basis,
            "withdrawn_at": consent.withdrawn_at.isoformat() if consent.withdrawn_at else None,
        },
        "custody_seq": made.seq,
        "leaf_hash": made.leaf_hash,
        "check_url": made.check_url,
        "files": {name: content.decode("utf-8") for name, content in parts.files.items()},
    }


def check(session: Session, seq: int, leaf_hash: str) -> dict[str, Any]:
    """The public check of a receipt: the event with this number has this leaf hash and is a consent change, and
    the current signed checkpoint covers it (with the inclusion proof to its root). Nothing about the owner."""
    event: CustodyEvent = receipts.find_by_leaf(session, seq, leaf_hash.lower())
    parts = bundle_parts(session, [event.seq], checkpoint=current_checkpoint(session))
    proof = json.loads(parts.files["proofs.jsonl"])
    return {
        "valid": True,
        "custody_seq": event.seq,
        "leaf_hash": event.leaf_hash.hex(),
        "change": receipts.change_of(event),
        "recorded_at": event.at.isoformat(),
        "checkpoint": checkpoint_record(parts.checkpoint),
        "inclusion_proof": proof,
    }


def receipt_pdf(session: Session, actor: Actor, consent_id: UUID, seq: int, terms_text: str) -> bytes:
    """The receipt as a Vietnamese PDF: what changed, the terms and their text, scope, validity, cameras, who
    recorded it, and the custody event's number and leaf hash with where to check them."""
    from app.reports.receipt_pdf import render_receipt_pdf  # fpdf (with numpy and PIL) only when a PDF is made

    return render_receipt_pdf(receipt_of(session, actor, consent_id, seq), terms_text)
