"""All outages: every public incident, newest first, filtered, paginated, with its Atom feed;
the list and the feed show the same incidents as the service pages and the API."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest

from catalogue.models import Service
from geo.models import City
from outages.models import IncidentCity
from tests.detection_helpers import T0
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def history(chatgpt):
    steam = Service.objects.get(slug="steam")
    milan = City.objects.create(name_en="Milan", country_code="IT", region="", latitude=45.46, longitude=9.19)
    paris = City.objects.create(name_en="Paris", country_code="FR", region="", latitude=48.85, longitude=2.35)
    old = incident(chatgpt, started_at=T0 - dt.timedelta(days=2), status="confirmed")
    hidden = incident(chatgpt, started_at=T0 - dt.timedelta(days=1), status="dismissed")
    ongoing = incident(chatgpt, started_at=T0, resolved=False)
    gaming = incident(steam, started_at=T0 - dt.timedelta(hours=3))
    IncidentCity.objects.create(incident=ongoing, city=milan, count=40, excess=30, first_flagged_at=T0)
    IncidentCity.objects.create(incident=gaming, city=paris, count=12, excess=9, first_flagged_at=T0)
    return {"old": old.pk, "hidden": hidden.pk, "ongoing": ongoing.pk, "gaming": gaming.pk}


def listed(client, query: str = "") -> list[int]:
    response = client.get(f"/incidents/{query}")
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'data-incident="(\d+)"', response.content.decode())]


def fed(client, query: str = "") -> list[int]:
    root = ET.fromstring(client.get(f"/incidents.atom{query}").content)
    return [int(entry.find(f"{ATOM}id").text.rsplit("-", 1)[1]) for entry in root.findall(f"{ATOM}entry")]


def test_the_list_shows_public_incidents_newest_first_like_the_api_and_the_feed(client, history):
    shown = listed(client)
    api = [row["id"] for row in client.get("/api/v1/incidents/").json()]

    assert shown == [history["ongoing"], history["gaming"], history["old"]]
    assert history["hidden"] not in shown
    assert shown == api == fed(client)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?service=chatgpt", ["ongoing", "old"]),
        ("?category=gaming", ["gaming"]),
        ("?country=fr", ["gaming"]),
        ("?ongoing=true", ["ongoing"]),
        ("?ongoing=false&service=chatgpt", ["old"]),
        (f"?date={(T0 - dt.timedelta(days=2)).date().isoformat()}", ["old"]),
    ],
)
def test_each_filter_narrows_the_list_and_the_feed_alike(client, history, query, expected):
    assert listed(client, query) == [history[name] for name in expected]
    assert fed(client, query) == [history[name] for name in expected]


def test_a_bad_filter_is_a_400_that_says_what_to_fix(client, history):
    response = client.get("/incidents/?country=Italy&service=nope")

    assert response.status_code == 400
    body = response.content.decode()
    assert "two-letter country code" in body and "No service nope" in body


def test_the_list_is_paginated(client, chatgpt):
    for hours in range(30):
        incident(chatgpt, started_at=T0 - dt.timedelta(hours=hours))

    first, second = listed(client), listed(client, "?page=2")

    assert len(first) == 25 and len(second) == 5
    assert not set(first) & set(second)


def test_category_and_country_are_select_lists_of_what_exists(client, history):
    page = client.get("/incidents/", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    category = re.search(r'<select name="category".*?</select>', page, re.S)
    country = re.search(r'<select name="country".*?</select>', page, re.S)
    assert category is not None and country is not None
    assert '<option value="telecom">Operatori telefonici</option>' in category.group(0)
    assert '<option value="FR">Francia</option>' in country.group(0)
    assert listed(client, "?category=Gaming&country=FR") == [history["gaming"]]
    assert client.get("/incidents/?category=nope").status_code == 400
