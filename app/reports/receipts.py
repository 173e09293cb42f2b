"""Consent receipts as the owner keeps them: a Vietnamese PDF (DejaVu Sans embedded, so the diacritics render and
extract) and a JSON receipt that `scripts/verify_bundle.py --receipt` checks offline.

The JSON receipt carries the custody event of the change, its inclusion proof and a signed checkpoint that covers
it, with the public key: the same four files as a custody bundle, so one verifier checks both.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.core import clock
from app.custody.bundle_parts import bundle_parts
from app.custody.checkpoints import checkpoint_record, current_checkpoint
from app.custody.models import CustodyEvent
from app.notifications.wording import HOME_ZONE, moment_text, zone_words
from app.registry import receipts
from app.registry import service as registry
from app.registry.receipts import ConsentReceipt
from app.reports.pdf import FONT, FONTS, INK

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


class _Receipt(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_text_color(*INK)
        self.set_title("Biên nhận sự đồng ý")
        self.set_creator("footage-tracker")

    def row(self, label: str, value: str) -> None:
        self.set_font(FONT, "B", 10)
        self.multi_cell(55, 6, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.set_font(FONT, "", 10)
        self.multi_cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)


def receipt_pdf(session: Session, actor: Actor, consent_id: UUID, seq: int, terms_text: str) -> bytes:
    """The receipt as a Vietnamese PDF: what changed, the terms and their text, scope, validity, cameras, who
    recorded it, and the custody event's number and leaf hash with where to check them."""
    made = receipt_of(session, actor, consent_id, seq)
    consent = made.consent
    words = made.words("vi")
    zone = zone_words(HOME_ZONE, "vi")
    pdf = _Receipt()
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 10, "BIÊN NHẬN SỰ ĐỒNG Ý", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, "Chương trình camera với an ninh trật tự", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.row("Chủ camera", made.owner.name)
    pdf.row("Nội dung", words["change_words"])
    pdf.row("Áp dụng cho", words["cameras_words"])
    pdf.row("Phạm vi", words["scope_words"])
    pdf.row("Hiệu lực", words["validity_words"])
    if consent.withdrawn_at is not None:
        pdf.row("Rút lại lúc", words["withdrawn_at"])
        pdf.row("Lý do rút lại", consent.withdrawn_reason or "")
    pdf.row("Điều khoản", f"Phiên bản {consent.terms_version}")
    pdf.row("Căn cứ", consent.legal_basis)
    pdf.row("Người ghi nhận", consent.given_by)
    pdf.row("Ghi lúc", words["recorded_at"])
    pdf.ln(2)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, "Điều khoản của chương trình", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9.5)
    pdf.multi_cell(0, 5, terms_text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, "Kiểm tra biên nhận", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.row("Số trong sổ theo dõi", str(made.seq))
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, "Mã băm (leaf hash)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, 5, made.leaf_hash, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(FONT, "", 9.5)
    pdf.multi_cell(
        0,
        5,
        "Mỗi thay đổi về sự đồng ý được ghi vào sổ theo dõi không thể sửa xóa. Bất kỳ ai cũng có thể kiểm tra số "
        "và mã băm trên tại địa chỉ sau, hoặc kiểm tra ngoại tuyến bằng scripts/verify_bundle.py --receipt với "
        "biên nhận dạng JSON:",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font(FONT, "", 8.5)
    pdf.multi_cell(0, 5, made.check_url, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font(FONT, "", 8)
    pdf.cell(0, 5, f"In lúc {moment_text(clock.now(), HOME_ZONE, zone)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
