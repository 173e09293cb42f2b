"""Great-circle distance, bearing, and whether a camera's field of view covers a point."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north, in [0, 360)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360) % 360


LonRange = tuple[float, float]
NO_LONGITUDES: LonRange = (1.0, 0.0)  # an empty range (min > max): matches nothing
ALL_LONGITUDES: LonRange = (-180.0, 180.0)


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, LonRange, LonRange]:
    """(min_lat, max_lat, first longitude range, second longitude range) enclosing the circle; the longitude
    span is widened by the latitude. A circle across the antimeridian needs two longitude ranges (the second is
    NO_LONGITUDES otherwise); one around a pole takes every longitude."""
    dlat = radius_m / METRES_PER_DEGREE_LAT
    min_lat, max_lat = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if min_lat <= -90.0 or max_lat >= 90.0:
        return min_lat, max_lat, ALL_LONGITUDES, NO_LONGITUDES
    dlon = dlat / max(math.cos(math.radians(max(abs(min_lat), abs(max_lat)))), 1e-9)
    if dlon >= 180.0:
        return min_lat, max_lat, ALL_LONGITUDES, NO_LONGITUDES
    west, east = lon - dlon, lon + dlon
    if west < -180.0:
        return min_lat, max_lat, (-180.0, east), (west + 360.0, 180.0)
    if east > 180.0:
        return min_lat, max_lat, (west, 180.0), (-180.0, east - 360.0)
    return min_lat, max_lat, (west, east), NO_LONGITUDES


def covers_point(
    cam_lat: float,
    cam_lon: float,
    direction_deg: float | None,
    fov_deg: float | None,
    range_m: float | None,
    lat: float,
    lon: float,
) -> bool | None:
    """Whether the point lies within range and within direction ± fov/2; None when the direction is unknown."""
    if direction_deg is None:
        return None
    distance = distance_m(cam_lat, cam_lon, lat, lon)
    if range_m is not None and distance > range_m:
        return False
    if distance < 0.5:  # the camera's own position
        return True
    fov = fov_deg if fov_deg is not None else 90.0
    if fov >= 360:
        return True
    off_axis = abs((bearing_deg(cam_lat, cam_lon, lat, lon) - direction_deg + 180) % 360 - 180)
    return off_axis <= fov / 2 + 1e-9
