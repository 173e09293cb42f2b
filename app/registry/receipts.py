"""Consent receipts: what an owner holds after giving, changing or withdrawing consent.

A receipt names the terms (version, legal basis), the scope, the validity and the camera(s), and the custody event
that recorded the change: its sequence number and leaf hash. Anyone can check the pair at the public route
GET /api/v1/custody/receipts/{seq}/{leaf_hash}, and offline with `scripts/verify_bundle.py --receipt` from the
receipt's JSON (the event, its inclusion proof and a signed checkpoint). The owner is sent the receipt (email, and
the Zalo/SMS bridge) in the transaction that made the change; the PDF is on their pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.errors import NotFound
from app.custody.models import CustodyEvent
from app.notifications import service as notifications
from app.notifications.wording import HOME_ZONE, moment_text, zone_words
from app.registry.models import Camera, Consent, Owner

RECEIPT_ACTIONS = ("consent.given", "consent.withdrawn")
Change = Literal["given", "changed", "withdrawn"]

CHANGE_WORDS = {
    "vi": {"given": "Đồng ý", "changed": "Thay đổi sự đồng ý", "withdrawn": "Rút lại sự đồng ý"},
    "en": {"given": "Consent given", "changed": "Consent changed", "withdrawn": "Consent withdrawn"},
}
SCOPE_WORDS = {
    "vi": {
        "on_request": "Công an đề nghị từng lần; Quý vị đồng ý hoặc từ chối mỗi lần",
        "auto_approve": "Tự động đồng ý mọi đề nghị trích xuất",
    },
    "en": {
        "on_request": "The police ask each time; you agree or refuse each time",
        "auto_approve": "Every extraction request is approved automatically",
    },
}
ALL_CAMERAS = {"vi": "Tất cả camera của Quý vị", "en": "All your cameras"}
ALL_CAMERAS_OF = {"vi": "tất cả camera của chủ này", "en": "all of this owner's cameras"}
NO_END = {"vi": "không thời hạn", "en": "no end date"}


@dataclass(frozen=True)
class ConsentReceipt:
    consent: Consent
    owner: Owner
    camera_label: str | None
    change: Change
    seq: int
    leaf_hash: str  # hex
    at: datetime

    @property
    def check_url(self) -> str:
        return check_url(self.seq, self.leaf_hash)

    def words(self, locale: str) -> dict[str, str]:
        """The receipt's facts as the owner reads them (times in Vietnam's time, to the second, with the zone)."""
        lang = locale if locale in CHANGE_WORDS else "vi"
        zone = zone_words(HOME_ZONE, lang)
        consent = self.consent
        until = moment_text(consent.valid_until, HOME_ZONE, zone) if consent.valid_until else NO_END[lang]
        return {
            "change_words": CHANGE_WORDS[lang][self.change],
            "scope_words": SCOPE_WORDS[lang][consent.scope],
            "validity_words": f"{moment_text(consent.valid_from, HOME_ZONE, zone)} → {until}",
            "cameras_words": self.camera_label or ALL_CAMERAS[lang],
            "recorded_at": moment_text(self.at, HOME_ZONE, zone),
            "withdrawn_at": moment_text(consent.withdrawn_at, HOME_ZONE, zone) if consent.withdrawn_at else "",
        }


def check_url(seq: int, leaf_hash: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/api/v1/custody/receipts/{seq}/{leaf_hash}"


def change_of(event: CustodyEvent) -> Change:
    if event.action == "consent.withdrawn":
        return "withdrawn"
    return "changed" if (event.details or {}).get("change") == "changed" else "given"


def _receipt(session: Session, consent: Consent, event: CustodyEvent) -> ConsentReceipt:
    owner = session.get(Owner, consent.owner_id)
    assert owner is not None
    camera = session.get(Camera, consent.camera_id) if consent.camera_id else None
    return ConsentReceipt(
        consent=consent,
        owner=owner,
        camera_label=camera.label if camera else None,
        change=change_of(event),
        seq=event.seq,
        leaf_hash=event.leaf_hash.hex(),
        at=event.at,
    )


def receipts_of(session: Session, consent: Consent) -> list[ConsentReceipt]:
    """Every receipt of a consent (given, then withdrawn), oldest first. The caller has judged the reader may."""
    events = session.scalars(
        select(CustodyEvent)
        .where(CustodyEvent.object_id == consent.id, CustodyEvent.action.in_(RECEIPT_ACTIONS))
        .order_by(CustodyEvent.seq)
    )
    return [_receipt(session, consent, event) for event in events]


def receipt(session: Session, consent: Consent, seq: int) -> ConsentReceipt:
    """The receipt of custody event `seq` for this consent; 404 when that event is not one of its receipts."""
    event = session.get(CustodyEvent, seq)
    if event is None or event.object_id != consent.id or event.action not in RECEIPT_ACTIONS:
        raise NotFound(f"consent {consent.id} has no receipt number {seq}")
    return _receipt(session, consent, event)


def send(session: Session, consent: Consent, event: CustodyEvent) -> ConsentReceipt:
    """Queue the receipt to the owner (email, and the bridge for their phone) in the caller's transaction."""
    made = _receipt(session, consent, event)
    owner = made.owner
    context: dict[str, Any] = {
        "owner_name": owner.name,
        **made.words(owner.locale),
        "change": made.change,
        "terms_version": consent.terms_version,
        "legal_basis": consent.legal_basis,
        "given_by": consent.given_by,
        "withdrawn_reason": consent.withdrawn_reason or "",
        "custody_seq": str(made.seq),
        "leaf_hash": made.leaf_hash,
        "check_url": made.check_url,
        "pages_url": f"{get_settings().public_base_url.rstrip('/')}/owner/cameras#consents",
    }
    notifications.notify(
        session,
        email=owner.email,
        phone=owner.phone,
        name=owner.name,
        template="consent_receipt",
        context=context,
        locale=owner.locale,
        subject_type="consent",
        subject_id=consent.id,
    )
    return made


def find_by_leaf(session: Session, seq: int, leaf_hash: str) -> CustodyEvent:
    """The consent event whose seq and leaf hash are both these; 404 otherwise (the same for a wrong pair)."""
    event = session.get(CustodyEvent, seq)
    try:
        wanted = bytes.fromhex(leaf_hash)
    except ValueError:
        wanted = b""
    if event is None or event.leaf_hash != wanted or event.action not in RECEIPT_ACTIONS:
        raise NotFound("no consent receipt has this number and hash")
    return event
