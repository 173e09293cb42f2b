"""Every route × every principal has an expected status, and a route added without a row fails here.

Probes use random ids and empty bodies, so an allowed principal gets the status of "object not found" or
"invalid body", a role outside the route's policy gets 403, and an anonymous caller 401. Object-scope rules
(owner A vs owner B, unit X vs unit Y) are tested per domain with real objects.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.authz import MATRIX, PRINCIPALS, Principals, expected_status, make_principals, probe_path

SKIPPED_PATHS = {"/api/v1/openapi.json", "/api/v1/docs", "/docs/oauth2-redirect"}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, nested routers included."""
    found = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for ctx in contexts:
            path = getattr(ctx, "path", None)
            if path is None or path in SKIPPED_PATHS or path.startswith("/static"):
                continue
            for method in sorted(getattr(ctx, "methods", None) or ()):
                if method != "HEAD":
                    found.append((method, path))
    return sorted(found)


@pytest.fixture(scope="module")
def principals(configured: str) -> Iterator[tuple[TestClient, Principals]]:
    from app.core.config import get_settings, override_settings
    from app.main import create_app

    # The matrix probes authorisation: every route many times from one address, past the per-minute rate limit of
    # the anonymous endpoints (tested on its own in test_sign_in_limits), which is lifted while it runs.
    limit = get_settings().rate_limit_per_minute
    override_settings(rate_limit_per_minute=1_000_000)
    try:
        with TestClient(create_app(), client=("198.51.100.20", 40000)) as client:
            yield client, make_principals(client)
    finally:
        override_settings(rate_limit_per_minute=limit)


def test_every_route_has_a_matrix_row(principals: tuple[TestClient, Principals]) -> None:
    client, _ = principals
    routes = set(_routes(client))
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"routes without an authz matrix row: {missing}"
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


def test_every_route_answers_every_principal_as_the_matrix_says(principals: tuple[TestClient, Principals]) -> None:
    client, people = principals
    mismatches = []
    for method, path in _routes(client):
        for principal in PRINCIPALS:
            url, headers = probe_path(path, principal, people)
            kwargs: dict[str, object] = {"headers": headers, "follow_redirects": False}
            if path.startswith("/api/v1/uploads"):
                headers["Tus-Resumable"] = "1.0.0"  # past the protocol check, so the authorisation is probed
            if method in {"POST", "PUT", "PATCH"}:
                if path.endswith("/original"):
                    kwargs["content"] = b"not a video"
                    headers["X-Filename"] = "x.mp4"
                else:
                    kwargs["json"] = {}
            got = client.request(method, url, **kwargs).status_code  # type: ignore[arg-type]
            want = expected_status(MATRIX[(method, path)], principal)
            if path == "/api/v1/auth/logout" and principal in people.accounts:
                people.refresh(client, principal)
            if got != want:
                mismatches.append(f"{method} {path} as {principal}: got {got}, expected {want}")
    assert not mismatches, "\n".join(mismatches)
