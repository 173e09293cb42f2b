"""Which closed cases count as clarified with footage: the close results of a case's requests where the
investigator gave any (a request closed "useful" clarifies even when the case's close said no footage
contributed; results all "not_useful" or "no_footage" do not, unless a resident's contribution was accepted into
the case), else the case's own close. The statistics' `cases_clarified_with_footage` counts the same cases."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from app.appeals.models import Appeal, Submission
from app.auth.models import Role
from app.core.db import session_factory
from tests.factories import account, make_camera, make_owner, make_unit, make_user
from tests.reports.test_outcomes import _case, _request, at

PERIOD = {"from": "2033-05-01T00:00:00+07:00", "to": "2033-06-01T00:00:00+07:00"}


def _contribution(case_id: uuid.UUID, unit: uuid.UUID, user: uuid.UUID) -> tuple[Appeal, Submission]:
    appeal = Appeal(
        slug=uuid.uuid4().hex[:10],
        case_id=case_id,
        unit_id=unit,
        title="Kêu gọi",
        text="Kêu gọi nhân chứng",
        lat=19.8,
        lon=105.77,
        radius_m=300,
        window_start=at("2033-05-01"),
        window_end=at("2033-05-01", 11),
        timezone="Asia/Ho_Chi_Minh",
        closes_at=at("2033-05-20"),
        created_by=user,
        created_at=at("2033-05-01"),
    )
    submission = Submission(
        appeal_id=appeal.id,
        case_id=case_id,
        unit_id=unit,
        status="accepted",
        kind="photo",
        object_key=f"appeals/{uuid.uuid4()}/a.png",
        version_id=uuid.uuid4().hex,
        sha256="c" * 64,
        size=10,
        filename="a.png",
        content_type="image/png",
        media={},
        attestation_version="v1",
        received_at=at("2033-05-02"),
        retention_mode="COMPLIANCE",
        retain_until=at("2033-06-02"),
        decided_at=at("2033-05-03"),
        decided_by="seed",
    )
    return appeal, submission


def test_clarified_cases_follow_the_close_results(isolated_client: TestClient) -> None:
    client = isolated_client
    unit = make_unit(name="Công an huyện Hoằng Hóa")
    user, _ = make_user(Role.investigator, unit_id=unit)
    owner = make_owner("Cửa hàng Hoằng Hóa", "business")
    camera = make_camera(owner, 19.85, 105.85)  # no district: its requests count in their case's
    with session_factory()() as session, session.begin():
        # each in a district of its own, so the figures by district tell the cases apart
        useful = _case(unit, user, "Useful", closed=at("2033-05-10"), footage=False)
        not_useful = _case(unit, user, "Not useful", closed=at("2033-05-11"), footage=True)
        contributed = _case(unit, user, "Contributed", closed=at("2033-05-12"), footage=True)
        unjudged = _case(unit, user, "Unjudged", closed=at("2033-05-13"), footage=True)
        session.add_all([useful, not_useful, contributed, unjudged])
        session.flush()
        for case, result in ((useful, "useful"), (not_useful, "not_useful"), (contributed, "no_footage")):
            request = _request(case, camera, owner, user, at("2033-05-02"), "closed", 1)
            request.close_result = result
            session.add(request)
        session.add(_request(unjudged, camera, owner, user, at("2033-05-02"), "cancelled", None))
        appeal, submission = _contribution(contributed.id, unit, user)
        session.add(appeal)
        session.flush()
        submission.appeal_id = appeal.id
        session.add(submission)

    auditor = account(client, Role.auditor)
    body = client.get("/api/v1/stats", params={**PERIOD, "unit_id": str(unit)}, headers=auditor.headers).json()
    total = body["outcomes"]["totals"]
    # useful (a request closed useful), contributed (a resident's accepted file), unjudged (the case's close);
    # not the case whose only request was closed not useful, though its close said footage contributed
    assert (total["cases_closed"], total["cases_closed_with_footage"]) == (4, 3)
    assert body["outcomes"]["headline"]["cases_clarified"] == 3
    assert body["cases_closed"] == 4 and body["cases_clarified_with_footage"] == 3
    by_district = {d["key"]: d["cases_closed_with_footage"] for d in body["outcomes"]["by"]["district"]}
    assert by_district == {"Useful": 1, "Not useful": 0, "Contributed": 1, "Unjudged": 1}
