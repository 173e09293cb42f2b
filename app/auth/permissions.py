"""The one permission module: who may do what, and which objects each actor may see.

Role rules live in POLICY (action → roles); object rules beside them: `ensure_may(actor, action, obj)` is
called at each service entry (so an API route and a page reaching the same service make the same check), and
`unit_scope(actor, column)` / `owner_scope(actor, column)` state the same rules as SQL for the listings.
Routers may also declare `Depends(allow("action"))`, which answers before the body is read. An action outside
the actor's role answers 403; an object outside the actor's scope answers 404, so existence is not revealed.
Every role denial is logged. No other module compares an actor's role: they ask the predicates here.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol
from uuid import UUID

from anyio import to_thread
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import ColumnElement, bindparam, false, select, true
from sqlalchemy.orm import Session

from app.auth import audit, tokens
from app.auth.grants import CaseGrant
from app.auth.models import Role, User
from app.core import clock, reads
from app.core.errors import Forbidden, NotFound, Unauthorized

ADM, INV, SUP, OWN, AUD = Role.admin, Role.investigator, Role.supervisor, Role.owner, Role.auditor
PRO = Role.prosecutor
# A prosecutor sees only the cases granted to them: the actions open to "everyone" are not theirs.
EVERYONE = frozenset(Role) - {PRO}

# action -> roles allowed to attempt it (object scope is checked separately).
POLICY: dict[str, frozenset[Role]] = {
    "me.read": EVERYONE | {PRO},
    "auth.logout": EVERYONE | {PRO},
    "units.read": frozenset({ADM, INV, SUP, AUD}),
    "units.write": frozenset({ADM}),
    "users.read": frozenset({ADM}),
    "users.write": frozenset({ADM}),
    "users.deactivate": frozenset({ADM}),
    "users.reset_password": frozenset({ADM}),
    "users.reset_totp": frozenset({ADM}),
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
    "cases.read": frozenset({ADM, INV, SUP, AUD, PRO}),  # a prosecutor: the granted cases only
    "cases.write": frozenset({INV}),
    "cases.hold": frozenset({ADM, SUP}),
    "retention.read": frozenset({ADM, INV, SUP, AUD}),
    "retention.write": frozenset({ADM}),
    "requests.read": EVERYONE,
    "requests.file": frozenset({INV}),
    "requests.respond": frozenset({OWN, ADM}),
    "requests.cancel": frozenset({INV}),
    "requests.close": frozenset({INV}),
    "links.manage": frozenset({INV}),
    # evidence
    "footage.upload": frozenset({OWN}),
    "footage.read": EVERYONE,
    "footage.download": frozenset({INV, SUP, AUD, OWN}),
    # reading the recorder's clock: its owner, or an investigator of the filing unit (the latter on site)
    "footage.clock_check": frozenset({OWN, INV}),
    "footage.clock_check_on_site": frozenset({INV}),
    # custody and reports
    "custody.read": frozenset({ADM, INV, SUP, AUD}),
    "custody.ledger": frozenset({OWN}),
    "custody.verify": frozenset({ADM, AUD}),
    "reports.export": frozenset({INV, SUP, AUD, PRO}),
    "stats.read": frozenset({ADM, SUP, AUD}),
    # what staff are told about their requests (each reads only their own), and the unit's open requests
    "notifications.read": frozenset({ADM, INV, SUP, AUD}),
    "supervision.read": frozenset({ADM, SUP}),
    # refinements of the actions above, asked by services and pages
    "stats.all_units": frozenset({ADM, AUD}),  # a supervisor's statistics cover their own unit only
    "districts.read": EVERYONE,
    "districts.write": frozenset({ADM}),
    "appeals.publish": frozenset({INV}),  # an investigator of the case's unit publishes and closes its appeals
    "appeals.read": frozenset({INV, SUP}),  # appeals and their quarantined submissions: the case's unit only
    "appeals.triage": frozenset({INV}),  # accept or decline a submission
    "cameras.police": frozenset({ADM}),  # register a camera as police-managed, or make one so
    "clips.download": frozenset({INV, SUP, AUD}),  # owners handed over the original; clips are the investigation's
    "timeline.read": frozenset({INV, SUP, AUD}),  # a case's clips on one true-time axis, and its markers
    "markers.write": frozenset({INV}),  # a note at a true instant on a case's clip
    "redactions.read": frozenset({INV, SUP, AUD}),  # redacted copies of a clip: their boxes, record and bytes
    "redactions.write": frozenset({INV}),  # make one: detect faces, change the boxes, render
    "owner.pages": frozenset({OWN}),  # the owner's pages (requests, cameras and consent, ledger)
    "custody.browse": frozenset({ADM, AUD}),  # the custody log offered in the pages' menu
    "reports.case_exports": frozenset({AUD}),  # the case export pages offered in the menu
    "cases.lead": frozenset({INV}),  # a user who may be a case's lead investigator
    "links.issue": frozenset({INV}),  # the two halves of links.manage, each with its own refusal
    "links.revoke": frozenset({INV}),
    # disclosure to the procuracy and court: the case unit's supervisor (or an admin) grants a prosecutor a case
    # for a term; the prosecutor takes packages of its evidence and acknowledges their receipts
    "grants.manage": frozenset({ADM, SUP}),
    "disclosure.read": frozenset({PRO}),
    "disclosure.package": frozenset({PRO}),
    "disclosure.acknowledge": frozenset({PRO}),
    "prosecutor.pages": frozenset({PRO}),
    # whom to phone about a case's waiting requests: the unit's work, not a prosecutor's (cases.read less PRO)
    "cases.owners_to_call": frozenset({ADM, INV, SUP, AUD}),
}

# Roles whose accounts belong to a unit (and see that unit's cases), and the role that acts for an owner record.
UNIT_ROLES = frozenset({INV, SUP})
OWNER_ROLES = frozenset({OWN})


class ActorKind(enum.StrEnum):
    user = "user"  # a signed-in account
    link = "link"  # an owner holding a one-time link, scoped to one request
    system = "system"  # the service itself (auto-approval, sweeps, the worker)
    public = "public"  # a member of the public answering a case's appeal (no account, no link)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an owner holding a one-time link, or the system itself."""

    kind: ActorKind
    role: Role | None = None
    user_id: UUID | None = None
    email: str | None = None
    unit_id: UUID | None = None
    owner_id: UUID | None = None
    link_id: UUID | None = None
    link_request_id: UUID | None = None
    client_address: str | None = None
    # A prosecutor's cases with a live grant (read with the token's user; empty for every other role).
    granted_case_ids: frozenset[UUID] = frozenset()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How the custody log names this actor."""
        if self.kind == ActorKind.user:
            return f"user:{self.user_id}"
        if self.kind == ActorKind.link:
            return f"owner-link:{self.link_id}"
        if self.kind == ActorKind.public:
            return f"public:appeal-{self.extra.get('appeal', 'unknown')}"
        return f"system:{self.extra.get('component', 'service')}"

    @property
    def is_link(self) -> bool:
        return self.kind == ActorKind.link

    def where(self, component: str = "api") -> dict[str, str | None]:
        return {"component": component, "client_address": self.client_address}


def public_actor(appeal_slug: str, address: str | None) -> Actor:
    """A resident sending footage to an appeal: known only by the appeal and the client address."""
    return Actor(kind=ActorKind.public, client_address=address, extra={"appeal": appeal_slug})


def system_actor(component: str) -> Actor:
    return Actor(kind=ActorKind.system, extra={"component": component})


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
    claims: tokens.TokenClaims | None,
    user: Mapping[Any, Any] | None,
    address: str | None,
    granted: frozenset[UUID] = frozenset(),
) -> Actor | None:
    """The Actor for a token's claims and its user's row: None unless the user is active and the token current."""
    if claims is None or user is None or not user["is_active"] or user["token_version"] != claims.version:
        return None
    return Actor(
        kind=ActorKind.user,
        role=Role(user["role"]),
        user_id=user["id"],
        email=user["email"],
        unit_id=user["unit_id"],
        owner_id=user["owner_id"],
        client_address=address,
        granted_case_ids=granted,
    )


# A prosecutor's live grants: not revoked, not expired (the clock is the service's, so tests can move it).
LIVE_GRANTS = select(CaseGrant.case_id).where(
    CaseGrant.grantee_id == bindparam("user_id"),
    CaseGrant.revoked_at.is_(None),
    CaseGrant.expires_at > bindparam("now"),
)
_LIVE_GRANTS = reads.prepare(LIVE_GRANTS)


def _is_grantee(user: Mapping[Any, Any] | None) -> bool:
    return user is not None and user["role"] == PRO


def actor_from_token(session: Session, token: str, address: str | None) -> Actor | None:
    """The active user behind a valid, unexpired, unrevoked token, as an Actor; None otherwise (pages' cookie)."""
    claims = tokens.decode(token)
    user = session.execute(_USER_FOR_TOKEN.core, {"user_id": claims.user_id}).mappings().first() if claims else None
    granted: frozenset[UUID] = frozenset()
    if claims is not None and _is_grantee(user):
        rows = session.execute(_LIVE_GRANTS.core, {"user_id": claims.user_id, "now": clock.now()}).scalars()
        granted = frozenset(rows)
    return _token_actor(claims, user, address, granted)


async def _granted_cases(user: Mapping[Any, Any] | None) -> frozenset[UUID]:
    if not _is_grantee(user):
        return frozenset()
    assert user is not None
    rows = await reads.fetch_all(_LIVE_GRANTS, {"user_id": user["id"], "now": clock.now()})
    return frozenset(row["case_id"] for row in rows)


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
    actor = _token_actor(token.claims, user, token.client_address, await _granted_cases(user))
    if actor is None:
        raise Unauthorized(_REVOKED)
    await _check_role(actor, action, token.method, token.path)
    return actor


async def current_actor(token: BearerDep) -> Actor:
    """The signed-in user behind the bearer token; 401 when absent, invalid, expired or revoked."""
    user = await reads.fetch_one(_USER_FOR_TOKEN, {"user_id": token.user_id})
    actor = _token_actor(token.claims, user, token.client_address, await _granted_cases(user))
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


# -- role predicates -----------------------------------------------------------------------------
def may(actor: Actor, action: str) -> bool:
    """Whether POLICY grants `action` to the actor's role (no record: for choosing what to show or filter)."""
    return actor.role in POLICY[action]


def belongs_to_unit(role: Role) -> bool:
    """Investigators and supervisors are accounts of a unit."""
    return role in UNIT_ROLES


def acts_for_owner(role: Role) -> bool:
    """An owner account acts for one owner record."""
    return role in OWNER_ROLES


def may_lead_cases(role: str) -> bool:
    """Whether a user of this role may be named a case's lead investigator."""
    return role in POLICY["cases.lead"]


# -- object scope -------------------------------------------------------------------------------
class Reach(enum.StrEnum):
    """How far an actor's sight goes over cases and requests."""

    all = "all"
    unit = "unit"  # the objects of the actor's unit
    owner = "owner"  # the requests addressed to the actor's owner record
    request = "request"  # the one request of an owner link
    none = "none"


class ScopedRequest(Protocol):
    """What the request rules read of a request: a loaded row or a validated read of one."""

    @property
    def id(self) -> UUID: ...
    @property
    def owner_id(self) -> UUID: ...
    @property
    def unit_id(self) -> UUID: ...


class UnitObject(Protocol):
    """A case, or anything else that belongs to a unit."""

    @property
    def id(self) -> UUID: ...
    @property
    def unit_id(self) -> UUID: ...


def unit_reach(actor: Actor) -> tuple[Reach, UUID | None]:
    """Cases and what belongs to them: the own unit for investigators and supervisors; all for auditors and
    admins; nothing for anyone else."""
    if actor.role in (AUD, ADM):
        return Reach.all, None
    if actor.role is not None and belongs_to_unit(actor.role) and actor.unit_id is not None:
        return Reach.unit, actor.unit_id
    return Reach.none, None


def request_reach(actor: Actor) -> tuple[Reach, UUID | None]:
    """Requests: a link only its own; owners those addressed to them; staff by the filing unit (`unit_reach`)."""
    if actor.is_link:
        return Reach.request, actor.link_request_id
    if actor.role is not None and acts_for_owner(actor.role):
        return (Reach.owner, actor.owner_id) if actor.owner_id is not None else (Reach.none, None)
    return unit_reach(actor)


def reach_condition(reach: Reach, column: Any, scope_id: Any) -> ColumnElement[bool]:
    """A reach as a SQL condition on `column` (the column the reach names: unit, owner or request id)."""
    if reach == Reach.all:
        return true()
    if reach == Reach.none:
        return false()
    condition: ColumnElement[bool] = column == scope_id
    return condition


def unit_scope(actor: Actor, column: Any) -> ColumnElement[bool]:
    """The SQL twin of `can_see_unit_object`: a condition on a unit id column for the rows the actor sees."""
    reach, unit_id = unit_reach(actor)
    return reach_condition(reach, column, unit_id)


def owner_scope(actor: Actor, column: Any) -> ColumnElement[bool]:
    """The SQL twin of `can_see_owner_object` for staff and owners: an owner's own rows, everything for staff."""
    if actor.role is not None and acts_for_owner(actor.role):
        condition: ColumnElement[bool] = column == actor.owner_id
        return condition
    return true()


def case_scope(actor: Actor, unit_column: Any, case_column: Any) -> ColumnElement[bool]:
    """Cases the actor sees, as SQL: `unit_scope`'s, and for a prosecutor the cases with a live grant."""
    if actor.role == PRO:
        if not actor.granted_case_ids:
            return false()
        granted: ColumnElement[bool] = case_column.in_(sorted(actor.granted_case_ids))
        return granted
    return unit_scope(actor, unit_column)


def can_see_case(actor: Actor, case: UnitObject) -> bool:
    """A case: by unit (`can_see_unit_object`), or for a prosecutor by a live grant."""
    if actor.role == PRO:
        return case.id in actor.granted_case_ids
    return can_see_unit_object(actor, case.unit_id)


def may_grant_case(actor: Actor, case: UnitObject) -> bool:
    """Who gives a prosecutor sight of a case: an admin, or a supervisor of the case's unit."""
    return actor.role == ADM or (actor.role == SUP and actor.unit_id is not None and actor.unit_id == case.unit_id)


def can_see_unit_object(actor: Actor, unit_id: UUID | None) -> bool:
    """Cases and their requests: own unit for investigators and supervisors; all for auditors and admins."""
    reach, own_unit = unit_reach(actor)
    return reach == Reach.all or (reach == Reach.unit and unit_id is not None and unit_id == own_unit)


def can_see_request(actor: Actor, request: ScopedRequest) -> bool:
    """Staff by the filing unit; owners only the requests addressed to them; a link only its own request."""
    reach, scope_id = request_reach(actor)
    if reach == Reach.request:
        return scope_id == request.id
    if reach == Reach.owner:
        return scope_id == request.owner_id
    return can_see_unit_object(actor, request.unit_id)


def can_see_owner_object(actor: Actor, owner_id: UUID | None) -> bool:
    """Owner records, cameras and consents: an owner sees only their own; staff and auditors see all."""
    if actor.is_link:
        return False
    if actor.role is not None and acts_for_owner(actor.role):
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


# -- object rules: one per action that acts on an object ------------------------------------------------
class OwnedObject(Protocol):
    @property
    def owner_id(self) -> UUID: ...


@dataclass(frozen=True)
class OwnedBy:
    """An object not loaded yet (a camera to register), named by the owner it would belong to."""

    owner_id: UUID


def _of_own_unit(actor: Actor, unit_id: UUID, refusal: str) -> None:
    # What an investigator does to their unit's cases and requests: file, cancel, issue and revoke owner links.
    if actor.unit_id != unit_id:
        raise Forbidden(refusal)


def _see_case(actor: Actor, case: UnitObject) -> None:
    ensure_visible(can_see_case(actor, case), actor, "case", case.id)


def _grant_case(actor: Actor, case: UnitObject) -> None:
    _see_case(actor, case)
    if not may_grant_case(actor, case):
        raise Forbidden("only a supervisor of the case's unit or an admin may grant or revoke a prosecutor's access")


def _file_on_case(actor: Actor, case: UnitObject) -> None:
    _see_case(actor, case)
    _of_own_unit(actor, case.unit_id, "only an investigator of the case's unit may file requests for it")


def _see_request(actor: Actor, request: ScopedRequest) -> None:
    ensure_visible(can_see_request(actor, request), actor, "request", request.id)


def _answer_request(actor: Actor, request: ScopedRequest) -> None:
    _see_request(actor, request)
    if acts_for_owner_of(actor, request) is False:
        ensure_visible(False, actor, "request", request.id)


def _cancel_request(actor: Actor, request: ScopedRequest) -> None:
    _see_request(actor, request)
    _of_own_unit(actor, request.unit_id, "only an investigator of the filing unit may cancel a request")


def _close_request(actor: Actor, request: ScopedRequest) -> None:
    _see_request(actor, request)
    _of_own_unit(actor, request.unit_id, "only an investigator of the filing unit may close a request")


def _issue_link(actor: Actor, request: ScopedRequest) -> None:
    _see_request(actor, request)
    _of_own_unit(actor, request.unit_id, "only an investigator of the filing unit may issue owner links")


def _revoke_link(actor: Actor, request: ScopedRequest) -> None:
    _see_request(actor, request)
    _of_own_unit(actor, request.unit_id, "only an investigator of the filing unit may revoke owner links")


def _upload_footage(actor: Actor, request: ScopedRequest) -> None:
    _see_request(actor, request)
    if not actor.is_link and not acts_for_owner_of(actor, request):
        raise Forbidden("only the camera's owner hands over footage")


def _manage_owner(actor: Actor, owned: OwnedObject) -> None:
    """Admins manage every owner's cameras and consents; an owner account only its own."""
    if actor.role != ADM and not acts_for_owner_of(actor, owned):
        raise Forbidden("only an admin or the owner may change this owner's cameras and consents")


def acts_for_owner_of(actor: Actor, owned: OwnedObject) -> bool | None:
    """For an owner account: whether `owned` is its owner record's; None for anyone else."""
    if actor.role is None or not acts_for_owner(actor.role):
        return None
    return actor.owner_id is not None and actor.owner_id == owned.owner_id


# action -> the rule on its object, checked after the role rule. Actions absent here have none.
OBJECT_RULES: dict[str, Callable[[Actor, Any], None]] = {
    "cases.read": _see_case,
    "cases.write": _see_case,
    "cases.hold": _see_case,
    "timeline.read": _see_case,
    "markers.write": _see_case,
    "grants.manage": _grant_case,
    "disclosure.read": _see_case,
    "disclosure.package": _see_case,
    "disclosure.acknowledge": _see_case,
    "requests.read": _see_request,
    "requests.file": _file_on_case,
    "requests.respond": _answer_request,
    "requests.cancel": _cancel_request,
    "requests.close": _close_request,
    "links.issue": _issue_link,
    "links.revoke": _revoke_link,
    "footage.upload": _upload_footage,
    "cameras.write": _manage_owner,
    "consents.write": _manage_owner,
}
# What an owner link may do: these actions, on its own request only (it has no role).
LINK_ACTIONS = frozenset({"requests.read", "requests.respond", "footage.upload"})


def ensure_may(actor: Actor, action: str, obj: Any = None) -> None:
    """The one check at a service's entry: POLICY's role rule (403, logged; a link instead may only take the
    LINK_ACTIONS on an object), then, given an object, the action's object rule (out of the actor's scope → 404,
    in scope but not the actor's to act on → 403)."""
    if not (actor.is_link and obj is not None and action in LINK_ACTIONS):
        ensure_role(actor, action)
    rule = OBJECT_RULES.get(action)
    if obj is not None and rule is not None:
        rule(actor, obj)
