"""Units, users, sign-in with throttling, token revocation, and the first admin."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from pwdlib import PasswordHash
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.auth import audit, tokens, two_factor
from app.auth.models import Role, SecurityEvent, Unit, User
from app.auth.permissions import acts_for_owner, belongs_to_unit
from app.auth.schemas import UnitCreate, UserCreate, UserUpdate
from app.core import clock
from app.core.config import get_settings
from app.core.errors import Conflict, DomainError, NotFound, RuleViolation, TooManyRequests, Unauthorized
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
    unit = Unit(name=body.name, code=body.code, phone=body.phone)
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


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user signs in as {email!r}")
    return user


def _check_unit(session: Session, role: Role, unit_id: UUID | None) -> None:
    if belongs_to_unit(role) and unit_id is None:
        raise RuleViolation("unit_id", f"a {role} must belong to a unit")
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise RuleViolation("unit_id", f"unit {unit_id} does not exist")


def update_user(session: Session, user_id: UUID, body: UserUpdate, by: UUID | None, address: str | None) -> User:
    """Change a user's name, role or unit. A change of role or unit revokes the user's tokens (what they were
    allowed to do has changed); owner accounts stay owners, and only owner accounts act for an owner record."""
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound(f"user {user_id} not found")
    role = body.role or Role(user.role)
    unit_id = body.unit_id if "unit_id" in body.model_fields_set else user.unit_id
    if acts_for_owner(role) != acts_for_owner(Role(user.role)):
        raise RuleViolation("role", "an owner account cannot change to a staff role, nor a staff account to owner")
    if by == user.id and role != Role(user.role):
        raise RuleViolation("role", "you cannot change your own role")
    _check_unit(session, role, unit_id)
    before = {"full_name": user.full_name, "role": user.role, "unit_id": str(user.unit_id) if user.unit_id else None}
    if body.full_name is not None:
        user.full_name = body.full_name
    revoke = role != user.role or unit_id != user.unit_id
    user.role, user.unit_id = role, unit_id
    if revoke:
        user.token_version += 1
    after = {"full_name": user.full_name, "role": user.role, "unit_id": str(user.unit_id) if user.unit_id else None}
    audit.record(
        session,
        "user_updated",
        user_id=user.id,
        email=user.email,
        client_address=address,
        details={"by": str(by) if by else None, "before": before, "after": after, "tokens_revoked": revoke},
    )
    session.flush()
    _record_user(session, user, "user.updated")
    return user


def deactivate_user(session: Session, user_id: UUID, by: UUID | None, address: str | None) -> User:
    """Stop a user signing in; every token they hold is refused from now on (and stays refused after a
    reactivation, which bumps the token version again). An admin cannot deactivate themselves."""
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if by == user.id:
        raise RuleViolation("user_id", "you cannot deactivate your own account")
    if not user.is_active:
        raise Conflict(f"{user.email} is already deactivated")
    user.is_active = False
    user.token_version += 1
    _record_user(session, user, "user.deactivated")
    audit.record(
        session,
        "user_deactivated",
        user_id=user.id,
        email=user.email,
        client_address=address,
        details={"by": str(by) if by else None},
    )
    return user


def reactivate_user(session: Session, user_id: UUID, by: UUID | None, address: str | None) -> User:
    """Let a deactivated user sign in again. The token version moves on, so no token issued before the
    deactivation comes back to life: the user signs in afresh."""
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if user.is_active:
        raise Conflict(f"{user.email} is already active")
    user.is_active = True
    user.token_version += 1
    _record_user(session, user, "user.reactivated")
    audit.record(
        session,
        "user_reactivated",
        user_id=user.id,
        email=user.email,
        client_address=address,
        details={"by": str(by) if by else None},
    )
    return user


# -- password reset -----------------------------------------------------------------------------
PASSWORD_RESET_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class PasswordReset:
    """A reset link, shown once to the admin who asked for it and sent to the user."""

    user: User
    url: str
    token: str
    expires_at: datetime


def reset_url(token: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/reset-password/{token}"


def start_password_reset(
    session: Session, user_id: UUID, by: UUID | None, address: str | None, locale: str | None = None
) -> PasswordReset:
    """Issue a one-time reset link (valid PASSWORD_RESET_TTL) and queue it to the user's email.

    The link is bound to the user's token version: setting a password with it moves the version on, so the
    link works once; a deactivation, reactivation or sign-out everywhere also retires it."""
    from app.notifications import service as notifications

    user = get_user(session, user_id)
    if not user.is_active:
        raise Conflict(f"{user.email} is deactivated; reactivate the account before resetting its password")
    token, expires_at = tokens.issue_reset(user.id, user.token_version, PASSWORD_RESET_TTL)
    url = reset_url(token)
    notifications.notify(
        session,
        email=user.email,
        template="password_reset",
        context={"full_name": user.full_name, "link_url": url, "expires_at": _local_time(expires_at)},
        locale=locale,
        subject_type="user",
        subject_id=user.id,
        secrets=[token],
    )
    audit.record(
        session,
        "password_reset_issued",
        user_id=user.id,
        email=user.email,
        client_address=address,
        details={"by": str(by) if by else None, "expires_at": expires_at.isoformat()},
    )
    return PasswordReset(user=user, url=url, token=token, expires_at=expires_at)


def _local_time(value: datetime) -> str:
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M:%S (UTC+7)")


def reset_target(session: Session, token: str) -> User:
    """The active user a reset link is for, while the link is unused and unexpired; 410 otherwise."""
    claims = tokens.decode_reset(token)
    user = session.get(User, claims.user_id) if claims else None
    if claims is None or user is None or not user.is_active or user.token_version != claims.version:
        raise ResetLinkInvalid("This password reset link has expired or was already used; ask an admin for a new one.")
    return user


def finish_password_reset(session: Session, token: str, password: str, address: str | None) -> User:
    """Set a new password through a reset link: once only (the token version moves on, which also signs the
    user out everywhere)."""
    if not 10 <= len(password) <= 200:
        raise RuleViolation("password", "must be 10 to 200 characters long")
    claims = tokens.decode_reset(token)
    user = session.scalar(select(User).where(User.id == claims.user_id).with_for_update()) if claims else None
    if claims is None or user is None or not user.is_active or user.token_version != claims.version:
        audit.record_now("password_reset_refused", user_id=user.id if user else None, client_address=address)
        raise ResetLinkInvalid("This password reset link has expired or was already used; ask an admin for a new one.")
    user.password_hash = hash_password(password)
    user.token_version += 1
    audit.record(session, "password_reset_done", user_id=user.id, email=user.email, client_address=address)
    return user


class ResetLinkInvalid(DomainError):
    status, slug, title = 410, "reset-link-invalid", "Reset link no longer valid"


# -- sign-in ----------------------------------------------------------------------------------
# An account's failures count for a day at most, and only since its last successful sign-in.
FAILURE_MEMORY = timedelta(hours=24)
# An address the account signed in from within this time is the owner's own: there, only that address's failures
# delay the account, so a stranger elsewhere cannot keep its owner out.
KNOWN_ADDRESS_MEMORY = timedelta(days=30)
WAIT_MESSAGE = "Too many failed sign-ins; try again in {seconds} seconds."


def _account_failures(session: Session, email: str, address: str | None, now: datetime) -> list[datetime]:
    """The account's failures that still count: since its last success (and within FAILURE_MEMORY); from a
    known address of the account, only that address's own."""
    since = now - FAILURE_MEMORY
    # a success, or an unlock link the account's owner opened from their email, starts the count afresh
    last_success = session.scalar(
        select(func.max(SecurityEvent.at)).where(
            SecurityEvent.kind.in_(("login_success", "login_unlocked")),
            SecurityEvent.email == email,
            SecurityEvent.at <= now,
        )
    )
    if last_success is not None:
        since = max(since, last_success)
    conditions = [
        SecurityEvent.kind == "login_failure",
        SecurityEvent.email == email,
        SecurityEvent.at > since,
        SecurityEvent.at <= now,
    ]
    if address is not None and _known_address(session, email, address, now):
        conditions.append(SecurityEvent.client_address == address)
    return list(session.scalars(select(SecurityEvent.at).where(*conditions).order_by(SecurityEvent.at)).all())


def _known_address(session: Session, email: str, address: str, now: datetime) -> bool:
    return (
        session.scalar(
            select(SecurityEvent.id)
            .where(
                SecurityEvent.kind == "login_success",
                SecurityEvent.email == email,
                SecurityEvent.client_address == address,
                SecurityEvent.at > now - KNOWN_ADDRESS_MEMORY,
                SecurityEvent.at <= now,
            )
            .limit(1)
        )
        is not None
    )


def _address_failures(session: Session, address: str, now: datetime) -> list[datetime]:
    window = timedelta(minutes=get_settings().login_window_minutes)
    return list(
        session.scalars(
            select(SecurityEvent.at)
            .where(
                SecurityEvent.kind == "login_failure",
                SecurityEvent.client_address == address,
                SecurityEvent.at > now - window,
                SecurityEvent.at <= now,
            )
            .order_by(SecurityEvent.at)
        ).all()
    )


def backoff_seconds(failures: int) -> int:
    """The wait after `failures` failed sign-ins in a row: none for the first LOGIN_MAX_FAILURES, then 1 s,
    doubling with each further failure, up to LOGIN_BACKOFF_MAX_SECONDS."""
    settings = get_settings()
    beyond = failures - settings.login_max_failures
    if beyond < 0:
        return 0
    return min(int(2 ** min(beyond, 30)), settings.login_backoff_max_seconds)


def sign_in_wait(session: Session, email: str, address: str | None) -> int:
    """Seconds before `email` may try a password again from `address` (0: now).

    Two rules, neither a lock a stranger can hold forever: the account waits 1 s after its fifth failure in a row,
    doubling with each further one up to 15 minutes after the last (the refused tries do not count); and one
    address may fail LOGIN_MAX_FAILURES times within LOGIN_WINDOW_MINUTES, whatever accounts it tries."""
    settings = get_settings()
    now = clock.now()
    remaining = 0
    failures = _account_failures(session, email, address, now)
    if failures:
        until = failures[-1] + timedelta(seconds=backoff_seconds(len(failures)))
        remaining = max(remaining, math.ceil((until - now).total_seconds()))
    if address:
        from_address = _address_failures(session, address, now)
        if len(from_address) >= settings.login_max_failures:
            # The address waits until its oldest failure that still counts leaves the window.
            unlock = from_address[-settings.login_max_failures] + timedelta(minutes=settings.login_window_minutes)
            remaining = max(remaining, math.ceil((unlock - now).total_seconds()))
    return max(remaining, 0)


def account_waits(session: Session, email: str, address: str | None) -> bool:
    """The account itself waits (its failures in a row), not only the address the try comes from."""
    now = clock.now()
    failures = _account_failures(session, email, address, now)
    return bool(failures) and failures[-1] + timedelta(seconds=backoff_seconds(len(failures))) > now


def check_password(session: Session, email: str, password: str, address: str | None) -> User:
    """The active user whose password this is, or 401; 429 with `Retry-After` while the account or the address
    waits. Every failure is recorded in the security trail; refusals while waiting are counted per address."""
    email = email.strip().lower()
    remaining = sign_in_wait(session, email, address)
    if remaining > 0:
        audit.tally_now("login_waiting", client_address=address, email=email, details={"wait_s": remaining})
        if account_waits(session, email, address):
            from app.auth import unlock  # noqa: PLC0415 - unlock builds on this module

            unlock.offer(email, address)
        raise TooManyRequests(
            WAIT_MESSAGE.format(seconds=remaining),
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
    return user


def login(
    session: Session,
    email: str,
    password: str,
    address: str | None,
    ttl: timedelta | None = None,
    totp_code: str | None = None,
) -> tuple[str, int]:
    """Check a password (see `check_password`) and, when the account has or needs one, the second factor (see
    `two_factor.check`); issue a token and record the success."""
    user = check_password(session, email, password, address)
    two_factor.check(session, user, totp_code, address)
    return complete_sign_in(session, user, address, ttl)


def complete_sign_in(
    session: Session, user: User, address: str | None, ttl: timedelta | None = None
) -> tuple[str, int]:
    """Issue the token of a sign-in whose every factor checked, and record the success."""
    audit.record(session, "login_success", user_id=user.id, email=user.email, client_address=address)
    return tokens.issue(user.id, user.token_version, ttl)


def second_factor_wait(session: Session, user: User, address: str | None) -> None:
    """Between the password and the code (the pages' second step), the account's wait still applies: 429."""
    remaining = sign_in_wait(session, user.email, address)
    if remaining > 0:
        audit.tally_now("login_waiting", client_address=address, email=user.email, details={"wait_s": remaining})
        raise TooManyRequests(
            WAIT_MESSAGE.format(seconds=remaining),
            headers={"Retry-After": str(remaining)},
            extra={"retry_after": remaining},
        )


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
    if settings.admin_totp_secret:
        two_factor.enrol_with_secret(session, admin, settings.admin_totp_secret)
    _record_user(session, admin, "user.created")
    return None if settings.admin_password else password


LOCALES = ("vi", "en")


def user_locale(session: Session, user_id: UUID) -> str | None:
    """The language the user picked for the pages; None until they pick one."""
    locale = session.scalar(select(User.locale).where(User.id == user_id))
    return locale if locale in LOCALES else None


def set_locale(session: Session, user_id: UUID, locale: str) -> None:
    """Remember the user's language: every browser they sign in from shows it."""
    if locale not in LOCALES:
        raise RuleViolation("locale", f"one of {', '.join(LOCALES)}")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    user.locale = locale
