"""The one permission module: who may do what, and which objects each actor may see.

Role rules live in POLICY (action → roles); object rules in the `can_see_*` functions. Routers declare
`Depends(allow("action"))`; services call `ensure_visible(...)`. An action outside the actor's role answers
403; an object outside the actor's scope answers 404, so existence is not revealed. Every denial is logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.auth import audit, tokens
from app.auth.models import Role, User
from app.core import reads
from app.core.errors import Forbidden, NotFound, Unauthorized

ADM, INV, SUP, OWN, AUD = Role.admin, Role.investigator, Role.supervisor, Role.owner, Role.auditor
EVERYONE = frozenset(Role)

# action -> roles allowed to attempt it (object scope is checked separately).
POLICY: dict[str, frozenset[Role]] = {
    "me.read": EVERYONE,
    "auth.logout": EVERYONE,
    "units.read": frozenset({ADM, INV, SUP, AUD}),
    "units.write": frozenset({ADM}),
    "users.read": frozenset({ADM}),
    "users.write": frozenset({ADM}),
    "users.deactivate": frozenset({ADM}),
    "users.reset_password": frozenset({ADM}),
    # registry
    "owners.read": EVERYONE,
    "owners.write": frozenset({ADM}),
    "cameras.read": EVERYONE,
    "cameras.search": frozenset({ADM, INV, SUP, AUD}),
    "cameras.write": frozenset({ADM, OWN}),
    "cameras.import": frozenset({ADM}),
    "consents.read": EVERYONE,
    "consents.write": frozenset({ADM, OWN}),
    # cases and requests
    "cases.read": frozenset({ADM, INV, SUP, AUD}),
    "cases.write": frozenset({INV}),
    "retention.read": frozenset({ADM, INV, SUP, AUD}),
    "retention.write": frozenset({ADM}),
    "requests.read": EVERYONE,
    "requests.file": frozenset({INV}),
    "requests.respond": frozenset({OWN, ADM}),
    "requests.cancel": frozenset({INV}),
    "links.manage": frozenset({INV}),
    # evidence
    "footage.upload": frozenset({OWN}),
    "footage.read": EVERYONE,
    "footage.download": frozenset({INV, SUP, AUD, OWN}),
    # custody and reports
    "custody.read": frozenset({ADM, INV, SUP, AUD}),
    "custody.ledger": frozenset({OWN}),
    "custody.verify": frozenset({ADM, AUD}),
    "reports.export": frozenset({INV, SUP, AUD}),
    "stats.read": frozenset({ADM, SUP, AUD}),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an owner holding a one-time link, or the system itself."""

    kind: str  # "user" | "link" | "system"
    role: Role | None = None
    user_id: UUID | None = None
    email: str | None = None
    unit_id: UUID | None = None
    owner_id: UUID | None = None
    link_id: UUID | None = None
    link_request_id: UUID | None = None
    client_address: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How the custody log names this actor."""
        if self.kind == "user":
            return f"user:{self.user_id}"
        if self.kind == "link":
            return f"owner-link:{self.link_id}"
        return f"system:{self.extra.get('component', 'service')}"

    def where(self, component: str = "api") -> dict[str, str | None]:
        return {"component": component, "client_address": self.client_address}


def system_actor(component: str) -> Actor:
    return Actor(kind="system", extra={"component": component})


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


# The token check runs on every authenticated call: one prepared statement on the read pool (no thread hop).
# A hot read may instead join TOKEN_USER into its own statement and hand the row to `authorise`.
TOKEN_USER = select(
    User.id, User.role, User.email, User.unit_id, User.owner_id, User.is_active, User.token_version
).where(User.id == bindparam("user_id"))
_USER_FOR_TOKEN = reads.prepare(TOKEN_USER)
_REVOKED = "The token is invalid, expired or revoked; sign in again."


def _token_actor(
    claims: tokens.TokenClaims | None, user: Mapping[Any, Any] | None, address: str | None
) -> Actor | None:
    """The Actor for a token's claims and its user's row: None unless the user is active and the token current."""
    if claims is None or user is None or not user["is_active"] or user["token_version"] != claims.version:
        return None
    return Actor(
        kind="user",
        role=Role(user["role"]),
        user_id=user["id"],
        email=user["email"],
        unit_id=user["unit_id"],
        owner_id=user["owner_id"],
        client_address=address,
    )


def actor_from_token(session: Session, token: str, address: str | None) -> Actor | None:
    """The active user behind a valid, unexpired, unrevoked token, as an Actor; None otherwise (pages' cookie)."""
    claims = tokens.decode(token)
    user = session.execute(_USER_FOR_TOKEN.core, {"user_id": claims.user_id}).mappings().first() if claims else None
    return _token_actor(claims, user, address)


@dataclass(frozen=True)
class Bearer:
    """A bearer token whose signature and expiry check, not yet matched with its user's row; and the call it
    came with (for the denial record)."""

    claims: tokens.TokenClaims
    client_address: str | None
    method: str
    path: str

    @property
    def user_id(self) -> UUID:
        return self.claims.user_id


async def bearer(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Bearer:
    """The bearer token's claims (401 when absent, invalid or expired), for a read that loads the user's row in
    its own statement and then calls `authorise`."""
    if not token:
        raise Unauthorized()
    claims = tokens.decode(token)
    if claims is None:
        raise Unauthorized(_REVOKED)
    return Bearer(claims, client_address(request), request.method, request.url.path)


BearerDep = Annotated[Bearer, Depends(bearer)]


async def authorise(token: Bearer, user: Mapping[Any, Any] | None, action: str) -> Actor:
    """What `current_actor` and `allow(action)` decide, from the user's row (TOKEN_USER's columns) read by the
    caller: 401 unless the user is active and the token current, 403 (logged) outside the role's actions."""
    actor = _token_actor(token.claims, user, token.client_address)
    if actor is None:
        raise Unauthorized(_REVOKED)
    await _check_role(actor, action, token.method, token.path)
    return actor


async def current_actor(token: BearerDep) -> Actor:
    """The signed-in user behind the bearer token; 401 when absent, invalid, expired or revoked."""
    user = await reads.fetch_one(_USER_FOR_TOKEN, {"user_id": token.user_id})
    actor = _token_actor(token.claims, user, token.client_address)
    if actor is None:
        raise Unauthorized(_REVOKED)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def record_denial(request: Request, actor: Actor, action: str) -> None:
    """Write a refused call to the security trail (its own transaction): who, what they tried, from where."""
    _record_denial(request.method, request.url.path, actor, action)


def _record_denial(method: str, path: str, actor: Actor, action: str) -> None:
    audit.record_now(
        "permission_denied",
        user_id=actor.user_id,
        email=actor.email,
        client_address=actor.client_address,
        method=method,
        path=path,
        details={"action": action, "role": str(actor.role)},
    )


async def _check_role(actor: Actor, action: str, method: str, path: str) -> None:
    """403 unless POLICY grants `action` to the actor's role; the refusal is recorded first, off the event loop."""
    if actor.role not in POLICY[action]:
        await to_thread.run_sync(_record_denial, method, path, actor, action)
        raise Forbidden(f"The {actor.role} role may not {action.replace('.', ' ')}.")


def allow(action: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency that lets through only the roles POLICY grants `action` (403 otherwise, logged)."""
    if action not in POLICY:  # caught when the route is declared, not on its first call
        raise KeyError(f"no policy for the action {action!r}")

    # async: the role check needs no thread of its own (a denial's record is written in one)
    async def dependency(request: Request, actor: CurrentActor) -> Actor:
        await _check_role(actor, action, request.method, request.url.path)
        return actor

    dependency.__name__ = f"allow_{action.replace('.', '_')}"
    return dependency


# -- object scope -------------------------------------------------------------------------------
def can_see_unit_object(actor: Actor, unit_id: UUID | None) -> bool:
    """Cases and their requests: own unit for investigators and supervisors; all for auditors and admins."""
    if actor.role in (Role.auditor, Role.admin):
        return True
    if actor.role in (Role.investigator, Role.supervisor):
        return unit_id is not None and unit_id == actor.unit_id
    return False


def can_see_owner_object(actor: Actor, owner_id: UUID | None) -> bool:
    """Owner records, cameras and consents: an owner sees only their own; staff and auditors see all."""
    if actor.kind == "link":
        return False
    if actor.role == Role.owner:
        return owner_id is not None and owner_id == actor.owner_id
    return actor.role is not None


def ensure_visible(visible: bool, actor: Actor, what: str, object_id: UUID | str) -> None:
    """404 (and a logged denial) unless `visible`: an out-of-scope object must look like a missing one."""
    if visible:
        return
    audit.record_now(
        "permission_denied",
        user_id=actor.user_id,
        email=actor.email,
        client_address=actor.client_address,
        details={"object": what, "object_id": str(object_id), "role": str(actor.role), "scope": "object"},
    )
    raise NotFound(f"{what} {object_id} not found")


def ensure_role(actor: Actor, action: str) -> None:
    """Service-side twin of `allow`, for code paths not entered through a router dependency."""
    if actor.role not in POLICY[action]:
        audit.record_now(
            "permission_denied",
            user_id=actor.user_id,
            email=actor.email,
            client_address=actor.client_address,
            details={"action": action, "role": str(actor.role)},
        )
        raise Forbidden(f"The {actor.role} role may not {action.replace('.', ' ')}.")
