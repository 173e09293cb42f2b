"""Outcomes counted on a seeded province (two units of Thanh Hóa, two months of 2031), every figure computed by
hand beforehand: totals, by district (a camera without one counts in its case's), by unit and by month, the
headline, the district filter, a supervisor's own-unit view and the CSV."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from app.appeals.models import Appeal, Submission
from app.auth.models import Role
from app.cases.models import Case
from app.core.db import session_factory
from app.extractions.models import ExtractionRequest
from app.footage.models import Original
from tests.factories import account, make_camera, make_owner, make_unit, make_user

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
CITY, QX = "Thành phố Thanh Hóa", "Huyện Quảng Xương"


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=LOCAL)


def _case(unit: UUID, user: UUID, district: str, closed: datetime | None = None, footage: bool = False) -> Case:
    opened = at("2031-01-01")
    return Case(
        number=f"TH-{uuid.uuid4().hex[:8]}",
        title="Vụ việc thống kê",
        offence="theft",
        incident_lat=19.8,
        incident_lon=105.77,
        incident_start=opened,
        incident_end=opened + timedelta(hours=1),
        unit_id=unit,
        lead_investigator_id=user,
        status="closed" if closed else "open",
        outcome="clarified" if closed else None,
        footage_contributed=footage if closed else None,
        created_by=user,
        created_at=opened,
        updated_at=opened,
        closed_at=closed,
        closed_by=user if closed else None,
        district=district,
    )


def _request(
    case: Case, camera: UUID, owner: UUID, user: UUID, created: datetime, status: str, answered_after_h: float | None
) -> ExtractionRequest:
    return ExtractionRequest(
        case_id=case.id,
        camera_id=camera,
        unit_id=case.unit_id,
        owner_id=owner,
        window_start=at("2031-01-01"),
        window_end=at("2031-01-01") + timedelta(minutes=10),
        camera_timezone="Asia/Ho_Chi_Minh",
        purpose="thống kê",
        legal_basis="Điều 88",
        overwrite_deadline=created + timedelta(days=10),
        status=status,
        created_by=user,
        created_at=created,
        updated_at=created,
        responded_at=created + timedelta(hours=answered_after_h) if answered_after_h is not None else None,
    )


def _original(request: ExtractionRequest, received: datetime) -> Original:
    return Original(
        request_id=request.id,
        object_key=f"originals/{request.id}/seed.mp4",
        version_id=uuid.uuid4().hex,
        size=1000,
        sha256="a" * 64,
        filename="seed.mp4",
        media={},
        recording_start_recorder=received,
        recording_start_stated=received.isoformat(),
        uploaded_by="seed",
        received_at=received,
        retention_mode="COMPLIANCE",
        retain_until=received + timedelta(days=365),
    )


def seed() -> dict[str, Any]:
    city_unit, qx_unit = make_unit(name="Công an thành phố Thanh Hóa"), make_unit(name="Công an huyện Quảng Xương")
    city_user, _ = make_user(Role.investigator, unit_id=city_unit)
    qx_user, _ = make_user(Role.investigator, unit_id=qx_unit)
    owner = make_owner("Cửa hàng Minh Anh", "business")
    cam_city = make_camera(owner, 19.80, 105.77, district=CITY)
    cam_qx = make_camera(owner, 19.70, 105.80, district=QX)
    cam_none = make_camera(owner, 19.81, 105.78)  # no district: counts in its case's
    with session_factory()() as session, session.begin():
        k1 = _case(city_unit, city_user, CITY, closed=at("2031-01-20"), footage=True)
        k2 = _case(qx_unit, qx_user, QX, closed=at("2031-02-25"), footage=False)
        k3 = _case(city_unit, city_user, CITY)
        session.add_all([k1, k2, k3])
        session.flush()
        r1 = _request(k1, cam_city, owner, city_user, at("2031-01-05"), "footage_received", 2)
        r2 = _request(k1, cam_city, owner, city_user, at("2031-01-10"), "denied", 4)
        r3 = _request(k3, cam_none, owner, city_user, at("2031-02-03"), "expired", None)
        r4 = _request(k2, cam_qx, owner, qx_user, at("2031-02-10"), "clip_ready", 10)
        r5 = _request(k2, cam_qx, owner, qx_user, at("2031-02-20"), "cancelled", None)
        r6 = _request(k2, cam_qx, owner, qx_user, at("2030-12-31"), "approved", 1)  # before the period
        session.add_all([r1, r2, r3, r4, r5, r6])
        session.flush()
        session.add_all(
            [_original(r1, at("2031-01-06")), _original(r4, at("2031-02-11")), _original(r4, at("2031-02-11", 11))]
        )  # two files of one export: one delivery
        appeal = Appeal(
            slug=uuid.uuid4().hex[:10],
            case_id=k3.id,
            unit_id=city_unit,
            title="Kêu gọi",
            text="Kêu gọi nhân chứng",
            lat=19.8,
            lon=105.77,
            radius_m=300,
            window_start=at("2031-02-01"),
            window_end=at("2031-02-01", 11),
            timezone="Asia/Ho_Chi_Minh",
            closes_at=at("2031-03-01"),
            created_by=city_user,
            created_at=at("2031-02-01"),
        )
        session.add(appeal)
        session.flush()
        for status, decided in (("accepted", at("2031-02-05")), ("quarantined", None), ("accepted", at("2031-03-02"))):
            session.add(
                Submission(
                    appeal_id=appeal.id,
                    case_id=k3.id,
                    unit_id=city_unit,
                    status=status,
                    kind="photo",
                    object_key=f"appeals/{appeal.id}/{uuid.uuid4()}/a.png",
                    version_id=uuid.uuid4().hex,
                    sha256="b" * 64,
                    size=10,
                    filename="a.png",
                    content_type="image/png",
                    media={},
                    attestation_version="v1",
                    received_at=at("2031-02-04"),
                    retention_mode="COMPLIANCE",
                    retain_until=at("2031-03-04"),
                    decided_at=decided,
                    decided_by="seed" if decided else None,
                )
            )
    return {"city_unit": city_unit, "qx_unit": qx_unit}


PERIOD = {"from": "2031-01-01T00:00:00+07:00", "to": "2031-03-01T00:00:00+07:00"}


def test_outcomes_reproduce_the_hand_computed_figures(isolated_client: TestClient) -> None:
    client = isolated_client
    seeded = seed()
    auditor = account(client, Role.auditor)
    body = client.get("/api/v1/stats", params=PERIOD, headers=auditor.headers).json()
    counted = body["outcomes"]
    total = counted["totals"]
    assert (total["requested"], total["delivered"], total["lost_to_overwrite"]) == (5, 2, 1)
    assert total["approval_rate"] == 0.667  # r1 and r4 of the three answered (r2 denied; r3, r5 unanswered)
    assert total["median_owner_response_hours"] == 4.0  # of 2, 4 and 10 hours
    assert (total["cases_closed"], total["cases_closed_with_footage"], total["share_clarified"]) == (2, 1, 0.5)
    assert total["contributions_accepted"] == 1  # the quarantined one and the one accepted after the period not
    assert body["headline"] == {
        "extractions": 2,
        "contributions_accepted": 1,
        "cases_clarified": 1,
        "cases_closed": 2,
        "share_of_closed": 0.5,
    }
    districts = {row["label"]: row for row in counted["by"]["district"]}
    assert set(districts) == {CITY, QX}
    city, qx = districts[CITY], districts[QX]
    assert (city["requested"], city["delivered"], city["approval_rate"], city["median_owner_response_hours"]) == (
        3,
        1,
        0.5,
        3.0,
    )
    assert (city["lost_to_overwrite"], city["cases_closed"], city["cases_closed_with_footage"]) == (1, 1, 1)
    assert city["contributions_accepted"] == 1
    assert (qx["requested"], qx["delivered"], qx["approval_rate"], qx["median_owner_response_hours"]) == (
        2,
        1,
        1.0,
        10.0,
    )
    assert (qx["cases_closed"], qx["cases_closed_with_footage"], qx["share_clarified"]) == (1, 0, 0.0)
    months = {row["label"]: row for row in counted["by"]["month"]}
    assert set(months) == {"2031-01", "2031-02"}
    jan, feb = months["2031-01"], months["2031-02"]
    assert (jan["requested"], jan["delivered"], jan["approval_rate"], jan["cases_closed_with_footage"]) == (
        2,
        1,
        0.5,
        1,
    )
    assert (feb["requested"], feb["lost_to_overwrite"], feb["cases_closed"], feb["contributions_accepted"]) == (
        3,
        1,
        1,
        1,
    )
    units = {row["label"]: row for row in counted["by"]["unit"]}
    assert (
        units["Công an thành phố Thanh Hóa"]["requested"] == 3 and units["Công an huyện Quảng Xương"]["requested"] == 2
    )

    narrowed = client.get("/api/v1/stats", params={**PERIOD, "district": QX}, headers=auditor.headers).json()
    assert narrowed["outcomes"]["totals"]["requested"] == 2 and narrowed["headline"]["cases_clarified"] == 0

    supervisor = account(client, Role.supervisor, unit_id=seeded["city_unit"])
    own = client.get("/api/v1/stats", params=PERIOD, headers=supervisor.headers).json()
    assert own["headline"] == {
        "extractions": 1,
        "contributions_accepted": 1,
        "cases_clarified": 1,
        "cases_closed": 1,
        "share_of_closed": 1.0,
    }

    csv_text = client.get(
        "/api/v1/stats", params={**PERIOD, "format": "csv", "table": "outcomes"}, headers=auditor.headers
    ).content.decode("utf-8-sig")
    lines = csv_text.splitlines()
    assert lines[0] == (
        "from,to,grouping,group,requested,delivered,approval_rate,median_owner_response_hours,lost_to_overwrite,"
        "cases_closed,cases_closed_with_footage,share_clarified,contributions_accepted"
    )
    assert any(line.endswith(f"district,{QX},2,1,1.0,10.0,0,1,0,0.0,0") for line in lines)
