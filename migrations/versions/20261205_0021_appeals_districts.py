"""appeals and appeal_submissions: a case's public call for footage and what residents send to it (quarantined
until the case's unit accepts or declines it); districts: the province's district-level units, seeded with
Thanh Hóa's 27, that cases (new district and ward columns) are placed in and statistics group by.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# (code, name, kind): the General Statistics Office's codes of Thanh Hóa's cities, towns and districts.
THANH_HOA = (
    ("380", "Thành phố Thanh Hóa", "city"),
    ("381", "Thị xã Bỉm Sơn", "town"),
    ("382", "Thành phố Sầm Sơn", "city"),
    ("384", "Huyện Mường Lát", "district"),
    ("385", "Huyện Quan Hóa", "district"),
    ("386", "Huyện Bá Thước", "district"),
    ("387", "Huyện Quan Sơn", "district"),
    ("388", "Huyện Lang Chánh", "district"),
    ("389", "Huyện Ngọc Lặc", "district"),
    ("390", "Huyện Cẩm Thủy", "district"),
    ("391", "Huyện Thạch Thành", "district"),
    ("392", "Huyện Hà Trung", "district"),
    ("393", "Huyện Vĩnh Lộc", "district"),
    ("394", "Huyện Yên Định", "district"),
    ("395", "Huyện Thọ Xuân", "district"),
    ("396", "Huyện Thường Xuân", "district"),
    ("397", "Huyện Triệu Sơn", "district"),
    ("398", "Huyện Thiệu Hóa", "district"),
    ("399", "Huyện Hoằng Hóa", "district"),
    ("400", "Huyện Hậu Lộc", "district"),
    ("401", "Huyện Nga Sơn", "district"),
    ("402", "Huyện Như Xuân", "district"),
    ("403", "Huyện Như Thanh", "district"),
    ("404", "Huyện Nông Cống", "district"),
    ("405", "Huyện Đông Sơn", "district"),
    ("406", "Huyện Quảng Xương", "district"),
    ("407", "Thị xã Nghi Sơn", "town"),
)


def upgrade() -> None:
    districts = op.create_table(
        "districts",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("province", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('city', 'town', 'district')", name=op.f("ck_districts_kind_known")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_districts")),
        sa.UniqueConstraint("name", name=op.f("uq_districts_name")),
    )
    op.bulk_insert(
        districts,
        [{"code": c, "name": n, "kind": k, "province": "Thanh Hóa", "active": True} for c, n, k in THANH_HOA],
    )
    op.add_column("cases", sa.Column("district", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("ward", sa.Text(), nullable=True))
    op.create_index(op.f("ix_cases_district"), "cases", ["district"], unique=False)

    op.create_table(
        "appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_early_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("window_end > window_start", name=op.f("ck_appeals_window_ordered")),
        sa.CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name=op.f("ck_appeals_wgs84")),
        sa.CheckConstraint("radius_m BETWEEN 10 AND 20000", name=op.f("ck_appeals_radius_bounded")),
        sa.CheckConstraint("closes_at > created_at", name=op.f("ck_appeals_closes_after_publishing")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_appeals_case_id_cases")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_appeals_created_by_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_appeals_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("slug", name=op.f("uq_appeals_slug")),
    )
    op.create_index(op.f("ix_appeals_case_id"), "appeals", ["case_id"], unique=False)
    op.create_index(op.f("ix_appeals_unit_id"), "appeals", ["unit_id"], unique=False)

    op.create_table(
        "appeal_submissions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("media", sa.dialects.postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("contributor_name", sa.Text(), nullable=True),
        sa.Column("contributor_phone", sa.Text(), nullable=True),
        sa.Column("attestation_version", sa.Text(), nullable=False),
        sa.Column("client_address", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retention_mode", sa.Text(), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_category", sa.Text(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('quarantined','accepted','declined')", name=op.f("ck_appeal_submissions_status_known")
        ),
        sa.CheckConstraint("kind IN ('video','photo')", name=op.f("ck_appeal_submissions_kind_known")),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_appeal_submissions_sha256_hex")),
        sa.CheckConstraint("size > 0", name=op.f("ck_appeal_submissions_size_positive")),
        sa.CheckConstraint("(lat IS NULL) = (lon IS NULL)", name=op.f("ck_appeal_submissions_pin_whole")),
        sa.CheckConstraint(
            "(status = 'quarantined') = (decided_at IS NULL)",
            name=op.f("ck_appeal_submissions_decided_unless_quarantined"),
        ),
        sa.CheckConstraint(
            "(status = 'declined') = (decline_category IS NOT NULL)",
            name=op.f("ck_appeal_submissions_declined_with_category"),
        ),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_appeal_submissions_appeal_id_appeals")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_appeal_submissions_case_id_cases")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_appeal_submissions_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_submissions")),
    )
    op.create_index(op.f("ix_appeal_submissions_case_id"), "appeal_submissions", ["case_id"], unique=False)
    op.create_index(op.f("ix_appeal_submissions_sha256"), "appeal_submissions", ["sha256"], unique=False)
    op.create_index(
        "ix_appeal_submissions_appeal_received", "appeal_submissions", ["appeal_id", "received_at"], unique=False
    )
    op.create_index(
        "ix_appeal_submissions_appeal_address",
        "appeal_submissions",
        ["appeal_id", "client_address", "received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("appeal_submissions")
    op.drop_table("appeals")
    op.drop_index(op.f("ix_cases_district"), table_name="cases")
    op.drop_column("cases", "ward")
    op.drop_column("cases", "district")
    op.drop_table("districts")
