from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import cli
from app.core.db import session_factory
from app.registry import demo
from app.registry.models import Camera, Consent, Owner
from tests.factories import make_owner


def test_import_cameras_command_reports_bad_rows(configured: str, tmp_path: Path) -> None:
    owner = make_owner()
    tag = uuid.uuid4().hex[:6]
    path = tmp_path / "cameras.csv"
    path.write_text(
        "external_id,owner_id,label,lat,lon,retention_days\n"
        f"{tag}-a,{owner},Ngõ 12 Hàng Bông,21.03,105.85,10\n"
        f"{tag}-b,{owner},Sai vĩ độ,-91,105.85,10\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["import-cameras", str(path)])
    assert result.exit_code == 1
    assert "created 1, updated 0, refused 1" in result.output
    assert "row 3: lat:" in result.output


def test_demo_seeds_a_believable_province(configured: str) -> None:
    with session_factory()() as session, session.begin():
        assert not demo.already_seeded(session)
        made = demo.seed(session, owners=40, cameras=400)
    assert made["cameras"] == 400
    with session_factory()() as session:
        cameras = list(session.scalars(select(Camera).where(Camera.external_id.like("demo-%"))))
        assert len(cameras) == 400
        assert {c.programme for c in cameras} == {"police", "private"}
        assert all(7 <= c.retention_days <= 30 for c in cameras)
        assert all(19.79 < c.lat < 19.823 and 105.76 < c.lon < 105.80 for c in cameras)  # Thanh Hóa city
        owner_ids = {c.owner_id for c in cameras if c.programme == "private"}
        with_consent = session.scalar(
            select(func.count(func.distinct(Consent.owner_id))).where(Consent.owner_id.in_(owner_ids))
        )
        assert 0 < (with_consent or 0) < len(owner_ids)  # some owners gave no consent
        assert session.scalar(select(func.count()).select_from(Owner).where(Owner.kind == "police")) >= 1
        assert demo.already_seeded(session)
