"""Bulk camera import (CSV or GeoJSON, streamed) with per-row errors, and the GeoJSON export that round-trips.

Rows are validated one by one and upserted by `external_id` in batches, so a 100,000-row file is read in
constant memory; every bad row is reported with its number, field and message — none is silently dropped.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Any
from uuid import UUID

import ijson
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.core import clock
from app.core.errors import RuleViolation
from app.custody.service import append_event
from app.registry.models import Camera, Owner
from app.registry.schemas import CameraCreate, CameraRead

BATCH = 1000
EXPORT_FIELDS = [name for name in CameraRead.model_fields if name not in {"id", "created_at", "updated_at"}]
Row = tuple[int, dict[str, Any]]


def sniff_geojson(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def csv_rows(stream: IO[bytes]) -> Iterator[Row]:
    """Data rows numbered from 2 (row 1 is the header), empty cells as None; UTF-8 with or without BOM."""
    text = codecs.getreader("utf-8-sig")(stream)
    reader = csv.DictReader(text)
    for number, record in enumerate(reader, start=2):
        yield number, {k.strip(): (v.strip() if v.strip() else None) for k, v in record.items() if k}


def geojson_rows(stream: IO[bytes]) -> Iterator[Row]:
    """Features numbered from 1; Point geometry gives lon/lat, properties the rest."""
    for number, feature in enumerate(ijson.items(stream, "features.item", use_float=True), start=1):
        props = dict(feature.get("properties") or {})
        geometry = feature.get("geometry") or {}
        coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
        if isinstance(coords, list) and len(coords) >= 2:
            props.setdefault("lon", coords[0])
            props.setdefault("lat", coords[1])
        yield number, props


def import_cameras(
    session: Session, actor: Actor, rows: Iterable[Row], progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Validate and upsert rows; returns {created, updated, errors: [{row, field, message}]}."""
    created = updated = seen = 0
    errors: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    known_owners: set[UUID] = set()

    def flush() -> None:
        nonlocal created, updated
        if not batch:
            return
        owners = {r["owner_id"] for r in batch} - known_owners
        if owners:
            known_owners.update(session.scalars(select(Owner.id).where(Owner.id.in_(owners))))
        good = []
        for record in batch:
            if record["owner_id"] in known_owners:
                good.append(record)
            else:
                errors.append(
                    {"row": record.pop("_row"), "field": "owner_id", "message": f"unknown owner {record['owner_id']}"}
                )
        if good:
            rows_ = [{k: v for k, v in r.items() if k != "_row"} for r in good]
            stmt = insert(Camera).values(rows_)
            update_cols: dict[str, Any] = {c: stmt.excluded[c] for c in rows_[0] if c not in {"external_id"}}
            update_cols["updated_at"] = clock.now()
            stmt = stmt.on_conflict_do_update(index_elements=["external_id"], set_=update_cols)
            # xmax = 0 tells an inserted row from an updated one.
            results = session.execute(stmt.returning(Camera.id, _inserted_flag())).all()
            created += sum(1 for r in results if r[1])
            updated += sum(1 for r in results if not r[1])
        batch.clear()

    for number, record in rows:
        seen += 1
        if not record.get("external_id"):
            errors.append({"row": number, "field": "external_id", "message": "required to import (upsert key)"})
            continue
        try:
            camera = CameraCreate.model_validate(record)
        except ValidationError as exc:
            for err in exc.errors():
                errors.append(
                    {"row": number, "field": ".".join(str(p) for p in err["loc"]) or "row", "message": err["msg"]}
                )
            continue
        values = camera.model_dump(mode="python")
        values["_row"] = number
        batch.append(values)
        if len(batch) >= BATCH:
            flush()
            if progress:
                progress(seen)
    flush()
    if progress:
        progress(seen)
    if seen == 0:
        raise RuleViolation("body", "the file holds no camera rows (a CSV with a header row, or a FeatureCollection)")
    errors.sort(key=lambda e: e["row"])
    append_event(
        session,
        actor=actor.label,
        action="cameras.imported",
        object_type="camera_import",
        where=actor.where(),
        details={"rows": seen, "created": created, "updated": updated, "errors": len(errors)},
    )
    return {"created": created, "updated": updated, "errors": errors}


def import_file(session: Session, actor: Actor, stream: IO[bytes]) -> dict[str, Any]:
    """Import a seekable CSV or GeoJSON FeatureCollection file, told apart by its first bytes, row by row."""
    geojson = sniff_geojson(stream.read(64))
    stream.seek(0)
    rows = geojson_rows(stream) if geojson else csv_rows(stream)
    try:
        return import_cameras(session, actor, rows)
    except (ValueError, UnicodeDecodeError, csv.Error, ijson.JSONError) as exc:
        raise RuleViolation("body", f"not a readable CSV or GeoJSON file: {exc}") from exc


def _inserted_flag() -> Any:
    from sqlalchemy import literal_column

    return literal_column("(xmax = 0)").label("inserted")


def export_geojson(session: Session) -> Iterator[bytes]:
    """The whole registry as a GeoJSON FeatureCollection, streamed feature by feature."""
    yield b'{"type":"FeatureCollection","features":['
    first = True
    for camera in session.scalars(
        select(Camera).order_by(Camera.external_id, Camera.id).execution_options(yield_per=1000)
    ):
        props = {name: _plain(getattr(camera, name)) for name in EXPORT_FIELDS if name not in {"lat", "lon"}}
        props["id"] = str(camera.id)
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [camera.lon, camera.lat]},
            "properties": props,
        }
        yield (b"" if first else b",") + json.dumps(feature, ensure_ascii=False).encode("utf-8")
        first = False
    yield b"]}"


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
