"""Camera imports are bounded: deep GeoJSON is refused with a 4xx before it is built, and every malformed CSV row
is reported with its number instead of failing the whole file."""

from __future__ import annotations

import json
import resource
import uuid

from fastapi.testclient import TestClient

from app.auth.models import Role
from app.registry.importer import MAX_GEOJSON_DEPTH
from tests.factories import account, make_owner


def test_a_deeply_nested_geojson_is_refused_naming_the_limit_in_bounded_memory(client: TestClient) -> None:
    admin = account(client, Role.admin)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for body in (
        b'{"type":"FeatureCollection","features":[' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
        b'{"type":"FeatureCollection","features":[{"properties":' + b'{"a":' * 100_000,
        b'{"deep":' + b"[" * 100_000,
    ):
        refused = client.post(
            "/api/v1/cameras/import", content=body, headers={**admin.headers, "Content-Type": "application/geo+json"}
        )
        assert refused.status_code == 422, refused.text
        assert f"{MAX_GEOJSON_DEPTH} levels" in refused.json()["detail"] + str(refused.json().get("errors"))
    # ru_maxrss is in KiB; the unbounded parser grew by gigabytes on the first of these bodies.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024


def test_a_geojson_within_the_depth_still_imports(client: TestClient) -> None:
    admin = account(client, Role.admin)
    owner = make_owner()
    tag = uuid.uuid4().hex[:8]
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [106.70, 10.78]},
        "properties": {"external_id": tag, "owner_id": str(owner), "label": "Cổng", "retention_days": 14},
    }
    body = json.dumps({"type": "FeatureCollection", "features": [feature]})
    result = client.post("/api/v1/cameras/import", content=body.encode(), headers=admin.headers)
    assert result.status_code == 200, result.text
    assert result.json()["created"] == 1


def test_malformed_csv_rows_are_reported_one_by_one_and_empty_cells_take_defaults(client: TestClient) -> None:
    admin = account(client, Role.admin)
    owner = make_owner()
    tag = uuid.uuid4().hex[:8]
    body = (
        "external_id,owner_id,label,lat,lon,retention_days,timezone\n"
        f"{tag}-1,{owner},Cổng,10.78,106.70,14,\n"  # empty time zone: the default applies
        f"{tag}-2,{owner},Ngắn,10.78\n"  # shorter than the header
        f"{tag}-3,{owner},Dài,10.78,106.70,14,Asia/Ho_Chi_Minh,thừa\n"  # longer than the header
        f"{tag}-4,{owner},Sân,10.7801,106.7001,30,Asia/Bangkok\n"
        f'{tag}-5,{owner},"Không đóng ngoặc,10.78,106.70,14,\n'  # unterminated quote to the end of the file
    )
    result = client.post(
        "/api/v1/cameras/import", content=body.encode(), headers={**admin.headers, "Content-Type": "text/csv"}
    )
    assert result.status_code == 200, result.text
    outcome = result.json()
    assert outcome["created"] == 2
    assert [(e["row"], e["field"]) for e in outcome["errors"]] == [(3, "row"), (4, "row"), (6, "row")]
    cameras = client.get("/api/v1/cameras/export.geojson", headers=admin.headers).json()["features"]
    zones = {f["properties"]["external_id"]: f["properties"]["timezone"] for f in cameras}
    assert zones[f"{tag}-1"] == "Asia/Ho_Chi_Minh" and zones[f"{tag}-4"] == "Asia/Bangkok"


def test_a_csv_header_with_too_many_columns_is_refused(client: TestClient) -> None:
    admin = account(client, Role.admin)
    body = ",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join("x" for _ in range(5000)) + "\n"
    refused = client.post(
        "/api/v1/cameras/import", content=body.encode(), headers={**admin.headers, "Content-Type": "text/csv"}
    )
    assert refused.status_code == 422 and "columns" in refused.json()["detail"]
