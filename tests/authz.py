"""The authorisation matrix: the specification the route table is checked against.

A row names the roles allowed to call a route and what an allowed caller gets for a probe with random ids and
an empty body (404 or 422, or 200 for lists). Everyone else gets 403; anonymous callers 401; an owner-link
holder gets `link` on /respond routes and is anonymous elsewhere.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from app.auth import links
from app.auth.models import Role
from app.core.db import session_factory
from tests.factories import Account, account, sign_in

ANON, LINK = "anonymous", "owner_link"
ROLES = ("admin", "investigator", "supervisor", "owner", "auditor", "prosecutor")
PRINCIPALS = (ANON, *ROLES, LINK)
# A prosecutor sees only the cases granted to them: "every role" means every role but theirs, unless named.
ALL = frozenset(ROLES) - {"prosecutor"}
EVERY_ACCOUNT = frozenset(ROLES)
STAFF = frozenset({"admin", "investigator", "supervisor", "auditor"})


@dataclass(frozen=True)
class Row:
    allowed: frozenset[str]
    ok: int
    anon: int = 401
    link: int | None = None
    denied: int = 403


def public(status: int) -> Row:
    return Row(EVERY_ACCOUNT, status, anon=status, link=status)


def only(*roles: str, ok: int) -> Row:
    return Row(frozenset(roles), ok)


def by_link(status: int) -> Row:
    """/respond routes: only a live link opens them; any other caller's token is unknown → 404."""
    return Row(frozenset(), status, anon=404, link=status, denied=404)


def page(status: int = 303) -> Row:
    """Pages work with the session cookie only: without one every caller is sent to /login (303)."""
    return Row(frozenset(), status, anon=status, link=status, denied=status)


MATRIX: dict[tuple[str, str], Row] = {
    # service
    ("GET", "/healthz"): public(200),
    ("GET", "/readyz"): public(200),
    ("GET", "/metrics"): public(200),
    # identity
    ("POST", "/api/v1/auth/token"): public(422),
    ("POST", "/api/v1/auth/logout"): Row(EVERY_ACCOUNT, 204),
    ("GET", "/api/v1/me"): Row(EVERY_ACCOUNT, 200),
    ("POST", "/api/v1/units"): only("admin", ok=422),
    ("PATCH", "/api/v1/units/{unit_id}"): only("admin", ok=422),
    ("GET", "/api/v1/units"): Row(STAFF, 200),
    ("POST", "/api/v1/users"): only("admin", ok=422),
    ("GET", "/api/v1/users"): only("admin", ok=200),
    ("GET", "/api/v1/users/{user_id}"): only("admin", ok=404),
    ("PATCH", "/api/v1/users/{user_id}"): only("admin", ok=404),
    ("POST", "/api/v1/users/{user_id}/deactivate"): only("admin", ok=404),
    ("POST", "/api/v1/users/{user_id}/reactivate"): only("admin", ok=404),
    ("POST", "/api/v1/users/{user_id}/password-reset"): only("admin", ok=404),
    ("POST", "/api/v1/users/{user_id}/totp/reset"): only("admin", ok=404),
    # registry
    ("POST", "/api/v1/owners"): only("admin", ok=422),
    ("GET", "/api/v1/owners"): Row(ALL, 200),
    ("GET", "/api/v1/owners/{owner_id}"): Row(ALL, 404),
    ("POST", "/api/v1/owners/{owner_id}/consents"): only("admin", "owner", ok=422),
    ("GET", "/api/v1/owners/{owner_id}/consents"): Row(ALL, 404),
    ("POST", "/api/v1/consents/{consent_id}/withdraw"): only("admin", "owner", ok=422),
    ("GET", "/api/v1/consents/{consent_id}/receipts"): Row(ALL, 404),
    ("GET", "/api/v1/consents/{consent_id}/receipts/{seq}"): Row(ALL, 422),
    ("GET", "/api/v1/custody/receipts/{seq}/{leaf_hash}"): public(422),
    ("POST", "/api/v1/cameras"): only("admin", "owner", ok=422),
    ("GET", "/api/v1/cameras"): Row(ALL, 200),
    ("POST", "/api/v1/cameras/import"): only("admin", ok=422),
    ("GET", "/api/v1/cameras/export.geojson"): only("admin", ok=200),
    ("GET", "/api/v1/cameras/{camera_id:uuid}"): Row(ALL, 404),
    ("PATCH", "/api/v1/cameras/{camera_id:uuid}"): only("admin", "owner", ok=404),
    # cases
    ("POST", "/api/v1/cases"): only("investigator", ok=422),
    ("GET", "/api/v1/cases"): Row(STAFF | {"prosecutor"}, 200),  # a prosecutor: the granted cases only
    ("GET", "/api/v1/cases/{case_id}"): Row(STAFF | {"prosecutor"}, 404),
    ("PATCH", "/api/v1/cases/{case_id}"): only("investigator", ok=404),
    ("POST", "/api/v1/cases/{case_id}/close"): only("investigator", ok=422),
    ("POST", "/api/v1/cases/{case_id}/legal-hold"): only("supervisor", "admin", ok=422),
    ("POST", "/api/v1/cases/{case_id}/legal-hold/release"): only("supervisor", "admin", ok=422),
    ("GET", "/api/v1/retention-categories"): Row(STAFF, 200),
    ("POST", "/api/v1/retention-categories"): only("admin", ok=422),
    # extraction requests
    ("POST", "/api/v1/cases/{case_id}/requests"): only("investigator", ok=422),
    ("POST", "/api/v1/cases/{case_id}/area-requests"): only("investigator", ok=422),
    ("GET", "/api/v1/cases/{case_id}/owners-to-call"): Row(STAFF, 404),
    # the bridge's delivery reports: their signature is the credential, a user token is none
    ("POST", "/api/v1/notifications/delivery-reports"): Row(frozenset(), 401, anon=401, link=401, denied=401),
    ("GET", "/api/v1/requests"): Row(ALL, 200),
    ("GET", "/api/v1/requests/{request_id}"): Row(ALL, 404),
    ("POST", "/api/v1/requests/{request_id}/approve"): only("owner", "admin", ok=404),
    ("POST", "/api/v1/requests/{request_id}/deny"): only("owner", "admin", ok=422),
    ("POST", "/api/v1/requests/{request_id}/cancel"): only("investigator", ok=422),
    ("POST", "/api/v1/requests/{request_id}/links"): only("investigator", ok=404),
    ("DELETE", "/api/v1/requests/{request_id}/links/{link_id}"): only("investigator", ok=404),
    # the end of a request's life, staff notifications (each reads only their own), the supervisor's view
    ("POST", "/api/v1/requests/{request_id}/close"): only("investigator", ok=422),
    ("POST", "/api/v1/requests/{request_id}/re-request"): only("investigator", ok=422),
    ("GET", "/api/v1/notifications"): Row(STAFF, 200),
    ("POST", "/api/v1/notifications/read-all"): Row(STAFF, 200),
    ("POST", "/api/v1/notifications/{notification_id}/read"): Row(STAFF, 404),
    ("GET", "/api/v1/supervision/open-requests"): only("admin", "supervisor", ok=200),
    # the owner's one-time link: the link's own request does not exist in the probe, so it answers 404
    ("GET", "/api/v1/respond/{token}"): by_link(404),
    ("POST", "/api/v1/respond/{token}/approve"): by_link(404),
    ("POST", "/api/v1/respond/{token}/deny"): by_link(422),
    # footage (probe body "not a video", no X-Recording-Start → 422 before anything is stored)
    # X-Recording-Start may be left out (the file or its name may carry it): an unknown request is a 404.
    ("PUT", "/api/v1/requests/{request_id}/original"): only("owner", ok=404),
    ("PUT", "/api/v1/respond/{token}/original"): by_link(404),
    # An export in several files: each file, then "complete", by the owner or through the link.
    ("POST", "/api/v1/requests/{request_id}/originals"): only("owner", ok=422),  # the probe names no file
    ("POST", "/api/v1/requests/{request_id}/originals/complete"): only("owner", ok=404),
    ("POST", "/api/v1/respond/{token}/originals"): by_link(422),
    ("POST", "/api/v1/respond/{token}/originals/complete"): by_link(404),
    ("POST", "/api/v1/requests/{request_id}/clock-checks"): only("owner", "investigator", ok=422),
    ("POST", "/api/v1/requests/{request_id}/clock-checks/photo"): only("owner", "investigator", ok=422),
    ("GET", "/api/v1/requests/{request_id}/clock-checks"): Row(ALL, 404),
    ("POST", "/api/v1/respond/{token}/clock-checks"): by_link(422),
    ("POST", "/api/v1/respond/{token}/clock-checks/photo"): by_link(422),
    # Originals and clips without a request (an appeal's) are scoped by their case; the roles are the same.
    ("GET", "/api/v1/originals/{original_id}"): Row(ALL, 404),
    ("POST", "/api/v1/originals/{original_id}/converted"): only("investigator", ok=422),
    # Resumable uploads (tus): discovery is public. A creation names its caller in the body's metadata (an owner
    # link's token) or by the owner's bearer token, so its shape is checked first: an empty probe is a 422 for
    # everyone (who may create is tested with real requests in tests/footage/test_tus.py). An upload's URL is its
    # capability: an unknown one is a 404 for everyone, and PATCH checks its headers before the id.
    ("OPTIONS", "/api/v1/uploads"): public(204),
    ("POST", "/api/v1/uploads"): public(422),
    ("PATCH", "/api/v1/uploads/{upload_id}"): public(422),
    ("DELETE", "/api/v1/uploads/{upload_id}"): public(404),
    ("GET", "/api/v1/clips/{clip_id}"): Row(ALL, 404),
    ("GET", "/api/v1/links/{token}"): public(404),
    ("GET", "/api/v1/cases/{case_id}/timeline"): only("investigator", "supervisor", "auditor", ok=404),
    ("GET", "/api/v1/cases/{case_id}/markers"): only("investigator", "supervisor", "auditor", ok=404),
    # redacted copies of a clip: investigators make them; the unit's supervisors and auditors read and fetch them
    ("POST", "/api/v1/clips/{clip_id}/redactions"): only("investigator", ok=404),
    ("GET", "/api/v1/clips/{clip_id}/redactions"): only("investigator", "supervisor", "auditor", ok=404),
    ("GET", "/api/v1/redactions/{redaction_id}"): only("investigator", "supervisor", "auditor", ok=404),
    ("PUT", "/api/v1/redactions/{redaction_id}/boxes"): only("investigator", ok=422),
    ("POST", "/api/v1/redactions/{redaction_id}/render"): only("investigator", ok=404),
    ("GET", "/api/v1/redactions/{redaction_id}/download"): only("investigator", "supervisor", "auditor", ok=404),
    ("POST", "/api/v1/cases/{case_id}/markers"): only(
        "investigator", ok=422
    ),  # the token is the credential; a random one is unknown
    ("POST", "/api/v1/clips/{clip_id}/download-link"): only("investigator", "supervisor", "auditor", "owner", ok=422),
    ("POST", "/api/v1/originals/{original_id}/download-link"): only(
        "investigator", "supervisor", "auditor", "owner", ok=422
    ),
    # districts
    ("GET", "/api/v1/districts"): Row(ALL, 200),
    ("POST", "/api/v1/districts"): only("admin", ok=422),
    ("PATCH", "/api/v1/districts/{code}"): only("admin", ok=404),
    # appeals: the unit's side (investigators publish and triage; supervisors read); a probe's ids are unknown
    ("POST", "/api/v1/cases/{case_id}/appeals"): only("investigator", ok=422),
    ("GET", "/api/v1/cases/{case_id}/appeals"): only("investigator", "supervisor", ok=404),
    ("GET", "/api/v1/appeals/{appeal_id}"): only("investigator", "supervisor", ok=404),
    ("POST", "/api/v1/appeals/{appeal_id}/close"): only("investigator", ok=404),
    ("GET", "/api/v1/appeals/{appeal}/submissions"): only("investigator", "supervisor", ok=404),
    ("GET", "/api/v1/submissions/{submission_id}"): only("investigator", "supervisor", ok=404),
    ("POST", "/api/v1/submissions/{submission_id}/accept"): only("investigator", ok=404),
    ("POST", "/api/v1/submissions/{submission_id}/decline"): only("investigator", ok=422),
    ("POST", "/api/v1/submissions/{submission_id}/download-link"): only("investigator", "supervisor", ok=422),
    ("POST", "/api/v1/submissions/{submission_id}/clips"): only("investigator", ok=422),
    ("GET", "/api/v1/submissions/{submission_id}/clips"): only("investigator", "supervisor", ok=404),
    ("POST", "/api/v1/submission-clips/{clip_id}/download-link"): only("investigator", "supervisor", ok=422),
    # appeals: the public side needs no account; an unknown address is a 404, an upload without its headers a 422
    ("POST", "/api/v1/appeals/{appeal}/submissions"): public(422),
    ("GET", "/a/{slug}"): public(404),
    ("GET", "/a/{slug}/qr.png"): public(404),
    ("GET", "/a/{slug}/qr.svg"): public(404),
    # pages (cookie sessions; bearer tokens do not open them)
    ("GET", "/login"): public(200),
    ("POST", "/login"): public(422),
    # the second step needs the pending cookie of a right password: without it, back to sign-in
    ("GET", "/login/code"): public(303),
    ("POST", "/login/code"): public(303),
    ("GET", "/login/enrol"): public(303),
    ("POST", "/login/enrol"): public(303),
    ("GET", "/lang/{code}"): public(303),
    ("POST", "/logout"): page(),
    ("GET", "/"): page(),
    ("GET", "/cases"): page(),
    ("POST", "/cases"): page(),
    ("GET", "/cases/{case_id}"): page(),
    ("POST", "/cases/{case_id}/requests"): page(),
    ("POST", "/cases/{case_id}/area-requests"): page(),
    ("GET", "/cases/{case_id}/cameras.json"): page(),
    ("GET", "/requests/{request_id}"): page(),
    ("GET", "/requests/{request_id}/status"): page(),
    ("POST", "/requests/{request_id}/cancel"): page(),
    ("POST", "/requests/{request_id}/resend-link"): page(),
    ("POST", "/requests/{request_id}/qr"): page(),
    ("POST", "/requests/{request_id}/close"): page(),
    ("GET", "/cases/{case_id}/appeals"): page(),
    ("POST", "/cases/{case_id}/appeals"): page(),
    ("GET", "/appeals/{appeal_id}"): page(),
    ("POST", "/appeals/{appeal_id}/close"): page(),
    ("POST", "/submissions/{submission_id}/view"): page(),
    ("POST", "/submissions/{submission_id}/accept"): page(),
    ("POST", "/submissions/{submission_id}/decline"): page(),
    ("POST", "/submissions/{submission_id}/clips"): page(),
    ("POST", "/submission-clips/{clip_id}/view"): page(),
    ("GET", "/stats"): page(),
    ("GET", "/stats.csv"): page(),
    ("GET", "/admin/districts"): page(),
    ("POST", "/admin/districts"): page(),
    ("POST", "/admin/districts/{code}"): page(),
    ("POST", "/requests/{request_id}/re-request"): page(),
    ("POST", "/clips/{clip_id}/download"): page(),
    ("GET", "/clips/{clip_id}/play"): page(),
    ("GET", "/cases/{case_id}/timeline"): page(),
    ("POST", "/cases/{case_id}/markers"): page(),
    ("GET", "/originals/{original_id}/play"): page(),
    ("POST", "/originals/{original_id}/download"): page(),
    ("POST", "/clips/{clip_id}/played"): page(),
    ("POST", "/originals/{original_id}/played"): page(),
    ("GET", "/previews/{preview_id}.jpg"): page(),
    ("POST", "/clips/{clip_id}/redactions"): page(),
    ("GET", "/redactions/{redaction_id}"): page(),
    ("GET", "/redactions/{redaction_id}/status"): page(),
    ("PUT", "/redactions/{redaction_id}/boxes"): page(),
    ("POST", "/redactions/{redaction_id}/render"): page(),
    ("GET", "/redactions/{redaction_id}/copy"): page(),
    ("GET", "/notifications"): page(),
    ("POST", "/notifications/read-all"): page(),
    ("POST", "/notifications/{notification_id}/read"): page(),
    ("GET", "/supervisor"): page(),
    ("GET", "/audit/custody"): page(),
    ("POST", "/audit/custody/verify"): page(),
    ("GET", "/audit/cases"): page(),
    ("GET", "/audit/cases/{case_id}"): page(),
    ("POST", "/audit/cases/{case_id}/export"): page(),
    ("GET", "/admin/users"): page(),
    ("POST", "/admin/users"): page(),
    ("GET", "/admin/units"): page(),
    ("POST", "/admin/units"): page(),
    ("GET", "/admin/cameras/import"): page(),
    ("POST", "/admin/cameras/import"): page(),
    ("GET", "/admin/cameras/import/template.csv"): page(),
    ("GET", "/admin/cameras/import/example.geojson"): page(),
    ("GET", "/admin/cameras/{camera_id}"): page(),
    ("POST", "/admin/cameras/{camera_id}"): page(),
    ("GET", "/admin/owners"): page(),
    ("POST", "/admin/owners"): page(),
    ("GET", "/admin/owners/{owner_id}"): page(),
    ("POST", "/admin/owners/{owner_id}"): page(),
    ("POST", "/admin/owners/{owner_id}/consents"): page(),
    ("GET", "/admin/users/{user_id}"): page(),
    ("POST", "/admin/users/{user_id}"): page(),
    ("POST", "/admin/users/{user_id}/deactivate"): page(),
    ("POST", "/admin/users/{user_id}/reactivate"): page(),
    ("POST", "/admin/users/{user_id}/password-reset"): page(),
    ("POST", "/admin/users/{user_id}/totp-reset"): page(),
    ("GET", "/reset-password/{token}"): public(410),
    ("POST", "/reset-password/{token}"): public(410),
    ("GET", "/unlock/{token}"): public(410),
    ("POST", "/unlock/{token}"): public(410),
    ("GET", "/respond/{token}"): by_link(404),
    ("POST", "/respond/{token}/approve"): by_link(404),
    ("POST", "/respond/{token}/deny"): by_link(404),
    ("GET", "/owner/requests"): page(),
    ("GET", "/owner/requests/{request_id}"): page(),
    ("POST", "/owner/requests/{request_id}/approve"): page(),
    ("POST", "/owner/requests/{request_id}/deny"): page(),
    ("PUT", "/owner/requests/{request_id}/original"): page(),
    # the account page's export in several files: tus behind the session cookie and the CSRF header, then "complete"
    ("POST", "/owner/uploads"): page(),
    ("PATCH", "/owner/uploads/{upload_id}"): page(),
    ("DELETE", "/owner/uploads/{upload_id}"): page(),
    ("POST", "/owner/requests/{request_id}/originals/complete"): page(),
    ("GET", "/owner/cameras"): page(),
    ("POST", "/owner/consents"): page(),
    ("POST", "/owner/consents/{consent_id}/withdraw"): page(),
    ("GET", "/owner/consents/{consent_id}/receipts/{seq}.pdf"): page(),
    ("GET", "/owner/ledger"): page(),
    ("GET", "/disclosure"): page(),
    ("GET", "/disclosure/cases/{case_id}"): page(),
    ("POST", "/disclosure/cases/{case_id}/packages"): page(),
    ("GET", "/disclosure/packages/{disclosure_id}/package.zip"): page(),
    ("GET", "/disclosure/packages/{disclosure_id}/receipt.pdf"): page(),
    ("POST", "/disclosure/packages/{disclosure_id}/acknowledge"): page(),
    ("GET", "/cases/{case_id}/grants"): page(),
    ("POST", "/cases/{case_id}/grants"): page(),
    ("POST", "/grants/{grant_id}/revoke"): page(),
    # custody
    ("GET", "/api/v1/custody"): Row(STAFF, 200),
    ("GET", "/api/v1/custody/checkpoint"): Row(STAFF, 200),
    ("GET", "/api/v1/custody/public-key"): public(200),
    ("POST", "/api/v1/custody/cosignatures"): public(422),
    ("GET", "/api/v1/custody/proof/inclusion"): Row(STAFF, 422),
    ("GET", "/api/v1/custody/proof/consistency"): Row(STAFF, 422),
    ("GET", "/api/v1/me/ledger"): only("owner", ok=200),
    ("POST", "/api/v1/custody/verify"): only("auditor", "admin", ok=200),
    # reports
    ("GET", "/api/v1/stats"): only("admin", "supervisor", "auditor", ok=422),
    ("GET", "/api/v1/cases/{case_id}/custody-report"): only(
        "investigator", "supervisor", "auditor", "prosecutor", ok=404
    ),
    # disclosure: grants by the case unit's supervisor or an admin; packages for the granted prosecutor only
    ("POST", "/api/v1/cases/{case_id}/grants"): only("supervisor", "admin", ok=422),
    ("GET", "/api/v1/cases/{case_id}/grants"): only("supervisor", "admin", ok=404),
    ("POST", "/api/v1/grants/{grant_id}/revoke"): only("supervisor", "admin", ok=404),
    ("GET", "/api/v1/cases/{case_id}/disclosure"): only("prosecutor", ok=404),
    ("POST", "/api/v1/cases/{case_id}/disclosures"): only("prosecutor", ok=404),
    ("GET", "/api/v1/disclosures/{disclosure_id}/package"): only("prosecutor", ok=404),
    ("GET", "/api/v1/disclosures/{disclosure_id}/receipt"): only("prosecutor", ok=404),
    ("POST", "/api/v1/disclosures/{disclosure_id}/acknowledge"): only("prosecutor", ok=422),
}


def expected_status(row: Row, principal: str) -> int:
    if principal == ANON:
        return row.anon
    if principal == LINK:
        return row.link if row.link is not None else row.anon
    return row.ok if principal in row.allowed else row.denied


@dataclass
class Principals:
    accounts: dict[str, Account] = field(default_factory=dict)
    link_token: str = ""

    def refresh(self, client: TestClient, role: str) -> None:
        """Sign the role in again (a logout probe revokes its tokens)."""
        self.accounts[role].token = sign_in(client, self.accounts[role].email)


def make_principals(client: TestClient) -> Principals:
    people = Principals()
    for role in ROLES:
        owner_id = _owner_record() if role == "owner" else None
        people.accounts[role] = account(client, Role(role), owner_id=owner_id)
    with session_factory()() as session, session.begin():
        _, people.link_token = links.issue(session, uuid.uuid4(), None)
    return people


def _owner_record() -> uuid.UUID:
    from app.registry import service as registry
    from app.registry.schemas import OwnerCreate

    with session_factory()() as session, session.begin():
        return registry.create_owner(session, OwnerCreate(name="Hộ kinh doanh Minh Anh", kind="business")).id


def probe_path(path: str, principal: str, people: Principals) -> tuple[str, dict[str, str]]:
    """The route's path with random ids (the link's own token for /respond routes) and the caller's headers."""

    def fill(match: re.Match[str]) -> str:
        if match.group(1) == "token":
            return people.link_token if principal == LINK else "x" * 43
        return str(uuid.uuid4())

    url = re.sub(r"\{(\w+)(?::\w+)?\}", fill, path)
    headers = {} if principal in (ANON, LINK) else dict(people.accounts[principal].headers)
    return url, headers
