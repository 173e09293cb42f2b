from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from app.core.errors import Conflict, NotFound, RuleViolation, install_error_handlers


class Thing(BaseModel):
    name: str = Field(min_length=1)
    size: int = Field(gt=0)


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    def make(thing: Thing) -> Thing:
        if thing.name == "taken":
            raise Conflict("a thing named 'taken' exists", extra={"existing_id": "x"})
        if thing.name == "odd":
            raise RuleViolation("size", "must be even for odd things")
        return thing

    @app.get("/things/{thing_id}")
    def read(thing_id: int) -> None:
        raise NotFound(f"thing {thing_id} not found")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    return app


def test_validation_errors_name_each_field() -> None:
    response = TestClient(_app()).post("/things", json={"name": "", "size": "x"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422 and body["type"].endswith("/validation") and body["title"]
    assert {e["field"] for e in body["errors"]} == {"name", "size"}


def test_domain_errors_map_to_problem_json() -> None:
    client = TestClient(_app())
    conflict = client.post("/things", json={"name": "taken", "size": 2})
    assert conflict.status_code == 409 and conflict.json()["existing_id"] == "x"
    rule = client.post("/things", json={"name": "odd", "size": 3}).json()
    assert rule["status"] == 422 and rule["errors"] == [{"field": "size", "message": "must be even for odd things"}]
    missing = client.get("/things/7")
    assert missing.status_code == 404 and missing.json()["detail"] == "thing 7 not found"
    assert client.get("/nowhere").json()["status"] == 404


def test_unexpected_errors_do_not_leak_internals() -> None:
    response = TestClient(_app(), raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert "secret" not in response.text


def test_extra_members_never_overwrite_the_problem_s_own() -> None:
    import json

    from app.core.errors import problem

    body = json.loads(problem(409, "Conflict", "the case is closed", slug="conflict", extra={"status": "closed"}).body)
    assert body["status"] == 409 and body["current_status"] == "closed"


def test_attachment_names_outside_latin_1_are_sent_as_rfc_5987() -> None:
    from app.core.http import content_disposition

    header = content_disposition("custody-report-HS-2026/𪎫-Bến Nghé.pdf")
    header.encode("latin-1")  # a valid header value
    assert 'filename="custody-report-HS-2026/_-B_n Ngh_.pdf"' in header
    assert "filename*=UTF-8''custody-report-HS-2026%2F%F0%AA%8E%AB-B%E1%BA%BFn%20Ngh%C3%A9.pdf" in header
