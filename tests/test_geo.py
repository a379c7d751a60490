from __future__ import annotations

import pytest

from geo.ip import parse_ip
from geo.lookup import locate
from geo.models import City
from geo.services import city_for_location
from tests.helpers import BOLOGNA_IP, MILAN_IP, MOUNTAIN_VIEW_IP, SYDNEY_IP


@pytest.mark.parametrize(
    ("ip", "city", "country"),
    [
        (MILAN_IP, "Milan", "IT"),
        (SYDNEY_IP, "Sydney", "AU"),
        (MOUNTAIN_VIEW_IP, "Mountain View", "US"),
        (BOLOGNA_IP, "Bologna", "IT"),
        (f"::ffff:{MILAN_IP}", "Milan", "IT"),
    ],
)
def test_bundled_database_places_sanity_addresses(ip, city, country):
    location = locate(parse_ip(ip))

    assert location is not None
    assert (location.city, location.country_code) == (city, country)
    assert location.latitude is not None and location.longitude is not None


@pytest.mark.parametrize("ip", ["10.1.2.3", "192.168.0.1", "127.0.0.1", "::1", "fe80::1", "203.0.113.5"])
def test_private_and_reserved_addresses_have_no_location(ip):
    assert locate(parse_ip(ip)) is None


def test_first_report_from_a_city_creates_it_with_geoname_id_and_italian_name(db):
    city = city_for_location(locate(parse_ip(MILAN_IP)))

    stored = City.objects.get(pk=city.pk)
    assert stored.geoname_id == 3173435
    assert (stored.name_en, stored.name_it, stored.country_code) == ("Milan", "Milano", "IT")
    assert stored.timezone == "Europe/Rome"
    assert stored.local_name("it") == "Milano"
    assert stored.local_name("en") == "Milan"


def test_a_city_is_created_once(db):
    first = city_for_location(locate(parse_ip(MILAN_IP)))
    from geo.services import city_cache_clear

    city_cache_clear()  # as another process would see it
    second = city_for_location(locate(parse_ip("93.56.1.2")))

    assert first.pk == second.pk
    assert City.objects.filter(name_en="Milan").count() == 1


def test_city_outside_the_italian_name_list_keeps_its_english_name(db):
    city = city_for_location(locate(parse_ip(SYDNEY_IP)))

    assert city.name_it == ""
    assert city.local_name("it") == "Sydney"
