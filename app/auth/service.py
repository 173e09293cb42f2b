"""Units, users, sign-in with throttling, token revocation, and the first admin."""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from pwdlib import PasswordHash
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.auth import audit, tokens
from app.auth.models import Role, SecurityEvent, Unit, User
from app.auth.permissions import acts_for_owner, belongs_to_unit
from app.auth.schemas import UnitCreate, UserCreate
from app.core import clock
from app.core.config import get_settings
from app.core.errors import Conflict, NotFound, RuleViolation, TooManyRequests, Unauthorized
from app.custody.rows import row_state
from app.custody.service import append_event

_hasher = PasswordHash.recommended()  # argon2id
# Verifying against a dummy hash when the user is unknown keeps response times alike (no user enumeration).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# -- units -------------------------------------------------------------------------------------
def create_unit(session: Session, body: UnitCreate) -> Unit:
    if session.scalar(select(Unit).where(Unit.code == body.code)) is not None:
        raise Conflict(f"a unit with code {body.code!r} already exists")
    unit = Unit(name=body.name, code=body.code)
    session.add(unit)
    session.flush()
    return unit


def list_units(session: Session, limit: int, offset: int, search: str | None = None) -> tuple[list[Unit], int]:
    """Units by code; `search` keeps those whose code or name contains it (any case)."""
    where = (
        [or_(Unit.code.icontains(search, autoescape=True), Unit.name.icontains(search, autoescape=True))]
        if search
        else []
    )
    total = session.scalar(select(func.count()).select_from(Unit).where(*where)) or 0
    rows = session.scalars(select(Unit).where(*where).order_by(Unit.code, Unit.id).limit(limit).offset(offset)).all()
    return list(rows), total


def unit_by_code(session: Session, code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"unit {code!r} not found")
    return unit


# -- users -------------------------------------------------------------------------------------
def create_user(session: Session, body: UserCreate) -> User:
    """Create a user; staff roles need a unit, owner accounts need the owner record they act for."""
    email = str(body.email).lower()
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email!r} already exists")
    if belongs_to_unit(body.role):
        if body.unit_id is None:
            raise RuleViolation("unit_id", f"a {body.role} must belong to a unit")
        if session.get(Unit, body.unit_id) is None:
            raise RuleViolation("unit_id", f"unit {body.unit_id} does not exist")
    elif body.unit_id is not None and session.get(Unit, body.unit_id) is None:
        raise RuleViolation("unit_id", f"unit {body.unit_id} does not exist")
    if acts_for_owner(body.role) and body.owner_id is None:
        raise RuleViolation("owner_id", "an owner account must name the owner record it acts for")
    if not acts_for_owner(body.role) and body.owner_id is not None:
        raise RuleViolation("owner_id", "only owner accounts act for an owner record")
    if body.owner_id is not None and not _owner_exists(session, body.owner_id):
        raise RuleViolation("owner_id", f"owner {body.owner_id} does not exist")
    user = User(
        email=email,
        password_hash=hash_password(body.password),
        full_name=body.full_name,
        role=body.role,
        unit_id=body.unit_id,
        owner_id=body.owner_id,
    )
    session.add(user)
    session.flush()
    _record_user(session, user, "user.created")
    return user


def _record_user(session: Session, user: User, action: str) -> None:
    """The custody event of a write of a user's role, unit, owner or active flag (verification compares them)."""
    append_event(
        session,
        actor="system:accounts",
        action=action,
        object_type="user",
        object_id=user.id,
        where={"component": "auth"},
        details={"row": row_state("users", user)},
    )


def _owner_exists(session: Session, owner_id: UUID) -> bool:
    # The owners table belongs to the registry, which sits above auth: look it up by name, not by model.
    from sqlalchemy import text

    has_table = session.scalar(text("SELECT to_regclass('owners') IS NOT NULL"))
    if not has_table:
        return False
    return session.scalar(text("SELECT EXISTS (SELECT 1 FROM owners WHERE id = :id)"), {"id": owner_id}) is True


def list_users(session: Session, limit: int, offset: int, search: str | None = None) -> tuple[list[User], int]:
    """Users by email; `search` keeps those whose email or full name contains it (any case)."""
    where = (
        [or_(User.email.icontains(search, autoescape=True), User.full_name.icontains(search, autoescape=True))]
        if search
        else []
    )
    total = session.scalar(select(func.count()).select_from(User).where(*where)) or 0
    rows = session.scalars(select(User).where(*where).order_by(User.email).limit(limit).offset(offset)).all()
    return list(rows), total


def get_user(session: Session, user_id: UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


# -- sign-in ----------------------------------------------------------------------------------
def _recent_failures(session: Session, *, email: str | None, address: str | None, since: datetime) -> list[datetime]:
    conditions = [SecurityEvent.kind == "login_failure", SecurityEvent.at > since, SecurityEvent.at <= clock.now()]
    if email is not None:
        conditions.append(SecurityEvent.email == email)
        last_success = session.scalar(
            select(func.max(SecurityEvent.at)).where(
                SecurityEvent.kind == "login_success", SecurityEvent.email == email
            )
        )
        if last_success is not None:
            conditions.append(SecurityEvent.at > last_success)
    else:
        conditions.append(SecurityEvent.client_address == address)
    return list(session.scalars(select(SecurityEvent.at).where(*conditions).order_by(SecurityEvent.at)).all())


def _lockout_remaining(session: Session, email: str, address: str | None) -> int:
    """Seconds until the account or the address may try again (0 when not locked)."""
    settings = get_settings()
    window = timedelta(minutes=settings.login_window_minutes)
    now = clock.now()
    remaining = 0
    for failures in (
        _recent_failures(session, email=email, address=None, since=now - window),
        _recent_failures(session, email=None, address=address, since=now - window) if address else [],
    ):
        if len(failures) >= settings.login_max_failures:
            # Locked until the oldest failure that still counts leaves the window.
            unlock = failures[-settings.login_max_failures] + window
            remaining = max(remaining, math.ceil((unlock - now).total_seconds()))
    return remaining


def login(
    session: Session, email: str, password: str, address: str | None, ttl: timedelta | None = None
) -> tuple[str, int]:
    """Check a password; after too many failures in the window the account and the address get 429.

    Every success, failure and refusal is recorded in the security trail.
    """
    email = email.strip().lower()
    remaining = _lockout_remaining(session, email, address)
    if remaining > 0:
        audit.record_now("login_locked", email=email, client_address=address)
        raise TooManyRequests(
            f"Too many failed sign-ins; try again in {remaining} seconds.",
            headers={"Retry-After": str(remaining)},
            extra={"retry_after": remaining},
        )
    user = session.scalar(select(User).where(User.email == email))
    valid, rehashed = _hasher.verify_and_update(password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not valid or not user.is_active:
        audit.record_now("login_failure", user_id=user.id if user else None, email=email, client_address=address)
        raise Unauthorized("Wrong email or password.")
    if rehashed:
        user.password_hash = rehashed
    audit.record(session, "login_success", user_id=user.id, email=email, client_address=address)
    return tokens.issue(user.id, user.token_version, ttl)


def revoke_tokens(session: Session, user_id: UUID, address: str | None) -> None:
    """Invalidate every token issued to the user so far."""
    user = get_user(session, user_id)
    user.token_version += 1
    audit.record(session, "tokens_revoked", user_id=user.id, email=user.email, client_address=address)


def ensure_first_admin(session: Session) -> str | None:
    """On an empty database create the admin; return the generated password (to print once), if one was."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    settings = get_settings()
    password = settings.admin_password or secrets.token_urlsafe(15)
    admin = User(
        email=settings.admin_email.lower(),
        password_hash=hash_password(password),
        full_name="Administrator",
        role=Role.admin,
    )
    session.add(admin)
    session.flush()
    _record_user(session, admin, "user.created")
    return None if settings.admin_password else password
