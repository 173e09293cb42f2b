from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.config import get_settings


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/healthz", "/api/v1/me", "/nowhere"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"


def test_cors_is_off_unless_configured(client: TestClient) -> None:
    preflight = client.options(
        "/api/v1/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_oversized_bodies_are_refused_before_reading(client: TestClient) -> None:
    limit = get_settings().max_request_body_bytes
    response = client.post("/api/v1/units", content=b"x" * (limit + 1), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert str(limit) in response.json()["detail"]
