"""An unlock link for staff held by the sign-in wait.

The wait after failed sign-ins (see `service.sign_in_wait`) is never a lock a stranger can renew, but from a new
address its owner may still have to wait up to 15 minutes behind someone guessing. So the first time a staff
account is made to wait (then at most every UNLOCK_EVERY), its owner gets an email with a one-time link; opening
it and confirming records `login_unlocked`, from which the account's failures are counted afresh. The link is
bound to the account's token version, expires after UNLOCK_TTL and works once."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import audit, tokens
from app.auth.models import Role, SecurityEvent, User
from app.auth.permissions import acts_for_owner
from app.core import clock
from app.core.config import get_settings
from app.core.db import write_session
from app.core.errors import DomainError

UNLOCK_TTL = timedelta(hours=1)
UNLOCK_EVERY = timedelta(minutes=15)


class UnlockLinkInvalid(DomainError):
    status, slug, title = 410, "unlock-link-invalid", "Unlock link no longer valid"


def _local_time(value: datetime) -> str:
    return value.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M:%S (UTC+7)")


def unlock_url(token: str) -> str:
    return f"{get_settings().public_base_url}/unlock/{token}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def offer(email: str, address: str | None) -> None:
    """Email an active staff account an unlock link, unless one went out within UNLOCK_EVERY; in a transaction of
    its own (the refused sign-in that calls it rolls its own back)."""
    from app.notifications import service as notifications

    with write_session() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is None or not user.is_active or acts_for_owner(Role(user.role)):
            return
        recent = session.scalar(
            select(SecurityEvent.id)
            .where(
                SecurityEvent.kind == "unlock_sent",
                SecurityEvent.email == email,
                SecurityEvent.at > clock.now() - UNLOCK_EVERY,
            )
            .limit(1)
        )
        if recent is not None:
            return
        token, expires_at = tokens.issue_unlock(user.id, user.token_version, UNLOCK_TTL)
        notifications.notify(
            session,
            email=user.email,
            template="sign_in_unlock",
            context={
                "full_name": user.full_name,
                "link_url": unlock_url(token),
                "expires_at": _local_time(expires_at),
                "client_address": address or "?",
            },
            locale=user.locale,
            subject_type="user",
            subject_id=user.id,
            secrets=[token],
        )
        audit.record(
            session,
            "unlock_sent",
            user_id=user.id,
            email=user.email,
            client_address=address,
            details={"expires_at": expires_at.isoformat()},
        )


def target(session: Session, token: str) -> User:
    """The account an unlock link lifts the wait of, or 410 when it expired, was used or was retired."""
    claims = tokens.decode_unlock(token)
    user = session.get(User, claims.user_id) if claims else None
    if claims is None or user is None or not user.is_active or user.token_version != claims.version:
        raise UnlockLinkInvalid("This unlock link has expired or was already used.")
    used = session.scalar(
        select(SecurityEvent.id)
        .where(
            SecurityEvent.kind == "login_unlocked",
            SecurityEvent.user_id == user.id,
            SecurityEvent.details["link"].astext == _digest(token),
        )
        .limit(1)
    )
    if used is not None:
        raise UnlockLinkInvalid("This unlock link has expired or was already used.")
    return user


def finish(session: Session, token: str, address: str | None) -> User:
    """Lift the wait: the account's failures so far no longer count."""
    user = target(session, token)
    audit.record(
        session,
        "login_unlocked",
        user_id=user.id,
        email=user.email,
        client_address=address,
        details={"link": _digest(token)},
    )
    return user
