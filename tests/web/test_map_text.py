"""The case map in a real browser shows what owners and imports wrote as text, never as HTML: a camera label
that is markup becomes no element and loads nothing (it would tell an owner when and from where police view their
camera). Chromium loads the real pages, scripts and JSON of the app, served through the test client."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Route, expect, sync_playwright

from app.auth.models import Role
from app.core.config import get_settings, override_settings
from tests.factories import PASSWORD, give_consent, make_camera, make_owner, make_unit, make_user, web_login
from tests.web.browser import CHROMIUM, DESKTOP

HOSTILE = '<img src="http://127.0.0.1:9/beacon.png" id="beacon">'
ORIGIN = "http://footage.test"


@pytest.fixture()
def tiles_configured(configured: str) -> Iterator[None]:
    before = get_settings()
    override_settings(map_tile_url="http://tiles.test/{z}/{x}/{y}.png")
    try:
        yield
    finally:
        override_settings(**before.model_dump())


def test_camera_labels_are_text_in_the_map_tooltips_and_the_tiles_are_attributed(
    client: TestClient, tiles_configured: None
) -> None:
    # A point of this test's own: other tests put cameras around the usual city centre.
    lat, lon = 9.5 + random.random(), 105.5 + random.random()
    _, email = make_user(Role.investigator, unit_id=make_unit())
    web_login(client, data={"email": email, "password": PASSWORD})
    token = client.get("/cases").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    start = (datetime.now(UTC) - timedelta(hours=3)).astimezone().strftime("%Y-%m-%dT%H:%M:%S")
    end = (datetime.fromisoformat(start) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S")
    made = client.post(
        "/cases",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "number": f"VV-{uuid.uuid4().hex[:6]}",
            "title": "Trộm",
            "offence": "theft",
            "incident_lat": f"{lat:.6f}",
            "incident_lon": f"{lon:.6f}",
            "incident_start": start,
            "incident_end": end,
        },
    )
    assert made.status_code == 303, made.text
    owner = make_owner()
    give_consent(owner)
    make_camera(owner, lat + 0.0001, lon + 0.0001, label=HOSTILE)

    fetched: list[str] = []

    def through_the_app(route: Route) -> None:
        url = route.request.url
        fetched.append(url)
        if not url.startswith(ORIGIN):
            route.fulfill(status=404, body=b"")
            return
        answer = client.get(url[len(ORIGIN) :])
        route.fulfill(status=answer.status_code, headers=dict(answer.headers), body=answer.content)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=DESKTOP)
            page.route("**/*", through_the_app)
            page.goto(f"{ORIGIN}{made.headers['location']}")
            expect(page.locator("#camera-list .camera-row")).to_have_count(1)
            markers = page.locator("#map path.leaflet-interactive")
            expect(markers).to_have_count(2)  # the incident and the camera
            markers.nth(1).hover(force=True)
            tooltip = page.locator(".leaflet-tooltip")
            expect(tooltip).to_contain_text(HOSTILE)
            expect(page.locator("#beacon")).to_have_count(0)
            expect(page.locator(".leaflet-control-attribution")).to_contain_text("© OpenStreetMap contributors")
        finally:
            browser.close()
    assert not [url for url in fetched if "127.0.0.1:9" in url]
