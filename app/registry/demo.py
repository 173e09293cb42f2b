"""A believable province for demonstrations: owners and cameras along real streets of Thanh Hóa city."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.auth.permissions import system_actor
from app.core import clock
from app.custody.rows import row_state
from app.custody.service import append_event
from app.registry.models import Camera, Consent, Owner

# (street, ward, district, lat, lon): points along real streets of Thanh Hóa city's central wards.
STREETS = [
    ("Trần Phú", "Điện Biên", "TP Thanh Hóa", 19.8077, 105.7764),
    ("Lê Lợi", "Điện Biên", "TP Thanh Hóa", 19.8072, 105.7745),
    ("Bà Triệu", "Ba Đình", "TP Thanh Hóa", 19.8129, 105.7801),
    ("Quang Trung", "Ngọc Trạo", "TP Thanh Hóa", 19.8105, 105.7760),
    ("Phan Chu Trinh", "Điện Biên", "TP Thanh Hóa", 19.8060, 105.7790),
    ("Lê Hoàn", "Lam Sơn", "TP Thanh Hóa", 19.8040, 105.7760),
    ("Hạc Thành", "Tân Sơn", "TP Thanh Hóa", 19.8000, 105.7730),
    ("Nguyễn Trãi", "Phú Sơn", "TP Thanh Hóa", 19.7990, 105.7680),
    ("Tống Duy Tân", "Lam Sơn", "TP Thanh Hóa", 19.8025, 105.7800),
    ("Dương Đình Nghệ", "Đông Thọ", "TP Thanh Hóa", 19.8180, 105.7880),
    ("Lạc Long Quân", "Đông Hương", "TP Thanh Hóa", 19.7960, 105.7950),
    ("Trường Thi", "Trường Thi", "TP Thanh Hóa", 19.8110, 105.7880),
]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
GIVEN = ["Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thu Hà", "Gia Huy", "Ngọc Lan", "Đức Minh", "Thanh Tâm"]
BUSINESSES = ["Tạp hóa", "Nhà thuốc", "Quán cà phê", "Tiệm vàng", "Cửa hàng điện thoại", "Khách sạn", "Nhà hàng"]
MAKES = [
    ("Hikvision", "DS-7608NI"),
    ("Dahua", "NVR4108HS"),
    ("KBVision", "KX-8108N2"),
    ("Ezviz", "X5S"),
    ("Imou", "NVR1108HS"),
]


def seed(session: Session, *, owners: int = 300, cameras: int = 3000, rng_seed: int = 7) -> dict[str, int]:
    """Add owners, cameras (mixed programmes, retention 7–30 days) and consents (some owners give none)."""
    rng = random.Random(rng_seed)
    now = clock.now()
    made_owners: list[Owner] = []
    for i in range(owners):
        street = rng.choice(STREETS)
        if rng.random() < 0.4:
            name, kind = f"{rng.choice(BUSINESSES)} {rng.choice(GIVEN).split()[-1]} {i}", "business"
        elif rng.random() < 0.1:
            name, kind = f"Trường THCS {street[0]} {i}", "school"
        else:
            name, kind = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}", "household"
        owner = Owner(
            name=name,
            kind=kind,
            phone=f"+849{rng.randrange(10**7, 10**8)}",  # E.164, as every entry is stored
            email=f"owner{i}@example.org",
            address=f"{rng.randrange(1, 300)} {street[0]}, {street[1]}",
        )
        made_owners.append(owner)
    police = Owner(name="Công an TP Thanh Hóa (camera giám sát)", kind="police")
    session.add_all([*made_owners, police])
    session.flush()
    rows: list[dict[str, Any]] = []
    for i in range(cameras):
        street_name, ward, district, lat, lon = rng.choice(STREETS)
        is_police = rng.random() < 0.1
        owner = police if is_police else rng.choice(made_owners)
        make, model = rng.choice(MAKES)
        rows.append(
            {
                "external_id": f"demo-{i:05d}",
                "owner_id": owner.id,
                "label": f"{street_name} #{i}",
                "lat": lat + rng.uniform(-0.004, 0.004),
                "lon": lon + rng.uniform(-0.004, 0.004),
                "address": f"{rng.randrange(1, 300)} {street_name}",
                "province": "Thanh Hóa",
                "district": district,
                "ward": ward,
                "direction_deg": rng.choice([None, rng.uniform(0, 359.9)]),
                "fov_deg": rng.choice([60, 90, 110]),
                "range_m": rng.choice([20, 30, 50, 80]),
                "indoor": rng.random() < 0.15,
                "recorder_make": make,
                "recorder_model": model,
                "retention_days": rng.randint(7, 30),
                "timezone": "Asia/Ho_Chi_Minh",
                "programme": "police" if is_police else "private",
                "status": "active",
                "last_verified_at": now - timedelta(days=rng.randint(0, 200)),
            }
        )
    session.execute(insert(Camera), rows)
    consents = []
    for owner in made_owners:
        roll = rng.random()
        if roll < 0.15:
            continue  # no consent
        consent = Consent(
            owner_id=owner.id,
            scope="auto_approve" if roll > 0.9 else "on_request",
            valid_from=datetime(2025, 1, 1, tzinfo=UTC),
            terms_version="2025-01",
            legal_basis="Thỏa thuận tham gia chương trình Camera với ANTT",
            given_by=owner.name,
            recorded_at=now,
        )
        if roll < 0.2:
            consent.withdrawn_at, consent.withdrawn_reason, consent.withdrawn_by = now, "Chủ camera rút lại", "demo"
        consents.append(consent)
    session.add_all(consents)
    session.flush()
    actor = system_actor("demo")
    for consent in consents:  # each consent's state in its own event, as the service records one
        append_event(
            session,
            actor=actor.label,
            action="consent.given",
            object_type="consent",
            object_id=consent.id,
            reason=consent.legal_basis,
            where=actor.where("cli"),
            details={"owner_id": str(consent.owner_id), "row": row_state("consents", consent)},
        )
    append_event(
        session,
        actor=actor.label,
        action="registry.demo_seeded",
        where=actor.where("cli"),
        details={"owners": len(made_owners) + 1, "cameras": cameras, "consents": len(consents)},
    )
    return {"owners": len(made_owners) + 1, "cameras": cameras, "consents": len(consents)}


def already_seeded(session: Session) -> bool:
    return session.scalar(select(Camera.id).where(Camera.external_id == "demo-00000")) is not None
