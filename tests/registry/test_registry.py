from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth.models import Role
from app.core.db import session_factory
from app.registry import geo
from app.registry.models import Camera
from tests.factories import account, give_consent, make_camera, make_owner

# A point in District 1, Ho Chi Minh City, and offsets of about 100 m.
LAT, LON = 10.7769, 106.7009
DLAT = 100 / geo.METRES_PER_DEGREE_LAT


def _isolated_point() -> tuple[float, float]:
    """A fresh spot for each test, so cameras of other tests are out of the search radius."""
    seed = uuid.uuid4().int
    return 11.0 + (seed % 1000) / 100, 105.0 + (seed // 1000 % 1000) / 100


def test_geometry() -> None:
    assert abs(geo.distance_m(LAT, LON, LAT + DLAT, LON) - 100) < 0.01
    assert abs(geo.bearing_deg(LAT, LON, LAT + DLAT, LON) - 0) < 0.01
    assert abs(geo.bearing_deg(LAT, LON, LAT, LON + 0.001) - 90) < 0.01
    # facing north, 90° wide, 150 m: a point 100 m north is covered
    assert geo.covers_point(LAT, LON, 0, 90, 150, LAT + DLAT, LON) is True
    # facing away (south)
    assert geo.covers_point(LAT, LON, 180, 90, 150, LAT + DLAT, LON) is False
    # beyond range
    assert geo.covers_point(LAT, LON, 0, 90, 80, LAT + DLAT, LON) is False
    # unknown direction
    assert geo.covers_point(LAT, LON, None, 90, 150, LAT + DLAT, LON) is None


def test_coverage_search_flags_and_orders(client: TestClient) -> None:
    investigator = account(client, Role.investigator)
    lat, lon = _isolated_point()
    dlat = DLAT
    owner = make_owner()
    give_consent(owner)
    # bearing from each camera to the incident point decides covers_point
    facing = make_camera(
        owner, lat - dlat, lon, direction_deg=0, fov_deg=60, range_m=150, retention_days=30, label="facing the point"
    )
    away = make_camera(
        owner,
        lat - dlat,
        lon + 0.0001,
        direction_deg=180,
        fov_deg=60,
        range_m=150,
        retention_days=7,
        label="facing away",
    )
    # edge of the field of view: the point is exactly 30° off axis for a 60° lens
    edge_bearing = geo.bearing_deg(lat - dlat, lon - 0.0002, lat, lon)
    edge = make_camera(
        owner,
        lat - dlat,
        lon - 0.0002,
        direction_deg=(edge_bearing - 30) % 360,
        fov_deg=60,
        range_m=150,
        retention_days=14,
        label="edge of view",
    )
    short = make_camera(
        owner,
        lat - dlat,
        lon + 0.0002,
        direction_deg=0,
        fov_deg=90,
        range_m=50,
        retention_days=10,
        label="too short a range",
    )
    unknown = make_camera(owner, lat + dlat, lon, retention_days=21, label="direction unknown")
    far = make_camera(owner, lat + 10 * dlat, lon, retention_days=1, label="outside radius")
    at = datetime.now(UTC) - timedelta(days=8)
    response = client.get(
        "/api/v1/cameras",
        params={"lat": lat, "lon": lon, "radius_m": 500, "at": at.isoformat()},
        headers=investigator.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    items = {i["id"]: i for i in body["items"]}
    assert body["total"] == 5 and str(far) not in items
    assert items[str(facing)]["covers_point"] is True
    assert items[str(away)]["covers_point"] is False
    assert items[str(edge)]["covers_point"] is True
    assert items[str(short)]["covers_point"] is False
    assert items[str(unknown)]["covers_point"] is None
    assert abs(items[str(facing)]["distance_m"] - 100) < 1
    # soonest deadline first; 7-day recorder already overwrote footage from 8 days ago
    deadlines = [i["overwrite_deadline"] for i in body["items"]]
    assert deadlines == sorted(deadlines)
    assert [i["id"] for i in body["items"]][0] == str(away)
    assert items[str(away)]["overwritten"] is True and items[str(facing)]["overwritten"] is False
    assert all(i["consent"] == "valid" for i in body["items"])
    page = client.get(
        "/api/v1/cameras",
        params={"lat": lat, "lon": lon, "radius_m": 500, "at": at.isoformat(), "limit": 2, "offset": 2},
        headers=investigator.headers,
    ).json()
    assert [i["id"] for i in page["items"]] == [i["id"] for i in body["items"]][2:4] and page["total"] == 5


def test_consent_state_at_a_time(client: TestClient) -> None:
    admin = account(client, Role.admin)
    investigator = account(client, Role.investigator)
    lat, lon = _isolated_point()
    valid_owner, expired_owner, withdrawn_owner, none_owner = (make_owner() for _ in range(4))
    give_consent(valid_owner)
    give_consent(expired_owner, valid_until=datetime(2025, 6, 1, tzinfo=UTC))
    consent = give_consent(withdrawn_owner)
    for owner in (valid_owner, expired_owner, withdrawn_owner, none_owner):
        make_camera(owner, lat, lon, label=str(owner))
    withdrawn = client.post(
        f"/api/v1/consents/{consent}/withdraw", json={"reason": "Chủ nhà chuyển đi"}, headers=admin.headers
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_reason"] == "Chủ nhà chuyển đi"
    again = client.post(f"/api/v1/consents/{consent}/withdraw", json={"reason": "again"}, headers=admin.headers)
    assert again.status_code == 409
    now = datetime.now(UTC) + timedelta(seconds=1)
    hits = client.get(
        "/api/v1/cameras",
        params={"lat": lat, "lon": lon, "radius_m": 50, "at": now.isoformat()},
        headers=investigator.headers,
    ).json()["items"]
    state = {i["owner_id"]: i["consent"] for i in hits}
    assert state == {
        str(valid_owner): "valid",
        str(expired_owner): "expired",
        str(withdrawn_owner): "withdrawn",
        str(none_owner): "none",
    }
    # before the withdrawal the consent was valid
    earlier = client.get(
        "/api/v1/cameras",
        params={"lat": lat, "lon": lon, "radius_m": 50, "at": "2025-03-01T00:00:00+07:00"},
        headers=investigator.headers,
    ).json()["items"]
    assert {i["owner_id"]: i["consent"] for i in earlier}[str(withdrawn_owner)] == "valid"
    history = client.get(f"/api/v1/owners/{withdrawn_owner}/consents", headers=admin.headers).json()
    assert history["total"] == 1 and history["items"][0]["withdrawn_at"] is not None


def test_bad_input_names_the_field(client: TestClient) -> None:
    admin = account(client, Role.admin)
    owner = make_owner()
    cases = [
        ({"lat": 91}, "lat"),
        ({"retention_days": 0}, "retention_days"),
        ({"direction_deg": 360}, "direction_deg"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"owner_id": str(uuid.uuid4())}, "owner_id"),
    ]
    for change, field in cases:
        body = {"owner_id": str(owner), "label": "x", "lat": LAT, "lon": LON, "retention_days": 7, **change}
        response = client.post("/api/v1/cameras", json=body, headers=admin.headers)
        assert response.status_code == 422, (change, response.text)
        assert response.json()["errors"][0]["field"] == field
    half = client.get("/api/v1/cameras", params={"lat": LAT}, headers=admin.headers)
    assert half.status_code == 422 and half.json()["errors"][0]["field"] == "lon"


def test_owners_see_only_their_own(client: TestClient) -> None:
    owner_a, owner_b = make_owner("Chủ A"), make_owner("Chủ B")
    camera_a = make_camera(owner_a)
    consent_a = give_consent(owner_a)
    a = account(client, Role.owner, owner_id=owner_a)
    b = account(client, Role.owner, owner_id=owner_b)
    assert client.get(f"/api/v1/owners/{owner_a}", headers=a.headers).status_code == 200
    assert client.get(f"/api/v1/cameras/{camera_a}", headers=a.headers).status_code == 200
    for path in (f"/api/v1/owners/{owner_a}", f"/api/v1/cameras/{camera_a}", f"/api/v1/owners/{owner_a}/consents"):
        assert client.get(path, headers=b.headers).status_code == 404, path
    assert (
        client.post(
            f"/api/v1/consents/{consent_a}/withdraw", json={"reason": "not mine"}, headers=b.headers
        ).status_code
        == 404
    )
    assert client.patch(f"/api/v1/cameras/{camera_a}", json={"label": "x"}, headers=b.headers).status_code == 404
    listed = client.get("/api/v1/cameras", headers=b.headers).json()
    assert listed["total"] == 0
    # an owner registers and edits their own camera
    made = client.post(
        "/api/v1/cameras",
        headers=b.headers,
        json={"owner_id": str(owner_b), "label": "Cửa hàng", "lat": LAT, "lon": LON, "retention_days": 10},
    )
    assert made.status_code == 201
    assert (
        client.patch(f"/api/v1/cameras/{made.json()['id']}", json={"retention_days": 12}, headers=b.headers).json()[
            "retention_days"
        ]
        == 12
    )
    assert (
        client.post(
            "/api/v1/cameras",
            headers=b.headers,
            json={"owner_id": str(owner_a), "label": "x", "lat": LAT, "lon": LON, "retention_days": 10},
        ).status_code
        == 403
    )


def test_import_reports_each_bad_row_and_round_trips(client: TestClient) -> None:
    admin = account(client, Role.admin)
    owner = make_owner("Trường THCS Lê Lợi", "school")
    tag = uuid.uuid4().hex[:8]
    csv_body = (
        "external_id,owner_id,label,lat,lon,retention_days,direction_deg,fov_deg,range_m,address\n"
        f'{tag}-1,{owner},Cổng trường Lê Lợi,10.78,106.70,14,90,80,40,"12 Lê Lợi, Phường Bến Nghé"\n'
        f"{tag}-2,{owner},Sân sau,95.0,106.70,14,,,,\n"
        f"{tag}-3,{uuid.uuid4()},Chủ lạ,10.78,106.70,14,,,,\n"
        f"{tag}-4,{owner},Hết hạn lưu,10.78,106.70,0,,,,\n"
        f"{tag}-5,{owner},Hướng sai,10.78,106.70,14,400,,,\n"
        f",{owner},Thiếu mã,10.78,106.70,14,,,,\n"
        f"{tag}-7,{owner},Hành lang,10.7801,106.7001,30,,,,\n"
    )
    result = client.post(
        "/api/v1/cameras/import", content=csv_body.encode(), headers={**admin.headers, "Content-Type": "text/csv"}
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert (body["created"], body["updated"]) == (2, 0)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (3, "lat"),
        (4, "owner_id"),
        (5, "retention_days"),
        (6, "direction_deg"),
        (7, "external_id"),
    ]
    # the same file again updates instead of duplicating
    again = client.post("/api/v1/cameras/import", content=csv_body.encode(), headers=admin.headers).json()
    assert (again["created"], again["updated"]) == (0, 2)

    exported = client.get("/api/v1/cameras/export.geojson", headers=admin.headers)
    assert exported.status_code == 200
    collection = exported.json()
    mine = [f for f in collection["features"] if str(f["properties"]["external_id"] or "").startswith(tag)]
    assert {f["properties"]["label"] for f in mine} == {"Cổng trường Lê Lợi", "Hành lang"}
    subset = json.dumps({"type": "FeatureCollection", "features": mine}, ensure_ascii=False).encode()
    back = client.post(
        "/api/v1/cameras/import", content=subset, headers={**admin.headers, "Content-Type": "application/geo+json"}
    ).json()
    assert back == {"created": 0, "updated": 2, "owners_created": 0, "errors": []}
    after = client.get("/api/v1/cameras/export.geojson", headers=admin.headers).json()
    assert [f for f in after["features"] if str(f["properties"]["external_id"] or "").startswith(tag)] == mine
    garbage = client.post(
        "/api/v1/cameras/import", content=b'{"type": "FeatureCollection", "features": [', headers=admin.headers
    )
    assert garbage.status_code == 422 and garbage.json()["errors"][0]["field"] == "body"
    with session_factory()() as session:
        count = session.scalar(select(func.count()).select_from(Camera).where(Camera.external_id.like(f"{tag}%")))
        assert count == 2


def test_search_hit_is_the_camera_as_read_plus_the_search_fields(client: TestClient) -> None:
    """The search reads plain rows, not ORM objects: each hit still shows every field of the camera exactly as
    GET /cameras/{id} does, and the Session path (pages, area requests) builds the same hits."""
    from app.registry import service as registry
    from app.registry.schemas import CameraHit

    admin = account(client, Role.admin)
    investigator = account(client, Role.investigator)
    lat, lon = _isolated_point()
    owner, other = make_owner(), make_owner()
    give_consent(owner, valid_until=datetime(2025, 6, 1, tzinfo=UTC))
    described = make_camera(
        owner,
        lat + DLAT,
        lon,
        address="12 Lê Lợi, Phường Bến Thành",
        province="Hồ Chí Minh",
        direction_deg=180,
        fov_deg=75.5,
        range_m=120,
        recorder_make="Hikvision",
        recorder_model="DS-7604",
        recorder_firmware="4.1",
        external_id=f"ext-{uuid.uuid4()}",
        last_verified_at=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        timezone="Asia/Bangkok",
    )
    bare = make_camera(owner, lat, lon + 0.0005, retention_days=7, indoor=True)
    # a consent for one camera applies to that camera only
    elsewhere = make_camera(other, lat - DLAT, lon, retention_days=30)
    give_consent(other, camera_id=elsewhere)
    uncovered = make_camera(other, lat - 2 * DLAT, lon, retention_days=30)
    at = "2025-03-01T00:00:00+07:00"
    body = client.get(
        "/api/v1/cameras",
        params={"lat": lat, "lon": lon, "radius_m": 500, "at": at},
        headers=investigator.headers,
    ).json()
    assert body["total"] == 4
    assert [i["id"] for i in body["items"]] == [str(bare), str(described), str(elsewhere), str(uncovered)]
    extra = {"distance_m", "covers_point", "consent", "overwrite_deadline", "overwritten"}
    for item in body["items"]:
        camera = client.get(f"/api/v1/cameras/{item['id']}", headers=admin.headers).json()
        assert {k: v for k, v in item.items() if k not in extra} == camera
        assert list(item)[: len(camera)] == list(camera)  # same fields, same order
    hits = {i["id"]: i for i in body["items"]}
    assert hits[str(described)]["covers_point"] is True and hits[str(bare)]["covers_point"] is None
    assert hits[str(described)]["consent"] == "valid" and hits[str(elsewhere)]["consent"] == "valid"
    assert hits[str(uncovered)]["consent"] == "none"
    assert hits[str(bare)]["overwrite_deadline"] == "2025-03-08T00:00:00+07:00"
    assert hits[str(bare)]["overwritten"] is True
    later = client.get(
        "/api/v1/cameras",
        params={"lat": lat, "lon": lon, "radius_m": 500, "at": "2025-07-01T00:00:00Z"},
        headers=investigator.headers,
    ).json()
    assert {i["id"]: i["consent"] for i in later["items"]}[str(described)] == "expired"
    with session_factory()() as session:
        page, total = registry.search(session, lat, lon, 500, datetime.fromisoformat(at), 50, 0)
    assert total == 4
    assert [CameraHit.model_validate(h).model_dump(mode="json") for h in page] == body["items"]
