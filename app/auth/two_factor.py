"""The second factor of a staff sign-in: who must give a TOTP code, enrolment, checking a code or a recovery code,
and an admin's reset.

Required of the roles in `TOTP_REQUIRED_ROLES` (admin and auditor by default) and of the investigators and
supervisors of a unit whose `totp_required` flag is set; anyone enrolled gives a code whatever their role. A wrong
code counts as a failed sign-in (the account's wait grows with it), so the six digits cannot be guessed at speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.auth import audit, totp
from app.auth.models import RecoveryCode, Role, Unit, User
from app.auth.permissions import belongs_to_unit
from app.core import clock
from app.core.config import get_settings
from app.core.errors import Conflict, DomainError, NotFound


class TotpCodeRequired(DomainError):
    status, slug, title = 401, "totp-code-required", "Authenticator code required"


class TotpCodeWrong(DomainError):
    status, slug, title = 401, "totp-code-wrong", "Authenticator code wrong"


class TotpEnrolmentRequired(DomainError):
    status, slug, title = 403, "totp-enrolment-required", "Two-factor sign-in not set up"


CODE_REQUIRED = "This account signs in with a code from its authenticator app too: send it as totp_code."
CODE_WRONG = "The authenticator code is wrong or too old; type the code the app shows now, or a recovery code."
ENROLMENT_REQUIRED = (
    "This account must sign in with an authenticator app; set it up by signing in on the sign-in page first."
)


def required(session: Session, user: User) -> bool:
    """Whether the user must sign in with a second factor (role, or the unit's flag)."""
    if Role(user.role).value in get_settings().totp_required_roles:
        return True
    if belongs_to_unit(Role(user.role)) and user.unit_id is not None:
        return session.scalar(select(Unit.totp_required).where(Unit.id == user.unit_id)) is True
    return False


def check(session: Session, user: User, code: str | None, address: str | None) -> None:
    """Refuse the sign-in unless the second factor is given, when the user has or needs one.

    Not enrolled but required: 403 `totp-enrolment-required`. Enrolled: no code is 401 `totp-code-required`; a
    wrong code is 401 `totp-code-wrong`, recorded as a failed sign-in. A recovery code works once."""
    if user.totp_enabled_at is None:
        if required(session, user):
            raise TotpEnrolmentRequired(ENROLMENT_REQUIRED)
        return
    if not code or not code.strip():
        raise TotpCodeRequired(CODE_REQUIRED)
    secret = totp.unseal(user.totp_secret or "")
    if secret is not None and totp.code_matches(secret, code, clock.now().timestamp()):
        return
    if totp.is_recovery_code(code) and _use_recovery_code(session, user, code, address):
        return
    audit.record_now(
        "login_failure",
        user_id=user.id,
        email=user.email,
        client_address=address,
        details={"second_factor": "wrong code"},
    )
    raise TotpCodeWrong(CODE_WRONG)


def _use_recovery_code(session: Session, user: User, code: str, address: str | None) -> bool:
    unused = session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)).with_for_update()
    ).all()
    for row in unused:
        if totp.recovery_code_matches(code, row.code_hash):
            row.used_at = clock.now()
            audit.record(
                session,
                "recovery_code_used",
                user_id=user.id,
                email=user.email,
                client_address=address,
                details={"left": len(unused) - 1},
            )
            return True
    return False


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret as a QR code's URI and as text (once; never shown again)."""

    secret: str
    uri: str


def begin_enrolment(session: Session, user: User) -> Enrolment:
    """Give a user who has no second factor yet a new secret, kept encrypted until a code from it confirms it."""
    if user.totp_enabled_at is not None:
        raise Conflict("two-factor sign-in is already set up for this account")
    secret = totp.new_secret()
    user.totp_secret = totp.seal(secret)
    return Enrolment(secret=secret, uri=totp.provisioning_uri(secret, user.email))


def pending_enrolment(user: User) -> Enrolment | None:
    """The secret being enrolled (shown again when a confirming code was wrong), if there is one."""
    if user.totp_enabled_at is not None or not user.totp_secret:
        return None
    secret = totp.unseal(user.totp_secret)
    return Enrolment(secret=secret, uri=totp.provisioning_uri(secret, user.email)) if secret else None


def finish_enrolment(session: Session, user: User, code: str, address: str | None) -> list[str]:
    """Turn the second factor on once a code from the new secret checks; return the recovery codes (shown once)."""
    enrolment = pending_enrolment(user)
    if enrolment is None or not totp.code_matches(enrolment.secret, code, clock.now().timestamp()):
        audit.record_now("totp_enrolment_refused", user_id=user.id, email=user.email, client_address=address)
        raise TotpCodeWrong(CODE_WRONG)
    user.totp_enabled_at = clock.now()
    codes = _replace_recovery_codes(session, user)
    audit.record(session, "totp_enrolled", user_id=user.id, email=user.email, client_address=address)
    return codes


def enrol_with_secret(session: Session, user: User, secret: str, *, recovery_codes: bool = True) -> list[str]:
    """Enrol with a secret given in advance (the first admin's `ADMIN_TOTP_SECRET`); return the recovery codes
    (none when `recovery_codes` is false: the user makes them by enrolling on the pages after an admin's reset)."""
    user.totp_secret = totp.seal(secret)
    user.totp_enabled_at = clock.now()
    session.flush()
    return _replace_recovery_codes(session, user) if recovery_codes else []


def _replace_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = totp.new_recovery_codes()
    now = clock.now()
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(code), created_at=now) for code in codes
    )
    session.flush()
    return codes


def reset(session: Session, user_id: UUID, by: UUID | None, address: str | None) -> User:
    """An admin clears a user's second factor (a lost phone): the secret and recovery codes go, every token the
    user holds is revoked, and the user enrols again at the next sign-in."""
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound(f"user {user_id} not found")
    had = user.totp_enabled_at is not None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.token_version += 1
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record(
        session,
        "totp_reset",
        user_id=user.id,
        email=user.email,
        client_address=address,
        details={"by": str(by) if by else None, "was_enrolled": had},
    )
    return user


def set_unit_requirement(
    session: Session, unit_id: UUID, required_: bool, by: UUID | None, address: str | None
) -> Unit:
    """Require (or stop requiring) a second factor of a unit's investigators and supervisors."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    unit.totp_required = required_
    audit.record(
        session,
        "unit_totp_required" if required_ else "unit_totp_optional",
        client_address=address,
        details={"unit_id": str(unit.id), "by": str(by) if by else None},
    )
    return unit
