"""The country a page or API is shown for: one rule (geo/countries.py) and its selector."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import translation

from geo.countries import (
    UnknownCountry,
    api_country,
    country_code,
    country_name,
    page_country,
    selectable_countries,
)
from geo.models import City

ITALIAN_ADDRESS = "79.0.0.1"  # Telecom Italia, placed in Italy by the bundled database
US_ADDRESS = "8.8.8.8"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("IT", "IT"), (" it ", "IT"), ("us", "US"), ("", ""), ("all", ""), ("ALL", ""), ("worldwide", "")],
)
def test_a_country_is_an_iso_code_or_worldwide(value, expected):
    assert country_code(value) == expected


@pytest.mark.parametrize("value", ["XX", "ITA", "Italy", "I", "1T", "<script>", "I\u0307T"])
def test_anything_else_is_refused_with_a_message_that_says_what_to_use(value):
    with pytest.raises(UnknownCountry, match="two-letter ISO 3166 code such as IT"):
        country_code(value)


def test_country_names_follow_the_active_language():
    with translation.override("it"):
        assert country_name("IT") == "Italia"
        assert country_name("DE") == "Germania"
    with translation.override("en"):
        assert country_name("IT") == "Italy"
    assert country_name("") == ""


def request(path="/", remote=ITALIAN_ADDRESS, cookie=None):
    factory = RequestFactory(REMOTE_ADDR=remote)
    made = factory.get(path)
    if cookie is not None:
        made.COOKIES["downradar_country"] = cookie
    return made


def test_the_address_parameter_beats_the_remembered_choice_which_beats_the_lookup():
    assert page_country(request("/?country=US", cookie="DE")) == "US"
    assert page_country(request("/?country=all", cookie="DE")) == ""
    assert page_country(request("/", cookie="DE")) == "DE"
    assert page_country(request("/", cookie="all")) == ""
    assert page_country(request("/")) == "IT"
    assert page_country(request("/", remote=US_ADDRESS)) == "US"


def test_without_a_located_address_the_language_decides():
    with translation.override("it"):
        assert page_country(request("/", remote="127.0.0.1")) == "IT"
    with translation.override("en"):
        assert page_country(request("/", remote="127.0.0.1")) == ""


def test_a_forged_cookie_is_ignored_but_a_bad_parameter_is_an_error():
    assert page_country(request("/", remote="127.0.0.1", cookie="<x>")) == ""
    with pytest.raises(UnknownCountry):
        page_country(request("/?country=ZZ"))


def test_apis_answer_for_the_parameter_only_whoever_asks():
    assert api_country(request("/api/v1/services/", cookie="DE")) == ""
    assert api_country(request("/api/v1/services/")) == ""
    assert api_country(request("/api/v1/services/?country=it")) == "IT"


@pytest.mark.django_db
def test_the_selector_offers_the_countries_with_located_reports_by_their_local_name():
    for code, name in [("IT", "Milan"), ("US", "New York"), ("DE", "Berlin")]:
        City.objects.create(country_code=code, name_en=name, region="", latitude=0, longitude=0)
    with translation.override("it"):
        assert selectable_countries() == [
            ("DE", "Germania"),
            ("IT", "Italia"),
            ("US", "Stati Uniti d'America"),
        ]
    with translation.override("en"):
        assert [code for code, _ in selectable_countries("FR")] == ["FR", "DE", "IT", "US"]


@pytest.mark.django_db
def test_choosing_a_country_remembers_it_and_returns_to_the_page_without_its_parameter(client):
    response = client.post("/i18n/setcountry/", {"country": "it", "next": "/s/chatgpt/?country=US&x=1"})

    assert response.status_code == 302
    assert response["Location"] == "/s/chatgpt/?x=1"
    assert response.cookies["downradar_country"].value == "IT"

    worldwide = client.post("/i18n/setcountry/", {"country": "all", "next": "/"})
    assert worldwide.cookies["downradar_country"].value == "all"


@pytest.mark.django_db
def test_choosing_a_country_never_redirects_off_site_and_refuses_a_bad_code(client):
    response = client.post("/i18n/setcountry/", {"country": "US", "next": "https://evil.example/"})
    assert response["Location"] == "/"

    bad = client.post("/i18n/setcountry/", {"country": "Narnia", "next": "/"})
    assert bad.status_code == 400
    assert "ISO 3166" in bad.content.decode()
    assert "downradar_country" not in bad.cookies

    assert client.get("/i18n/setcountry/").status_code == 405


@pytest.mark.django_db
def test_every_page_has_the_selector_beside_the_language_with_the_choice_selected(client):
    City.objects.create(country_code="IT", name_en="Milan", region="", latitude=0, longitude=0)
    client.cookies["downradar_country"] = "IT"

    page = client.get("/").content.decode()

    assert 'data-country="IT"' in page
    assert 'id="country-select"' in page
    assert '<option value="IT" selected>Italy</option>' in page
    assert page.index('id="language-select"') < page.index('id="country-select"')
