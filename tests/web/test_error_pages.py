"""A browser that asks for HTML gets errors as pages, in its language and with the API's status; API clients
and the pages' own JSON requests keep problem+json."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from app.auth.models import Role
from tests.factories import PASSWORD, make_unit, make_user, web_login

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_page_errors_render_as_pages_in_the_readers_language(client: TestClient) -> None:
    _, email = make_user(Role.investigator, unit_id=make_unit())
    web_login(client, data={"email": email, "password": PASSWORD})

    missing = client.get(f"/requests/{uuid.uuid4()}", headers={**HTML, "Accept-Language": "vi"})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert 'data-status="404"' in missing.text and "Không tìm thấy" in missing.text
    assert "nằm ngoài phạm vi bạn được xem" in missing.text and 'href="/cases"' in missing.text  # nav kept

    client.cookies.set("lang", "en")
    forbidden = client.get("/admin/users", headers=HTML)
    assert forbidden.status_code == 403 and 'data-status="403"' in forbidden.text
    assert "Your role may not open this page or do this." in forbidden.text

    nowhere = client.get("/no-such-page", headers=HTML)
    assert nowhere.status_code == 404 and 'data-status="404"' in nowhere.text


def test_api_clients_and_json_requests_keep_problem_json(client: TestClient) -> None:
    _, email = make_user(Role.investigator, unit_id=make_unit())
    web_login(client, data={"email": email, "password": PASSWORD})
    from_script = client.get(f"/requests/{uuid.uuid4()}", headers={"Accept": "application/json"})
    assert from_script.status_code == 404
    assert from_script.headers["content-type"] == "application/problem+json"
    api = client.get(f"/api/v1/requests/{uuid.uuid4()}", headers=HTML)
    assert api.status_code == 401 and api.headers["content-type"] == "application/problem+json"


def test_sign_in_returns_to_the_page_asked_for_and_only_to_this_site(client: TestClient) -> None:
    _, email = make_user(Role.investigator, unit_id=make_unit())
    sent = client.get("/cases", follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/login?next=/cases"
    assert 'name="next" value="/cases"' in client.get("/login?next=/cases").text
    back = web_login(client, data={"email": email, "password": PASSWORD, "next": "/cases"}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/cases"
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\\\evil.example"):
        away = web_login(client, data={"email": email, "password": PASSWORD, "next": elsewhere}, follow_redirects=False)
        assert away.headers["location"] == "/", elsewhere
