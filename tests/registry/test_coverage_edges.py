"""The coverage search finds cameras across the antimeridian and around the poles, where a plain longitude box
would leave them out."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.auth.models import Role
from app.registry import geo
from tests.factories import account, give_consent, make_camera, make_owner


@pytest.mark.parametrize(
    ("point", "camera"),
    [
        ((-16.5, 179.9995), (-16.5, -179.9995)),  # Fiji: the incident west of the antimeridian, the camera east
        ((-16.5, -179.9995), (-16.5, 179.9995)),
        ((89.9995, 10.0), (89.9995, -170.0)),  # both near the North Pole, on opposite meridians
        ((-89.9999, 0.0), (-89.9999, 90.0)),
    ],
)
def test_cameras_across_the_antimeridian_and_near_the_poles_are_found(
    client: TestClient, point: tuple[float, float], camera: tuple[float, float]
) -> None:
    investigator = account(client, Role.investigator)
    owner = make_owner()
    give_consent(owner)
    made = make_camera(owner, *camera, label="bên kia kinh tuyến", retention_days=30)
    distance = geo.distance_m(*point, *camera)
    assert distance < 200
    found = client.get(
        "/api/v1/cameras",
        headers=investigator.headers,
        params={"lat": point[0], "lon": point[1], "radius_m": 300},
    )
    assert found.status_code == 200, found.text
    hits = {item["id"]: item for item in found.json()["items"]}
    assert str(made) in hits
    assert hits[str(made)]["distance_m"] == pytest.approx(distance, abs=0.5)


def test_the_bounding_box_splits_at_the_antimeridian_and_opens_at_the_poles() -> None:
    _, _, first, second = geo.bounding_box(-16.5, 179.9995, 300)
    assert first[0] > 179.99 and first[1] == 180.0 and second[0] == -180.0 and second[1] < -179.99
    assert geo.bounding_box(89.9999, 0.0, 300)[2:] == (geo.ALL_LONGITUDES, geo.NO_LONGITUDES)
    assert geo.bounding_box(10.77, 106.7, 300)[3] == geo.NO_LONGITUDES
