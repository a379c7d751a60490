"""Pages that machines read: robots.txt, favicon.ico, sitemap.xml, each page's title, meta
description, Open Graph and Twitter card tags and canonical link, the feeds' links and ids, and
the incident chart's times."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from catalogue.models import Service
from outages.models import ServiceStatus
from outages.status import status_apply
from tests.detection_helpers import T0
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"


def meta(page: str, attribute: str, name: str) -> str | None:
    found = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def title(page: str) -> str:
    found = re.search(r"<title>(.*?)</title>", page, re.S)
    assert found is not None
    return html.unescape(found.group(1).strip())


def canonical(page: str) -> str | None:
    found = re.search(r'<link rel="canonical" href="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def test_robots_txt_keeps_crawlers_out_of_the_review_and_names_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert {"Disallow: /review/", "Disallow: /admin/", "Disallow: /api/"} <= set(lines)
    assert "Sitemap: http://testserver/sitemap.xml" in lines


def test_favicon_ico_is_the_site_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content
    assert "max-age=86400" in response["Cache-Control"]


def test_the_sitemap_lists_services_categories_and_public_incidents_only(client, chatgpt):
    shown = incident(chatgpt)
    dismissed = incident(chatgpt, started_at=T0 + dt.timedelta(hours=2), status="dismissed")

    response = client.get("/sitemap.xml")

    assert response.status_code == 200
    root = ET.fromstring(response.content)
    locations = {url.find(f"{SITEMAP}loc").text for url in root.findall(f"{SITEMAP}url")}
    assert {"http://testserver/", "http://testserver/map/", "http://testserver/incidents/"} <= locations
    active = Service.objects.active().values_list("slug", flat=True)
    assert {f"http://testserver/s/{slug}/" for slug in active} <= locations
    assert {"http://testserver/c/ai/", "http://testserver/c/telecom/"} <= locations
    assert f"http://testserver/incidents/{shown.pk}/" in locations
    assert f"http://testserver/incidents/{dismissed.pk}/" not in locations
    for location in locations:
        assert client.get(location.removeprefix("http://testserver")).status_code == 200, location


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/", "Is it down? Live outages and problems · Downradar"),
        ("/c/telecom/", "Telecom operators · Downradar"),
        ("/search/?q=chat", "Services matching “chat” · Downradar"),
        ("/s/chatgpt/", "ChatGPT down? Current problems and outages · Downradar"),
        ("/map/", "Outage map · Downradar"),
        ("/incidents/", "All outages · Downradar"),
    ],
)
def test_each_page_has_its_own_title_description_and_card(client, url, expected):
    page = client.get(url).content.decode()

    assert title(page) == expected
    description = meta(page, "name", "description")
    assert description
    assert (
        meta(page, "property", "og:description") == meta(page, "name", "twitter:description") == description
    )
    assert meta(page, "property", "og:title") and meta(page, "name", "twitter:card") == "summary"
    assert meta(page, "property", "og:url") == canonical(page)


def test_category_and_search_pages_describe_themselves_not_the_home_page(client):
    home = meta(client.get("/").content.decode(), "name", "description")

    assert meta(client.get("/c/telecom/").content.decode(), "name", "description") != home
    assert "chat" in meta(client.get("/search/?q=chat").content.decode(), "name", "description")


def test_the_service_card_says_its_status_in_the_visitor_s_language(client, chatgpt):
    now = timezone.now()
    status_apply(
        ServiceStatus(service=chatgpt, evidence="outage", count=131, baseline=4.0, minute=now), None
    ).save()

    english = client.get("/s/chatgpt/").content.decode()
    italian = client.get("/s/chatgpt/?country=all", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    assert meta(english, "property", "og:title") == "ChatGPT: Problems detected"
    assert meta(english, "name", "twitter:title") == "ChatGPT: Problems detected"
    assert meta(english, "name", "description").startswith("Problems detected. ")
    assert meta(italian, "property", "og:title") == "ChatGPT: Problemi rilevati"


def test_the_canonical_link_keeps_what_makes_the_page_and_drops_the_rest(client):
    assert (
        canonical(client.get("/s/chatgpt/?utm_source=x").content.decode()) == "http://testserver/s/chatgpt/"
    )
    assert (
        canonical(client.get("/s/chatgpt/?country=IT&utm_source=x").content.decode())
        == "http://testserver/s/chatgpt/?country=IT"
    )
    assert canonical(client.get("/search/?q=chat").content.decode()) == "http://testserver/search/?q=chat"


def test_feed_entries_link_to_pages_that_exist_and_have_tag_ids(client, chatgpt):
    first = incident(chatgpt)

    root = ET.fromstring(client.get("/incidents.atom").content)
    entry = root.find(f"{ATOM}entry")

    assert entry.find(f"{ATOM}id").text == f"tag:localhost,2026-03-10:incident-{first.pk}"
    link = entry.find(f"{ATOM}link").get("href")
    page = client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    # The service page lists it under the anchor older feed readers kept.
    assert f'id="incident-{first.pk}"' in client.get("/s/chatgpt/").content.decode()


def test_the_incident_chart_data_is_utc_with_a_z(client, chatgpt):
    shown = incident(chatgpt, started_at=timezone.now() - dt.timedelta(hours=2))

    page = client.get(f"/incidents/{shown.pk}/").content.decode()

    data = json.loads(
        re.search(r'<script id="timeseries-data" type="application/json">(.*?)</script>', page).group(1)
    )
    assert data
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", bucket["start"]) for bucket in data)
