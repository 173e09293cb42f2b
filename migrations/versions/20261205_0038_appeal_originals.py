"""originals and clips of appeals: a resident's file accepted from a community appeal becomes an original of the
case (no request: `request_id` NULL, `case_id` and `appeal_submission_id` set) pointing at the submission's own
locked object, and its clips are `clips` rows of the case (`case_id` set). The former `submission_clips` rows move
into `clips` (same ids, so their custody events still name them) and the table goes.

Appeal contact phones are rewritten in E.164, as owners' phones are kept. Custody verification now also compares
`appeal_submissions` with the log: every such row that existed before gets a `row.baseline` event, as migration
0015 did for the first tracked tables; the originals made here from earlier accepted submissions get an
`appeal.original_made` event and their clips (moved) a `row.baseline` event.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

# The tracked fields as of this revision (app/custody/rows.py may grow later; the baseline records these).
SUBMISSION_FIELDS = (
    "appeal_id",
    "case_id",
    "unit_id",
    "status",
    "object_key",
    "version_id",
    "sha256",
    "size",
    "contributor_name",
    "contributor_phone",
    "taken_at",
    "retention_mode",
    "retain_until",
    "legal_hold",
    "deleted_at",
)
ORIGINAL_FIELDS = (
    "request_id",
    "case_id",
    "appeal_submission_id",
    "object_key",
    "version_id",
    "sha256",
    "size",
    "recording_start_recorder",
    "clock_offset_s",
    "retention_mode",
    "retain_until",
    "legal_hold",
    "deleted_at",
)
CLIP_FIELDS = (
    "original_id",
    "request_id",
    "case_id",
    "object_key",
    "version_id",
    "sha256",
    "parent_sha256",
    "requested_start",
    "requested_end",
    "actual_start",
    "actual_end",
    "retention_mode",
    "retain_until",
    "legal_hold",
    "deleted_at",
)
OLD_SOURCES = "recording_start_source IN ('file', 'header', 'filename')"
NEW_SOURCES = "recording_start_source IN ('file', 'header', 'filename', 'sender', 'received')"


def upgrade() -> None:
    op.alter_column("originals", "request_id", existing_type=sa.Uuid(), nullable=True)
    op.add_column("originals", sa.Column("case_id", sa.Uuid(), nullable=True))
    op.add_column("originals", sa.Column("appeal_submission_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_originals_case_id_cases"), "originals", "cases", ["case_id"], ["id"])
    op.create_foreign_key(
        op.f("fk_originals_appeal_submission_id_appeal_submissions"),
        "originals",
        "appeal_submissions",
        ["appeal_submission_id"],
        ["id"],
    )
    op.create_index(op.f("ix_originals_case_id"), "originals", ["case_id"], unique=False)
    op.create_unique_constraint(op.f("uq_originals_appeal_submission_id"), "originals", ["appeal_submission_id"])
    op.drop_constraint(op.f("ck_originals_recording_start_source_known"), "originals", type_="check")
    op.create_check_constraint(op.f("ck_originals_recording_start_source_known"), "originals", NEW_SOURCES)
    op.create_check_constraint(
        op.f("ck_originals_of_request_or_appeal"),
        "originals",
        "(request_id IS NOT NULL AND appeal_submission_id IS NULL) "
        "OR (request_id IS NULL AND appeal_submission_id IS NOT NULL AND case_id IS NOT NULL)",
    )
    op.alter_column("clips", "request_id", existing_type=sa.Uuid(), nullable=True)
    op.add_column("clips", sa.Column("case_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f("fk_clips_case_id_cases"), "clips", "cases", ["case_id"], ["id"])
    op.create_index(op.f("ix_clips_case_id"), "clips", ["case_id"], unique=False)
    op.create_check_constraint(
        op.f("ck_clips_of_request_or_case"), "clips", "request_id IS NOT NULL OR case_id IS NOT NULL"
    )
    _move_accepted()
    op.drop_index(op.f("ix_submission_clips_submission_id"), table_name="submission_clips")
    op.drop_table("submission_clips")
    # A submission is evidence like an original: never deleted, its object, version, hash and size never change.
    op.execute(
        "CREATE TRIGGER appeal_submissions_guard BEFORE UPDATE OR DELETE ON appeal_submissions "
        "FOR EACH ROW EXECUTE FUNCTION evidence_rows_guard()"
    )
    op.execute(
        "CREATE TRIGGER appeal_submissions_no_truncate BEFORE TRUNCATE ON appeal_submissions "
        "FOR EACH STATEMENT EXECUTE FUNCTION evidence_rows_guard()"
    )


def _move_accepted() -> None:
    """Accepted submissions become originals of their case; their clips become clips; every row the log now
    tracks and that no event recorded gets its baseline event."""
    from app.custody.rows import canonical
    from app.custody.service import append_event

    session = Session(bind=op.get_bind())
    _phones_e164(session)
    made = session.execute(
        sa.text(
            """
            INSERT INTO originals (id, request_id, case_id, appeal_submission_id, object_key, version_id, size,
                sha256, client_sha256, filename, media, frame_rate_assumed, recording_start_recorder,
                recording_start_stated, clock_offset_s, clock_offset_source, uploaded_by, client_address,
                received_at, retention_mode, retain_until, legal_hold, deleted_at, lock_applied_at,
                recording_start_source, needs_conversion)
            SELECT gen_random_uuid(), NULL, s.case_id, s.id, s.object_key, s.version_id, s.size, s.sha256, NULL,
                s.filename, s.media, false, coalesce(s.taken_at, s.received_at),
                coalesce(to_char(s.taken_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''), 0, 'none',
                coalesce(s.decided_by, 'system:migration'), s.client_address, s.received_at, s.retention_mode,
                s.retain_until, s.legal_hold, s.deleted_at, s.received_at,
                CASE WHEN s.taken_at IS NULL THEN 'received' ELSE 'sender' END, false
            FROM appeal_submissions s WHERE s.status = 'accepted'
            RETURNING id, appeal_submission_id
            """
        )
    ).all()
    session.execute(
        sa.text(
            """
            INSERT INTO clips (id, original_id, request_id, case_id, parent_sha256, sha256, size, object_key,
                version_id, container, requested_start, requested_end, actual_start, actual_end, clock_offset_s,
                clock_offset_source, shortfall, tool, tool_version, command, created_at, retention_mode,
                retain_until, legal_hold)
            SELECT c.id, o.id, NULL, c.case_id, c.parent_sha256, c.sha256, c.size, c.object_key, c.version_id,
                c.container, c.requested_start, c.requested_end, c.actual_start, c.actual_end,
                extract(epoch FROM o.recording_start_recorder - c.recording_start),
                CASE WHEN o.recording_start_recorder = c.recording_start THEN 'none' ELSE 'header' END,
                c.shortfall, c.tool, c.tool_version, c.command, c.created_at, c.retention_mode, c.retain_until,
                c.legal_hold
            FROM submission_clips c JOIN originals o ON o.appeal_submission_id = c.submission_id
            """
        )
    )
    made_ids = [str(row.id) for row in made]
    baselines: list[tuple[str, str, tuple[str, ...], str]] = [
        ("appeal_submissions", "appeal_submission", SUBMISSION_FIELDS, "SELECT id, {} FROM appeal_submissions"),
        ("originals", "original", ORIGINAL_FIELDS, "SELECT id, {} FROM originals WHERE id::text = ANY(:made)"),
        ("clips", "clip", CLIP_FIELDS, "SELECT id, {} FROM clips WHERE case_id IS NOT NULL"),
    ]
    for table, noun, fields, statement in baselines:
        rows = session.execute(sa.text(statement.format(", ".join(fields)) + " ORDER BY id"), {"made": made_ids})
        for row in rows.mappings().all():
            values: dict[str, Any] = {name: canonical(row[name]) for name in fields}
            append_event(
                session,
                actor="system:migration",
                action="appeal.original_made" if table == "originals" else "row.baseline",
                object_type=noun,
                object_id=row["id"],
                sha256=row["sha256"],
                version_id=row["version_id"],
                case_id=row["case_id"],
                reason="the row as it stood when the log began to record it",
                where={"component": "migration", "revision": revision},
                details={
                    "object_key": row["object_key"],
                    "row": {"table": table, "id": str(row["id"]), "values": values},
                },
            )
    session.flush()


def _phones_e164(session: Session) -> None:
    """Contact phones in E.164 like owners' phones; a number that does not read as one stays as it was sent."""
    from app.core import phones

    for row_id, raw in session.execute(
        sa.text("SELECT id, contributor_phone FROM appeal_submissions WHERE contributor_phone IS NOT NULL")
    ).all():
        try:
            e164 = phones.normalise(raw)
        except phones.PhoneError:
            continue
        session.execute(
            sa.text("UPDATE appeal_submissions SET contributor_phone = :p WHERE id = :id"), {"p": e164, "id": row_id}
        )


def downgrade() -> None:
    op.execute("DROP TRIGGER appeal_submissions_no_truncate ON appeal_submissions")
    op.execute("DROP TRIGGER appeal_submissions_guard ON appeal_submissions")
    op.create_table(
        "submission_clips",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("parent_sha256", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Text(), nullable=False),
        sa.Column("container", sa.Text(), nullable=False),
        sa.Column("recording_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shortfall", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tool", sa.Text(), nullable=False),
        sa.Column("tool_version", sa.Text(), nullable=False),
        sa.Column("command", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retention_mode", sa.Text(), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "length(sha256) = 64 AND length(parent_sha256) = 64", name=op.f("ck_submission_clips_hashes_hex")
        ),
        sa.CheckConstraint("requested_end > requested_start", name=op.f("ck_submission_clips_window_ordered")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_submission_clips_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["appeal_submissions.id"],
            name=op.f("fk_submission_clips_submission_id_appeal_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_clips")),
    )
    op.create_index(op.f("ix_submission_clips_submission_id"), "submission_clips", ["submission_id"], unique=False)
    # Back to their own tables: appeal clips and originals leave `clips` and `originals` (the log keeps their events).
    op.execute(
        """
        INSERT INTO submission_clips (id, submission_id, case_id, parent_sha256, sha256, size, object_key,
            version_id, container, recording_start, requested_start, requested_end, actual_start, actual_end,
            shortfall, tool, tool_version, command, created_by, created_at, retention_mode, retain_until, legal_hold)
        SELECT c.id, o.appeal_submission_id, c.case_id, c.parent_sha256, c.sha256, c.size, c.object_key,
            c.version_id, c.container, o.recording_start_recorder - make_interval(secs => c.clock_offset_s),
            c.requested_start, c.requested_end, c.actual_start, c.actual_end, c.shortfall, c.tool, c.tool_version,
            c.command, 'system:migration', c.created_at, c.retention_mode, c.retain_until, c.legal_hold
        FROM clips c JOIN originals o ON o.id = c.original_id WHERE c.request_id IS NULL
        """
    )
    # Evidence rows refuse deletion (evidence_rows_guard): the guard stands aside for this step of the downgrade only.
    op.execute("ALTER TABLE clips DISABLE TRIGGER clips_guard")
    op.execute("ALTER TABLE originals DISABLE TRIGGER originals_guard")
    for table in ("previews", "case_markers", "redactions", "clip_parents"):
        op.execute(f"DELETE FROM {table} WHERE clip_id IN (SELECT id FROM clips WHERE request_id IS NULL)")
    op.execute("DELETE FROM clips WHERE request_id IS NULL")
    op.execute("DELETE FROM playback_copies WHERE original_id IN (SELECT id FROM originals WHERE request_id IS NULL)")
    op.execute("DELETE FROM originals WHERE request_id IS NULL")
    op.execute("ALTER TABLE originals ENABLE TRIGGER originals_guard")
    op.execute("ALTER TABLE clips ENABLE TRIGGER clips_guard")
    op.drop_constraint(op.f("ck_clips_of_request_or_case"), "clips", type_="check")
    op.drop_index(op.f("ix_clips_case_id"), table_name="clips")
    op.drop_constraint(op.f("fk_clips_case_id_cases"), "clips", type_="foreignkey")
    op.drop_column("clips", "case_id")
    op.alter_column("clips", "request_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_constraint(op.f("ck_originals_of_request_or_appeal"), "originals", type_="check")
    op.drop_constraint(op.f("ck_originals_recording_start_source_known"), "originals", type_="check")
    op.execute(
        "UPDATE originals SET recording_start_source = 'header' WHERE recording_start_source IN ('sender', 'received')"
    )
    op.create_check_constraint(op.f("ck_originals_recording_start_source_known"), "originals", OLD_SOURCES)
    op.drop_constraint(op.f("uq_originals_appeal_submission_id"), "originals", type_="unique")
    op.drop_index(op.f("ix_originals_case_id"), table_name="originals")
    op.drop_constraint(op.f("fk_originals_appeal_submission_id_appeal_submissions"), "originals", type_="foreignkey")
    op.drop_constraint(op.f("fk_originals_case_id_cases"), "originals", type_="foreignkey")
    op.drop_column("originals", "appeal_submission_id")
    op.drop_column("originals", "case_id")
    op.alter_column("originals", "request_id", existing_type=sa.Uuid(), nullable=False)
