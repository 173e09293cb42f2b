"""The investigator's screens against the real database and S3: refusals in Vietnamese, the language remembered per
user, the place pasted with decimal commas, the camera chosen from a paged list by name, the request page by
name with its actions (cancel, a new link, the QR code, close, ask again after a mismatch) and the home
dashboard with the requests at risk first."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.auth.models import OwnerLink, Role
from app.core.db import session_factory
from app.custody.models import CustodyEvent
from app.extractions.models import ExtractionRequest
from app.extractions.states import CLOSABLE, RequestStatus, check_transition
from app.web.investigator_requests import covered_range
from tests.factories import PASSWORD, give_consent, make_camera, make_owner, make_unit, make_user, web_login

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _visible(html: str) -> str:
    """The page's text outside tags, scripts, attributes and the collapsed technical-details blocks."""
    html = re.sub(r"<details.*?</details>", "", html, flags=re.S)
    html = re.sub(r"<(script|style|select)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%dT%H:%M:%S")


def _investigator(client: TestClient, unit: UUID | None = None) -> tuple[UUID, str]:
    user_id, email = make_user(Role.investigator, unit_id=unit or make_unit())
    client.cookies.clear()
    web_login(client, data={"email": email, "password": PASSWORD})
    return user_id, email


def _open_case(client: TestClient, *, lat: str = "10.7769", lon: str = "106.7009", point: str = "") -> str:
    token = _csrf(client.get("/cases").text)
    start = datetime.now(UTC) - timedelta(hours=2)
    made = client.post(
        "/cases",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "number": f"VV-{uuid.uuid4().hex[:6]}",
            "title": "Cướp giật",
            "offence": "robbery",
            "incident_lat": lat,
            "incident_lon": lon,
            "incident_point": point,
            "incident_start": _local(start),
            "incident_end": _local(start + timedelta(minutes=5)),
        },
    )
    assert made.status_code == 303, made.text
    return str(made.headers["location"])


def test_refusals_are_worded_in_vietnamese_and_places_take_decimal_commas(client: TestClient) -> None:
    _investigator(client)
    token = _csrf(client.get("/cases").text)
    start = _local(datetime.now(UTC) - timedelta(hours=2))
    base = {"csrf_token": token, "number": "VV-x", "title": "t", "offence": "o", "incident_start": start}
    refused = client.post("/cases", data={**base, "incident_lat": "95", "incident_lon": "106,7", "incident_end": start})
    assert refused.status_code == 422
    assert "Vĩ độ phải từ -90 đến 90." in refused.text
    assert "Input should be" not in refused.text and "incident_lat" not in _visible(refused.text)
    pasted = client.post("/cases", data={**base, "incident_point": "10,7 106", "incident_end": "soon"})
    assert pasted.status_code == 422 and "Ngày giờ không hợp lệ" in pasted.text  # not "Invalid isoformat string"
    garbled = client.post("/cases", data={**base, "incident_point": "quận 1", "incident_end": start})
    assert garbled.status_code == 422 and "“vĩ độ, kinh độ”" in garbled.text

    case_url = _open_case(client, lat="", lon="", point="10,7769, 106,7009")  # as a Vietnamese keyboard writes it
    case_page = client.get(case_url).text
    assert 'data-lat="10.7769"' in case_page and 'data-lon="106.7009"' in case_page
    # a second case with the same number: a domain refusal, worded from the catalogue
    number = re.search(r"VV-[0-9a-f]{6}", case_page)
    assert number is not None
    again = client.post(
        "/cases",
        data={
            **base,
            "number": number.group(0),
            "incident_lat": "10,7",
            "incident_lon": "106,7",
            "incident_end": _local(datetime.now(UTC)),
        },
    )
    assert again.status_code == 422 and "Đã có vụ việc mang số này." in again.text


def test_the_language_is_vietnamese_until_the_user_picks_english_and_follows_the_user(client: TestClient) -> None:
    _, email = _investigator(client)
    english_browser = client.get("/cases", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="vi">' in english_browser.text  # the browser's own setting does not switch it
    client.get("/lang/en", follow_redirects=False)
    assert '<html lang="en">' in client.get("/cases").text
    client.cookies.clear()  # another browser: signed in again, without the cookie
    web_login(client, data={"email": email, "password": PASSWORD})
    assert '<html lang="en">' in client.get("/cases").text
    client.get("/lang/vi", follow_redirects=False)
    client.cookies.clear()
    web_login(client, data={"email": email, "password": PASSWORD})
    assert '<html lang="vi">' in client.get("/cases").text


def test_the_case_page_lists_cameras_by_name_in_pages_and_files_from_the_list(client: TestClient) -> None:
    _investigator(client)
    # A place of this test's own: other tests put cameras around the usual city centre.
    lat, lon = 9.0 + random.random(), 105.0 + random.random()
    case_url = _open_case(client, lat=f"{lat:.6f}", lon=f"{lon:.6f}")
    owner = make_owner("Tiệm vàng Kim Thành", "business")
    give_consent(owner)
    near = make_camera(
        owner,
        lat + 0.0001,
        lon + 0.0001,
        label="Cổng trước",
        address="12 Lê Lợi",
        direction_deg=225,
        fov_deg=90,
        range_m=60,
    )
    for index in range(21):  # more than one page of the list
        make_camera(owner, lat + 0.0001 * (index % 5), lon + 0.0003 + 0.0001 * (index // 5), label=f"Quầy {index}")
    silent = make_owner("Nhà ông Bảy", "household")  # no consent
    refusing = make_camera(silent, lat - 0.0001, lon - 0.0001, label="Hẻm sau")

    page = client.get(case_url)
    text = _visible(page.text)
    assert "Camera trong bán kính 500 m: 23" in text
    assert "Cổng trước · 12 Lê Lợi · Tiệm vàng Kim Thành" in text and " m" in text
    assert "Đang có hiệu lực" in text or "Chưa đồng ý" in text  # consent in words
    assert "consent_" not in text and not UUID_TEXT.search(text)
    assert 'rel="next"' in page.text and "cameras_offset=20" in page.text  # paged, not silently capped
    assert 'name="camera_id"' in page.text and '<input name="camera_id"' not in page.text  # chosen, not typed
    second = client.get(f"{case_url}?cameras_offset=20")
    assert 'rel="prev"' in second.text
    chosen = client.get(f"{case_url}?camera={refusing}")
    assert f'<option value="{refusing}" selected>' in chosen.text
    assert client.get(f"{case_url}/cameras.json?limit=5").json()["total"] == 23

    token = _csrf(page.text)
    incident = datetime.now(UTC) - timedelta(hours=2)
    window = {"window_start": _local(incident), "window_end": _local(incident + timedelta(minutes=5))}
    fields = {"csrf_token": token, "purpose": "Nhận dạng", "legal_basis": "Điều 88", **window}
    no_consent = client.post(f"{case_url}/requests", data={**fields, "camera_id": str(refusing)})
    assert no_consent.status_code == 422 and "Chủ camera chưa đồng ý cung cấp hình ảnh." in no_consent.text
    none_chosen = client.post(f"{case_url}/requests", data={**fields, "camera_id": ""})
    assert none_chosen.status_code == 422 and "Camera: hãy chọn một mục trong danh sách." in none_chosen.text

    area = client.post(
        f"{case_url}/area-requests",
        data={**fields, "lat": f"{lat:.6f}".replace(".", ","), "lon": f"{lon:.6f}".replace(".", ","), "radius_m": "60"},
    )
    assert area.status_code == 200
    result = area.text.split('id="area-result"', 1)[1].split("</section>", 1)[0]
    assert "Hẻm sau · Nhà ông Bảy — chủ camera chưa đồng ý cung cấp hình ảnh" in result
    assert "no valid consent" not in result and not UUID_TEXT.search(_visible(result))
    table = area.text.split('id="case-requests"', 1)[1].split("</table>", 1)[0]
    assert "Cổng trước · 12 Lê Lợi · Tiệm vàng Kim Thành" in table and not UUID_TEXT.search(_visible(table))
    assert str(near) not in _visible(area.text)

    empty = client.post(
        f"{case_url}/area-requests", data={**fields, "lat": "10.7768", "lon": "106.7008", "radius_m": "1"}
    )
    nothing = empty.text.split('id="area-result"', 1)[1].split("</section>", 1)[0]
    assert 'class="warn"' in nothing and 'class="ok"' not in nothing  # "0 filed" is no success


def _file_one(client: TestClient) -> tuple[str, str]:
    case_url = _open_case(client)
    owner = make_owner("Nhà thuốc Hạnh Phúc", "business", email=f"nt-{uuid.uuid4().hex[:6]}@example.org")
    give_consent(owner)
    camera = make_camera(owner, 10.7770, 106.7010, label="Quầy thuốc", address="5 Đồng Khởi")
    page = client.get(case_url).text
    incident = datetime.now(UTC) - timedelta(hours=2)
    filed = client.post(
        f"{case_url}/requests",
        follow_redirects=False,
        data={
            "csrf_token": _csrf(page),
            "camera_id": str(camera),
            "window_start": _local(incident),
            "window_end": _local(incident + timedelta(minutes=5)),
            "purpose": "Nhận dạng",
            "legal_basis": "Điều 88",
        },
    )
    assert filed.status_code == 303, filed.text
    return case_url, str(filed.headers["location"])


def _links(request_id: str) -> tuple[int, int]:
    with session_factory()() as session:
        rows = session.scalars(select(OwnerLink).where(OwnerLink.request_id == UUID(request_id))).all()
        return len(rows), sum(1 for r in rows if r.revoked_at is None and r.completed_at is None)


def test_the_request_page_names_everything_and_offers_the_next_steps(client: TestClient) -> None:
    _investigator(client)
    _, request_url = _file_one(client)
    request_id = request_url.rsplit("/", 1)[1]
    page = client.get(request_url)
    text = _visible(page.text)
    assert "Quầy thuốc · 5 Đồng Khởi · Nhà thuốc Hạnh Phúc" in text
    assert "Test investigator · điều tra viên · Công an phường Bến Nghé" in text  # the history, by name
    assert "user:" not in text and not UUID_TEXT.search(text)
    assert (
        f'hx-get="/requests/{request_id}/status?shown=submitted"' in page.text and 'hx-trigger="every 10s"' in page.text
    )
    fragment = client.get(f"/requests/{request_id}/status?shown=approved")
    assert "đã gửi" in fragment.text and "Trạng thái đã thay đổi." in fragment.text

    token = _csrf(page.text)
    assert _links(request_id) == (1, 1)
    resent = client.post(f"{request_url}/resend-link", data={"csrf_token": token})
    assert resent.status_code == 200 and 'id="notice"' in resent.text
    assert _links(request_id) == (2, 1)  # a new link; the one before revoked
    shown = client.post(f"{request_url}/qr", data={"csrf_token": token})
    assert shown.status_code == 200 and "<svg" in shown.text and 'id="qr"' in shown.text
    assert _links(request_id) == (3, 1)
    with session_factory()() as session:
        displayed = session.scalar(
            select(func.count()).where(
                CustodyEvent.action == "owner_link.displayed", CustodyEvent.object_id == UUID(request_id)
            )
        )
    assert displayed == 1

    # another unit's investigator sees no QR and cannot make one
    _investigator(client)
    outsider = client.post(f"{request_url}/qr", data={"csrf_token": _csrf(client.get("/cases").text)})
    assert outsider.status_code == 404 and "<svg" not in outsider.text


def test_cancel_close_and_ask_again(client: TestClient) -> None:
    assert {"clip_ready", "delivered", "footage_mismatch", "needs_conversion"} == CLOSABLE
    assert check_transition("clip_ready", "closed") == RequestStatus.closed
    _investigator(client)
    _, request_url = _file_one(client)
    request_id = UUID(request_url.rsplit("/", 1)[1])
    token = _csrf(client.get(request_url).text)
    short = client.post(f"{request_url}/cancel", data={"csrf_token": token, "reason": "x"})
    assert short.status_code == 422 and "Lý do" in short.text and "String should" not in short.text

    with session_factory()() as session, session.begin():  # the worker found the footage missed the window
        session.execute(
            update(ExtractionRequest).where(ExtractionRequest.id == request_id).values(status="footage_mismatch")
        )
    page = client.get(request_url).text
    assert 'id="re-request"' in page and 'id="close-request"' in page
    incident = datetime.now(UTC) - timedelta(hours=2)
    asked = client.post(
        f"{request_url}/re-request",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "window_start": _local(incident - timedelta(minutes=30)),
            "window_end": _local(incident - timedelta(minutes=20)),
        },
    )
    assert asked.status_code == 303 and asked.headers["location"] != request_url
    old = client.get(request_url).text
    assert 'data-status="cancelled"' in old and "yêu cầu lại" in old
    new_url = asked.headers["location"]
    assert 'data-status="submitted"' in client.get(new_url).text

    with session_factory()() as session, session.begin():
        session.execute(
            update(ExtractionRequest)
            .where(ExtractionRequest.id == UUID(new_url.rsplit("/", 1)[1]))
            .values(status="clip_ready")
        )
    closed = client.post(f"{new_url}/close", data={"csrf_token": token, "result": "useful"}, follow_redirects=True)
    assert 'data-status="closed"' in closed.text and "hx-get" not in closed.text  # final: no more polling


def test_the_covered_range_is_the_files_first_frame_plus_its_duration() -> None:
    start = datetime(2026, 12, 2, 13, 10, tzinfo=UTC)
    detail = {"originals": [{"recording_start_true": start, "media": {"duration_s": 600.0}}]}
    assert covered_range(detail) == (start, start + timedelta(minutes=10))
    assert covered_range({"originals": [{"recording_start_true": start, "media": {}}]}) is None


def test_the_home_dashboard_lists_the_units_open_requests_at_risk_first(client: TestClient) -> None:
    unit = make_unit(name="Công an phường Bến Thành")
    _investigator(client, unit)
    _, first = _file_one(client)
    _, second = _file_one(client)
    first_id, second_id = UUID(first.rsplit("/", 1)[1]), UUID(second.rsplit("/", 1)[1])
    with session_factory()() as session, session.begin():  # the second's recorder overwrites within a day
        session.execute(
            update(ExtractionRequest)
            .where(ExtractionRequest.id == second_id)
            .values(overwrite_deadline=datetime.now(UTC) + timedelta(hours=20))
        )
        session.execute(
            update(ExtractionRequest)
            .where(ExtractionRequest.id == first_id)
            .values(overwrite_deadline=datetime.now(UTC) + timedelta(hours=10), status="approved")
        )
    home = client.get("/")
    rows = home.text.split('id="open-requests"', 1)[1].split("</table>", 1)[0]
    assert rows.index(f"/requests/{second_id}") < rows.index(f"/requests/{first_id}")  # at risk before sooner
    assert 'class="at-risk"' in rows and "Quầy thuốc · 5 Đồng Khởi · Nhà thuốc Hạnh Phúc" in rows
    assert "đã đồng ý" in rows or "đã chấp thuận" in rows or "approved" not in _visible(rows)
    supervisor_id, supervisor = make_user(Role.supervisor, unit_id=unit)
    client.cookies.clear()
    web_login(client, data={"email": supervisor, "password": PASSWORD})
    assert f"/requests/{second_id}" in client.get("/").text
