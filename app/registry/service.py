"""Owners, cameras, consent at a time, and the coverage search investigators start every case with."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, OwnedBy, can_see_owner_object, ensure_may, ensure_visible, may, owner_scope
from app.core import clock
from app.core.errors import Conflict, RuleViolation
from app.custody.rows import row_state
from app.custody.service import append_event, append_event_sequenced
from app.registry import coverage, receipts
from app.registry.consent import state_at
from app.registry.models import Camera, Consent, Owner
from app.registry.schemas import CameraCreate, CameraUpdate, ConsentCreate, OwnerCreate, OwnerUpdate


# -- owners --------------------------------------------------------------------------------------
def create_owner(session: Session, body: OwnerCreate) -> Owner:
    if body.external_id and session.scalar(select(Owner.id).where(Owner.external_id == body.external_id)):
        raise Conflict(f"an owner with external_id {body.external_id!r} exists", extra={"field": "external_id"})
    owner = Owner(**body.model_dump(mode="python"))
    if owner.email:
        owner.email = owner.email.lower()
    session.add(owner)
    session.flush()
    return owner


def update_owner(session: Session, actor: Actor, owner_id: UUID, body: OwnerUpdate) -> Owner:
    """Change an owner's name, kind, contacts or register number (admins); the custody log keeps which fields
    changed and by whom, since the contacts are where requests for footage go."""
    owner = get_owner(session, actor, owner_id)
    _may_manage_owner(actor, owner.id)
    changes = body.model_dump(exclude_unset=True, mode="python")
    for name in ("name", "kind", "locale"):
        if name in changes and changes[name] is None:
            raise RuleViolation(name, "may not be empty")
    external_id = changes.get("external_id")
    if external_id and session.scalar(select(Owner.id).where(Owner.external_id == external_id, Owner.id != owner.id)):
        raise Conflict(f"an owner with external_id {external_id!r} exists", extra={"field": "external_id"})
    if changes.get("email"):
        changes["email"] = changes["email"].lower()
    changed = sorted(name for name, value in changes.items() if getattr(owner, name) != value)
    for name in changed:
        setattr(owner, name, changes[name])
    if changed:
        append_event(
            session,
            actor=actor.label,
            action="owner.updated",
            object_type="owner",
            object_id=owner.id,
            where=actor.where(),
            details={"fields": changed},
        )
    session.flush()
    return owner


def get_owner(session: Session, actor: Actor, owner_id: UUID) -> Owner:
    owner = session.get(Owner, owner_id)
    ensure_visible(owner is not None and can_see_owner_object(actor, owner.id), actor, "owner", owner_id)
    assert owner is not None
    return owner


def list_owners(
    session: Session, actor: Actor, limit: int, offset: int, search: str | None = None
) -> tuple[list[Owner], int]:
    """Owners by name; `search` keeps those whose name, phone, email or register number contains it."""
    condition = owner_scope(actor, Owner.id)
    if search:
        condition = condition & or_(
            *(
                column.icontains(search, autoescape=True)
                for column in (Owner.name, Owner.phone, Owner.email, Owner.external_id)
            )
        )
    total = session.scalar(select(func.count()).select_from(Owner).where(condition)) or 0
    rows = session.scalars(select(Owner).where(condition).order_by(Owner.name, Owner.id).limit(limit).offset(offset))
    return list(rows), total


# -- cameras -------------------------------------------------------------------------------------
def _may_manage_owner(actor: Actor, owner_id: UUID, action: str = "cameras.write") -> None:
    """Admins manage every owner's cameras and consents; an owner account only its own (permissions' rule)."""
    ensure_may(actor, action, OwnedBy(owner_id))


def create_camera(session: Session, actor: Actor, body: CameraCreate) -> Camera:
    if session.get(Owner, body.owner_id) is None:
        raise RuleViolation("owner_id", f"owner {body.owner_id} does not exist")
    _may_manage_owner(actor, body.owner_id)
    if body.programme == "police" and not may(actor, "cameras.police"):
        raise RuleViolation("programme", "only an admin may register a police-managed camera")
    if body.external_id and session.scalar(select(Camera.id).where(Camera.external_id == body.external_id)):
        raise Conflict(f"a camera with external_id {body.external_id!r} exists", extra={"field": "external_id"})
    camera = Camera(**body.model_dump(mode="python"))
    session.add(camera)
    session.flush()
    return camera


def get_camera(session: Session, actor: Actor, camera_id: UUID) -> Camera:
    camera = session.get(Camera, camera_id)
    ensure_visible(camera is not None and can_see_owner_object(actor, camera.owner_id), actor, "camera", camera_id)
    assert camera is not None
    return camera


def update_camera(session: Session, actor: Actor, camera_id: UUID, body: CameraUpdate) -> Camera:
    camera = get_camera(session, actor, camera_id)
    _may_manage_owner(actor, camera.owner_id)
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name in {
            "label",
            "lat",
            "lon",
            "retention_days",
            "timezone",
            "programme",
            "status",
            "indoor",
        }:
            raise RuleViolation(name, "may not be null")
    if changes.get("programme") == "police" and not may(actor, "cameras.police"):
        raise RuleViolation("programme", "only an admin may make a camera police-managed")
    for name, value in changes.items():
        setattr(camera, name, value)
    camera.updated_at = clock.now()
    session.flush()
    return camera


# -- consent -------------------------------------------------------------------------------------
def _consents_applying(session: Session, owner_id: UUID, camera_id: UUID) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.owner_id == owner_id, or_(Consent.camera_id.is_(None), Consent.camera_id == camera_id))
            .order_by(Consent.valid_from.desc(), Consent.recorded_at.desc())
        )
    )


def consent_state(session: Session, camera: Camera, at: datetime) -> str:
    """ "valid" | "none" | "withdrawn" | "expired" for the camera at time `at`."""
    return state_at(_consents_applying(session, camera.owner_id, camera.id), at)[0]


def valid_consent_at(session: Session, camera_id: UUID, at: datetime) -> Consent | None:
    """The consent that lets the camera be asked at `at` (camera-specific or owner-wide), or None."""
    camera = session.get(Camera, camera_id)
    if camera is None:
        return None
    return state_at(_consents_applying(session, camera.owner_id, camera.id), at)[1]


def give_consent(session: Session, actor: Actor, owner_id: UUID, body: ConsentCreate) -> Consent:
    """Record a consent (append-only); a custody event keeps who recorded it and on which terms."""
    owner = get_owner(session, actor, owner_id)
    _may_manage_owner(actor, owner.id, "consents.write")
    if body.camera_id is not None:
        camera = session.get(Camera, body.camera_id)
        if camera is None or camera.owner_id != owner.id:
            raise RuleViolation("camera_id", "the camera does not exist or belongs to another owner")
    if body.valid_until is not None and body.valid_until <= body.valid_from:
        raise RuleViolation("valid_until", "must be after valid_from")
    now = clock.now()
    replaced = session.scalars(
        select(Consent.id).where(
            Consent.owner_id == owner.id,
            Consent.camera_id.is_(None) if body.camera_id is None else Consent.camera_id == body.camera_id,
            Consent.withdrawn_at.is_(None),
            Consent.valid_from <= now,
            or_(Consent.valid_until.is_(None), Consent.valid_until > now),
        )
    ).first()
    consent = Consent(
        owner_id=owner.id,
        camera_id=body.camera_id,
        scope=body.scope,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        terms_version=body.terms_version,
        legal_basis=body.legal_basis,
        given_by=body.given_by or owner.name,
        recorded_at=clock.now(),
    )
    session.add(consent)
    session.flush()
    event = append_event_sequenced(
        session,
        actor=actor.label,
        action="consent.given",
        object_type="consent",
        object_id=consent.id,
        reason=body.legal_basis,
        where=actor.where(),
        details={
            "owner_id": str(owner.id),
            "camera_id": str(body.camera_id) if body.camera_id else None,
            "scope": body.scope,
            "valid_from": body.valid_from.isoformat(),
            "valid_until": body.valid_until.isoformat() if body.valid_until else None,
            "terms_version": body.terms_version,
            # a consent given while another for the same cameras holds changes it (the receipt says so)
            "change": "changed" if replaced is not None else "given",
            "row": row_state("consents", consent),
        },
    )
    receipts.send(session, consent, event)
    return consent


def withdraw_consent(session: Session, actor: Actor, consent_id: UUID, reason: str) -> Consent:
    consent = session.scalar(select(Consent).where(Consent.id == consent_id).with_for_update())
    ensure_visible(consent is not None and can_see_owner_object(actor, consent.owner_id), actor, "consent", consent_id)
    assert consent is not None
    _may_manage_owner(actor, consent.owner_id, "consents.write")
    if consent.withdrawn_at is not None:
        raise Conflict(f"consent {consent_id} was already withdrawn at {consent.withdrawn_at.isoformat()}")
    consent.withdrawn_at = clock.now()
    consent.withdrawn_reason = reason
    consent.withdrawn_by = actor.label
    event = append_event_sequenced(
        session,
        actor=actor.label,
        action="consent.withdrawn",
        object_type="consent",
        object_id=consent.id,
        reason=reason,
        where=actor.where(),
        details={"owner_id": str(consent.owner_id), "row": row_state("consents", consent)},
    )
    receipts.send(session, consent, event)
    return consent


def get_consent(session: Session, actor: Actor, consent_id: UUID) -> Consent:
    """The consent, if the actor may see its owner (admins, auditors, the owner's own account); else 404."""
    consent = session.get(Consent, consent_id)
    ensure_visible(consent is not None and can_see_owner_object(actor, consent.owner_id), actor, "consent", consent_id)
    assert consent is not None
    return consent


def consent_history(session: Session, actor: Actor, owner_id: UUID) -> list[Consent]:
    get_owner(session, actor, owner_id)
    return list(session.scalars(select(Consent).where(Consent.owner_id == owner_id).order_by(Consent.recorded_at)))


# -- coverage search: its statements and the one definition of a hit live in app/registry/coverage.py
search = coverage.search
search_page = coverage.search_page


def search_for(
    session: Session, actor: Actor, lat: float, lon: float, radius_m: float, at: datetime, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """The coverage search as an actor asks it (the case map): only for the roles POLICY lets search cameras."""
    ensure_may(actor, "cameras.search")
    return coverage.search(session, lat, lon, radius_m, at, limit, offset)


def list_cameras(
    session: Session, actor: Actor, limit: int, offset: int, owner_id: UUID | None = None
) -> tuple[list[Camera], int]:
    condition = owner_scope(actor, Camera.owner_id)
    if owner_id is not None:
        condition = condition & (Camera.owner_id == owner_id)
    total = session.scalar(select(func.count()).select_from(Camera).where(condition)) or 0
    rows = session.scalars(
        select(Camera).where(condition).order_by(Camera.label, Camera.id).limit(limit).offset(offset)
    )
    return list(rows), total
