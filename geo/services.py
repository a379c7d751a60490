from __future__ import annotations

from django.db import IntegrityError, transaction

from geo.gazetteer import italian_names, match_city
from geo.lookup import Location
from geo.models import City

# Cities are created once and never renamed by ingest, so each process remembers the
# ones it has seen and a report costs no City query after the first from a place.
_city_cache: dict[tuple[str, str, str], City] = {}


def city_for_location(location: Location) -> City | None:
    """The City row for `location`, created on first sight; None when only the country is known."""
    if not location.city:
        return None
    key = (location.country_code, location.region, location.city)
    city = _city_cache.get(key)
    if city is None:
        city = _city_get_or_create(location)
        _city_cache[key] = city
    return city


def city_cache_clear() -> None:
    _city_cache.clear()


def _city_get_or_create(location: Location) -> City:
    lookup = {
        "country_code": location.country_code,
        "region": location.region,
        "name_en": location.city,
    }
    existing = City.objects.filter(**lookup).first()
    if existing is not None:
        return existing
    details = _city_details(location)
    # Two spellings of a region can name one GeoNames city: they share its row.
    if details["geoname_id"] is not None:
        same_place = City.objects.filter(geoname_id=details["geoname_id"]).first()
        if same_place is not None:
            return same_place
    try:
        with transaction.atomic():
            return City.objects.create(**lookup, **details)
    except IntegrityError:  # another process created it first
        return City.objects.filter(**lookup).first() or City.objects.get(geoname_id=details["geoname_id"])


def _city_details(location: Location) -> dict:
    details: dict = {
        "geoname_id": location.geoname_id,
        "name_it": location.city_it,
        "latitude": location.latitude,
        "longitude": location.longitude,
    }
    match = match_city(location.city, location.country_code, location.latitude, location.longitude)
    if match is not None:
        details.update(
            geoname_id=location.geoname_id or match.geoname_id,
            name_it=location.city_it or italian_names().get(match.geoname_id, ""),
            latitude=match.latitude,
            longitude=match.longitude,
            timezone=match.timezone,
            population=match.population,
        )
    return details
