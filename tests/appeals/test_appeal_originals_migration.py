"""Migration 0038 on data written before it: an accepted submission becomes an original of its case (the same
object, version and hash), its clip becomes a clip of the case under the same id, the contact phone is rewritten
in E.164, and the data check finds every row it now tracks recorded in the log. Downgrading puts them back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from app.core import migrate
from app.custody.data_check import check_rows
from tests.services import fresh_database

NOW = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def _seed(session: Session) -> dict[str, str]:
    ids = {name: str(uuid.uuid4()) for name in ("unit", "user", "case", "appeal", "submission", "clip", "declined")}
    statements = [
        ("INSERT INTO units (id, name, code) VALUES (:unit, 'Công an phường', :code)", {"code": ids["unit"][:8]}),
        (
            "INSERT INTO users (id, email, password_hash, full_name, role, is_active, token_version, unit_id) "
            "VALUES (:user, :email, 'x', 'Điều tra viên', 'investigator', true, 0, :unit)",
            {"email": f"{ids['user'][:8]}@example.org"},
        ),
        (
            "INSERT INTO cases (id, number, title, offence, incident_lat, incident_lon, incident_start, incident_end,"
            " unit_id, lead_investigator_id, status, created_by, created_at, updated_at) VALUES (:case, :number,"
            " 'Vụ việc', 'theft', 19.8, 105.77, :start, :end, :unit, :user, 'open', :user, :now, :now)",
            {"number": f"KH-{ids['case'][:6]}", "start": NOW - timedelta(hours=2), "end": NOW - timedelta(hours=1)},
        ),
        (
            "INSERT INTO appeals (id, slug, case_id, unit_id, title, text, lat, lon, radius_m, window_start,"
            " window_end, timezone, closes_at, created_by, created_at) VALUES (:appeal, :slug, :case, :unit,"
            " 'Tìm nhân chứng', 'Ai có video, xin gửi.', 19.8, 105.77, 300, :start, :end, 'Asia/Ho_Chi_Minh',"
            " :closes, :user, :now)",
            {
                "slug": ids["appeal"][:10],
                "start": NOW - timedelta(hours=2),
                "end": NOW - timedelta(hours=1),
                "closes": NOW + timedelta(days=10),
            },
        ),
    ]
    for status, key, phone in (("accepted", "submission", "0912 345 678"), ("declined", "declined", None)):
        statements.append(
            (
                "INSERT INTO appeal_submissions (id, appeal_id, case_id, unit_id, status, kind, object_key,"
                " version_id, sha256, size, filename, content_type, media, taken_at, contributor_name,"
                " contributor_phone, attestation_version, received_at, retention_mode, retain_until, legal_hold,"
                " decided_by, decided_at, decline_category) VALUES (:id, :appeal, :case, :unit, :status, 'video',"
                " :key, 'v1', :sha, 100, 'v.mp4', 'video/mp4', '{\"duration_s\": 2}', :taken, 'Nguyễn Văn A',"
                " :phone, 'APPEAL-ATTEST-2026-01', :now, 'GOVERNANCE', :until, true, 'user:x', :now, :category)",
                {
                    "id": ids[key],
                    "status": status,
                    "key": f"appeals/{ids['appeal']}/{ids[key]}/v.mp4",
                    "sha": ("a" if key == "submission" else "d") * 64,
                    "taken": NOW - timedelta(hours=2),
                    "phone": phone,
                    "until": NOW + timedelta(days=365),
                    "category": None if status == "accepted" else "duplicate",
                },
            )
        )
    statements.append(
        (
            "INSERT INTO submission_clips (id, submission_id, case_id, parent_sha256, sha256, size, object_key,"
            " version_id, container, recording_start, requested_start, requested_end, actual_start, actual_end,"
            " shortfall, tool, tool_version, command, created_by, created_at, retention_mode, retain_until,"
            " legal_hold) VALUES (:clip, :submission, :case, :parent, :sha, 50, :key, 'v2', 'mp4', :rec, :rec,"
            " :rec_end, :rec, :rec_end, '{}', 'ffmpeg', '7', '[[\"ffmpeg\"]]', 'user:x', :now, 'GOVERNANCE',"
            " :until, true)",
            {
                "parent": "a" * 64,
                "sha": "b" * 64,
                "key": f"appeals/{ids['appeal']}/{ids['submission']}/clips/{ids['clip']}.mp4",
                "rec": NOW - timedelta(hours=2, minutes=1),  # the investigator's correction: a minute earlier
                "rec_end": NOW - timedelta(hours=2, minutes=1) + timedelta(seconds=1),
                "until": NOW + timedelta(days=365),
            },
        )
    )
    for statement, extra in statements:
        session.execute(text(statement), {**ids, "now": NOW, **extra})
    return ids


def test_accepted_submissions_become_originals_of_their_case(pg_server_url: str) -> None:
    with fresh_database(pg_server_url, migrate=False) as url:
        migrate.upgrade("0037", database_url=url)
        engine = create_engine(url)
        try:
            with Session(engine) as session, session.begin():
                ids = _seed(session)
            migrate.upgrade("heads", database_url=url)
            assert "submission_clips" not in inspect(engine).get_table_names()
            with Session(engine) as session:
                original = session.execute(
                    text("SELECT * FROM originals WHERE appeal_submission_id = :id"), {"id": ids["submission"]}
                ).one()
                assert original.request_id is None and str(original.case_id) == ids["case"]
                assert (original.object_key, original.version_id, original.sha256) == (
                    f"appeals/{ids['appeal']}/{ids['submission']}/v.mp4",
                    "v1",
                    "a" * 64,
                )
                assert original.recording_start_source == "sender" and original.legal_hold
                clip = session.execute(text("SELECT * FROM clips WHERE id = :id"), {"id": ids["clip"]}).one()
                assert clip.original_id == original.id and str(clip.case_id) == ids["case"]
                assert clip.request_id is None and clip.parent_sha256 == "a" * 64
                assert clip.clock_offset_s == 60.0 and clip.clock_offset_source == "header"
                declined = session.execute(
                    text("SELECT count(*) FROM originals WHERE appeal_submission_id = :id"), {"id": ids["declined"]}
                ).scalar_one()
                assert declined == 0  # only accepted submissions become originals
                phone = session.execute(
                    text("SELECT contributor_phone FROM appeal_submissions WHERE id = :id"), {"id": ids["submission"]}
                ).scalar_one()
                assert phone == "+84912345678"
                problems, _, compared = check_rows(session)
                # the case and user were seeded with SQL here, around the services; every appeal row is on record
                said = [p.what for p in problems if not p.what.startswith(("user ", "case "))]
                assert not said, said
                assert compared >= 6  # the two submissions, the original and the clip among them

            migrate.downgrade("0037", database_url=url)
            with Session(engine) as session:
                back = session.execute(
                    text("SELECT submission_id, recording_start FROM submission_clips WHERE id = :id"),
                    {"id": ids["clip"]},
                ).one()
                assert str(back.submission_id) == ids["submission"]
                assert back.recording_start == NOW - timedelta(hours=2, minutes=1)
                left = session.execute(text("SELECT count(*) FROM originals")).scalar_one()
                assert left == 0
        finally:
            engine.dispose()
