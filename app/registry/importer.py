"""Bulk camera import (CSV or GeoJSON, streamed) with per-row errors, and the GeoJSON export that round-trips.

Rows are validated one by one and upserted by `external_id` in batches, so a 100,000-row file is read in
constant memory; every bad row is reported with its number, field and message — none is silently dropped.
A row names its owner by `owner_external_id` or `owner_phone` (an owner not yet known is created from
`owner_name`, once per file), or — as before — by `owner_id`. Each error carries a `code` (and `params`) the
pages translate.
"""

from __future__ import annotations

import codecs
import csv
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from uuid import UUID

import ijson
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.core import clock, phones
from app.core.errors import RuleViolation
from app.custody.service import append_event
from app.registry.models import OWNER_KINDS, Camera, Owner
from app.registry.schemas import CameraCreate, CameraRead, OwnerCreate

BATCH = 1000
EXPORT_FIELDS = [name for name in CameraRead.model_fields if name not in {"id", "created_at", "updated_at"}]
OWNER_COLUMNS = ("owner_external_id", "owner_phone", "owner_name", "owner_kind", "owner_email", "owner_address")


def _problem(row: int, field: str, message: str, code: str, **params: Any) -> dict[str, Any]:
    return {
        "row": row,
        "field": field,
        "message": message,
        "code": code,
        "params": {k: _param(v) for k, v in params.items()},
    }


def _param(value: Any) -> str:
    """A limit as a person writes it: 90, not 90.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class OwnerMatcher:
    """Finds the owner a row names (register number, then phone), creating one per new owner in the file."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_external: dict[str, UUID] = {}
        self.by_phone: dict[str, UUID] = {}
        self.created = 0

    def resolve(self, number: int, record: dict[str, Any]) -> UUID | dict[str, Any]:
        """The owner's id, or the row's error."""
        external = record.pop("owner_external_id", None)
        phone = record.pop("owner_phone", None)
        fields = {name: record.pop(f"owner_{name}", None) for name in ("name", "kind", "email", "address")}
        if record.get("owner_id"):
            return (
                UUID(str(record["owner_id"]))
                if _is_uuid(record["owner_id"])
                else _problem(number, "owner_id", "not a valid owner id", "owner_id_invalid")
            )
        if not external and not phone:
            return _problem(
                number, "owner_phone", "name the owner by owner_phone or owner_external_id", "owner_missing"
            )
        external = str(external) if external else None
        digits = None
        if phone:
            try:
                digits = phone = phones.normalise(str(phone))
            except phones.PhoneError:
                return _problem(
                    number,
                    "owner_phone",
                    "not a phone number; write it as 0903 123 456 or +84 903 123 456",
                    "phone_invalid",
                )
        found = self.by_external.get(external) if external else None
        if found is None and external:
            found = self.session.scalar(select(Owner.id).where(Owner.external_id == external))
        if found is None and digits and not external:
            found = self.by_phone.get(digits)
            if found is None:
                matches = self.session.scalars(select(Owner.id).where(Owner.phone == digits).limit(2)).all()
                if len(matches) > 1:
                    return _problem(
                        number,
                        "owner_phone",
                        "several owners have this phone; use owner_external_id",
                        "owner_ambiguous",
                    )
                found = matches[0] if matches else None
        if found is None:
            if not fields["name"]:
                return _problem(number, "owner_name", "a new owner needs owner_name", "owner_name_missing")
            kind = fields["kind"] or "household"
            if kind not in OWNER_KINDS:
                return _problem(
                    number,
                    "owner_kind",
                    f"one of {', '.join(OWNER_KINDS)}",
                    "owner_kind",
                    allowed=", ".join(OWNER_KINDS),
                )
            try:
                body = OwnerCreate.model_validate(
                    {
                        "name": fields["name"],
                        "kind": kind,
                        "phone": phone,
                        "email": fields["email"],
                        "address": fields["address"],
                        "external_id": external,
                    }
                )
            except ValidationError as exc:
                err = exc.errors()[0]
                field = "owner_" + ".".join(str(p) for p in err["loc"])
                return _problem(number, field, err["msg"], "invalid")
            owner = Owner(id=uuid.uuid4(), **body.model_dump(mode="python"))
            if owner.email:
                owner.email = owner.email.lower()
            self.session.add(owner)
            self.created += 1
            found = owner.id
        if external:
            self.by_external[external] = found
        if digits:
            self.by_phone.setdefault(digits, found)
        return found


def _is_uuid(value: Any) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


def sniff_geojson(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


@dataclass(frozen=True)
class RowProblem:
    """A row that could not be read at all; reported with its number like any refused row."""

    field: str
    message: str
    code: str = "row_unreadable"


Row = tuple[int, dict[str, Any] | RowProblem]


def csv_rows(stream: IO[bytes]) -> Iterator[Row]:
    """Data rows numbered from 2 (row 1 is the header), empty cells as None; UTF-8 with or without BOM.
    A row with more or fewer cells than the header, an unterminated quote or an over-long cell is reported as a
    RowProblem for that row; the rows after it are still read."""
    reader = csv.reader(codecs.getreader("utf-8-sig")(stream), strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        raise RuleViolation("body", f"the header row is not readable CSV ({exc})") from exc
    if len(header) > MAX_CSV_COLUMNS:
        raise RuleViolation("body", f"the header has {len(header)} columns; at most {MAX_CSV_COLUMNS} are read")
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield number, RowProblem("row", f"not readable CSV ({exc}); check its quotes")
            continue
        if not cells:
            continue
        number += 1
        if len(cells) != len(header):
            yield (
                number,
                RowProblem("row", f"the row has {len(cells)} cells where the header has {len(header)}", "row_cells"),
            )
            continue
        yield number, {name: (cell.strip() or None) for name, cell in zip(header, cells, strict=True) if name}


# A Feature is at most a few levels deep (collection → features → feature → properties/geometry → coordinates);
# deeper input is refused before anything is built from it, so a small body cannot make the parser grow without
# bound (a 200 KB body nested 100,000 levels deep once drove the process out of memory).
MAX_GEOJSON_DEPTH = 16
MAX_CSV_COLUMNS = 200
FEATURE_DEPTH = 3


def geojson_rows(stream: IO[bytes]) -> Iterator[Row]:
    """Features numbered from 1; Point geometry gives lon/lat, properties the rest."""
    for number, feature in enumerate(_features(stream), start=1):
        if not isinstance(feature, dict):
            raise RuleViolation("body", f"feature {number} is not a GeoJSON object")
        props = dict(feature.get("properties") or {})
        geometry = feature.get("geometry") or {}
        coords = geometry.get("coordinates") if isinstance(geometry, dict) and geometry.get("type") == "Point" else None
        if isinstance(coords, list) and len(coords) >= 2:
            props.setdefault("lon", coords[0])
            props.setdefault("lat", coords[1])
        yield number, props


def _features(stream: IO[bytes]) -> Iterator[Any]:
    """Each element of the top-level `features` array, built from the parser's events with the depth checked at
    every opening bracket (ijson's own `items` keeps a prefix per level and grows with the depth)."""
    depth = 0  # after an opening bracket: its level (the top object is 1, a feature object 3)
    in_features = False
    key: str | None = None
    builder: ijson.ObjectBuilder | None = None
    for event, value in ijson.basic_parse(stream, use_float=True):
        if event in ("start_map", "start_array"):
            depth += 1
            if depth > MAX_GEOJSON_DEPTH:
                raise RuleViolation("body", f"the GeoJSON is nested deeper than {MAX_GEOJSON_DEPTH} levels")
        if builder is not None:
            builder.event(event, value)
            if event in ("end_map", "end_array") and depth == FEATURE_DEPTH:
                yield builder.value
                builder = None
        elif in_features and depth == 2 and event == "end_array":
            in_features = False
        elif in_features:
            builder = ijson.ObjectBuilder()
            builder.event(event, value)
            if event not in ("start_map", "start_array"):
                yield builder.value
                builder = None
        elif depth == 1 and event == "map_key":
            key = value
        elif depth == 2 and event == "start_array" and key == "features":
            in_features = True
        if event in ("end_map", "end_array"):
            depth -= 1


def import_cameras(
    session: Session, actor: Actor, rows: Iterable[Row], progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Validate and upsert rows; returns {created, updated, errors: [{row, field, message}]}."""
    created = updated = seen = 0
    errors: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    known_owners: set[UUID] = set()
    owners_by_row = OwnerMatcher(session)

    def flush() -> None:
        nonlocal created, updated
        if not batch:
            return
        session.flush()  # owners created for this batch's rows
        owners = {r["owner_id"] for r in batch} - known_owners
        if owners:
            known_owners.update(session.scalars(select(Owner.id).where(Owner.id.in_(owners))))
        good = []
        for record in batch:
            if record["owner_id"] in known_owners:
                good.append(record)
            else:
                errors.append(
                    _problem(record.pop("_row"), "owner_id", f"unknown owner {record['owner_id']}", "owner_unknown")
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

    for number, read in rows:
        seen += 1
        if isinstance(read, RowProblem):
            errors.append(_problem(number, read.field, read.message, read.code))
            continue
        # An empty cell means "not given": the field's default applies (e.g. the programme's time zone).
        record = {name: value for name, value in read.items() if value is not None}
        if not record.get("external_id"):
            errors.append(_problem(number, "external_id", "required to import (upsert key)", "missing"))
            continue
        owner = owners_by_row.resolve(number, record)
        if isinstance(owner, dict):
            errors.append(owner)
            continue
        record["owner_id"] = owner
        try:
            camera = CameraCreate.model_validate(record)
        except ValidationError as exc:
            for err in exc.errors():
                errors.append(
                    _problem(
                        number,
                        ".".join(str(p) for p in err["loc"]) or "row",
                        err["msg"],
                        err["type"],
                        **{k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, int | float | str)},
                    )
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
        details={
            "rows": seen,
            "created": created,
            "updated": updated,
            "owners_created": owners_by_row.created,
            "errors": len(errors),
        },
    )
    return {"created": created, "updated": updated, "owners_created": owners_by_row.created, "errors": errors}


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
