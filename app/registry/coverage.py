"""The coverage search investigators start every case with: the cameras around a point, soonest overwrite
deadline first, each with its distance, whether its field of view covers the point, its owner's consent at
the time of interest, and when its recorder overwrites footage from that time.

One statement, built once in Core: the ranked page of cameras with every column the answer shows and the
consents that apply to each (an indexed bounding box narrows the rows on the B-tree over lat, lon, whose
index also carries the ranking columns; the haversine distance decides). `search_page` runs it on the read
pool (the API); `search` runs the same statement through a Session (pages, area requests). Both build the
hits with `_hits`, so a hit has one definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, and_, bindparam, cast, func, or_, select, true
from sqlalchemy.orm import Session

from app.auth.schemas import Page
from app.core import clock, reads
from app.registry import geo
from app.registry.consent import state_at
from app.registry.models import Camera, Consent
from app.registry.schemas import CameraHit, CameraRead

# The camera columns a hit shows: CameraRead's fields, each a column of cameras.
CAMERA_FIELDS = tuple(CameraRead.model_fields)


def _haversine() -> Any:
    """Great-circle distance (m) from the point (:lat, :lon) to each camera, in SQL, for the exact radius."""
    rlat, rlon = func.radians(Camera.lat), func.radians(Camera.lon)
    plat, plon = func.radians(bindparam("lat", type_=Float)), func.radians(bindparam("lon", type_=Float))
    a = func.power(func.sin((rlat - plat) / 2), 2) + func.cos(plat) * func.cos(rlat) * func.power(
        func.sin((rlon - plon) / 2), 2
    )
    return cast(2 * geo.EARTH_RADIUS_M * func.asin(func.least(1.0, func.sqrt(a))), Float)


def _statements() -> tuple[reads.Statement, reads.Statement]:
    box = and_(
        Camera.lat.between(bindparam("min_lat", type_=Float), bindparam("max_lat", type_=Float)),
        or_(
            Camera.lon.between(bindparam("min_lon", type_=Float), bindparam("max_lon", type_=Float)),
            Camera.lon.between(bindparam("min_lon_2", type_=Float), bindparam("max_lon_2", type_=Float)),
        ),
    )
    inner = select(Camera.id, _haversine().label("distance_m"), Camera.retention_days).where(box).subquery("box")
    within = inner.c.distance_m <= bindparam("radius_m", type_=Float)
    # Rank on the narrow rows, then read the page's cameras by primary key: the window and the sort carry
    # three columns of the ~2,000 rows in a dense city, not every column.
    ranked = (
        select(inner.c.id, inner.c.distance_m, inner.c.retention_days, func.count().over().label("total"))
        .where(within)
        .order_by(inner.c.retention_days, inner.c.distance_m, inner.c.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("ranked")
    )
    # The consents that apply to each camera of the page (owner-wide or for that camera), as three parallel
    # arrays: folded into the page's statement, one round trip fewer than a statement of their own.
    applying = (
        select(
            func.array_agg(Consent.valid_from).label("consent_valid_from"),
            func.array_agg(Consent.valid_until).label("consent_valid_until"),
            func.array_agg(Consent.withdrawn_at).label("consent_withdrawn_at"),
        )
        .where(Consent.owner_id == Camera.owner_id, or_(Consent.camera_id.is_(None), Consent.camera_id == Camera.id))
        .lateral("applying")
    )
    columns = [Camera.__table__.c[name] for name in CAMERA_FIELDS]
    page = (
        select(*columns, ranked.c.distance_m, ranked.c.total, *applying.c)
        .join_from(ranked, Camera, Camera.id == ranked.c.id)
        .join(applying, true())
        .order_by(ranked.c.retention_days, ranked.c.distance_m, ranked.c.id)
    )
    count = select(func.count().label("total")).select_from(inner).where(within)
    return reads.prepare(page), reads.prepare(count)


_PAGE, _COUNT = _statements()
# The page's columns besides the camera's own, read by `_hits` and not part of a hit.
_SEARCH_COLUMNS = ("distance_m", "total", "consent_valid_from", "consent_valid_until", "consent_withdrawn_at")
_PAGE_OF_HITS = Page[CameraHit]


@dataclass(frozen=True, slots=True)
class _ConsentTerms:
    """What the consent rule reads of one consent."""

    valid_from: datetime
    valid_until: datetime | None
    withdrawn_at: datetime | None


def _params(lat: float, lon: float, radius_m: float, limit: int, offset: int) -> dict[str, Any]:
    min_lat, max_lat, (min_lon, max_lon), (min_lon_2, max_lon_2) = geo.bounding_box(lat, lon, radius_m)
    return {
        "lat": lat,
        "lon": lon,
        "radius_m": radius_m,
        "min_lat": min_lat,
        "max_lat": max_lat,
        "min_lon": min_lon,
        "max_lon": max_lon,
        "min_lon_2": min_lon_2,
        "max_lon_2": max_lon_2,
        "limit": limit,
        "offset": offset,
    }


def _hits(rows: Sequence[Mapping[Any, Any]], lat: float, lon: float, at: datetime) -> list[dict[str, Any]]:
    """The hits of one page: each camera's columns, its distance, coverage, consent state at `at`,
    overwrite deadline (at + recorder retention) and whether that deadline has passed."""
    now = clock.now()
    hits = []
    for row in rows:
        applying = [
            _ConsentTerms(*terms)
            for terms in zip(
                row["consent_valid_from"] or (),
                row["consent_valid_until"] or (),
                row["consent_withdrawn_at"] or (),
                strict=True,
            )
        ]
        deadline = at + timedelta(days=row["retention_days"])
        hit = dict(row)  # the camera's columns (CAMERA_FIELDS), then what the search adds
        for name in _SEARCH_COLUMNS:
            del hit[name]
        hit["distance_m"] = round(float(row["distance_m"]), 2)
        hit["covers_point"] = geo.covers_point(
            row["lat"], row["lon"], row["direction_deg"], row["fov_deg"], row["range_m"], lat, lon
        )
        hit["consent"] = state_at(applying, at)[0]
        hit["overwrite_deadline"] = deadline
        hit["overwritten"] = deadline <= now
        hits.append(hit)
    return hits


def search(
    session: Session, lat: float, lon: float, radius_m: float, at: datetime, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Cameras within `radius_m` of the point, soonest overwrite deadline first (deadline = at + retention),
    then nearest; the page asked for and the number of cameras within the radius."""
    params = _params(lat, lon, radius_m, limit, offset)
    rows = session.execute(_PAGE.core, params).mappings().all()
    total = int(rows[0]["total"]) if rows else 0
    if not rows and offset:  # a page past the end: the window count has no row to ride on
        total = int(session.execute(_COUNT.core, params).scalar_one())
    return _hits(rows, lat, lon, at), total


async def search_page(
    lat: float, lon: float, radius_m: float, at: datetime, limit: int, offset: int
) -> Page[CameraHit]:
    """The same search as `search`, read from the read pool (no Session, no ORM objects), as the API's page."""
    params = _params(lat, lon, radius_m, limit, offset)
    rows = await reads.fetch_all(_PAGE, params)
    total = int(rows[0]["total"]) if rows else 0
    if not rows and offset:  # a page past the end: the window count has no row to ride on
        count = await reads.fetch_one(_COUNT, params)
        total = int(count["total"]) if count else 0
    return _PAGE_OF_HITS.model_validate({"items": _hits(rows, lat, lon, at), "total": total})
