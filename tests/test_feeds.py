"""Atom and RSS feeds of a service's incidents: valid XML, public incidents only."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from outages.review.models import IncidentReview
from tests.detection_helpers import T0
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def tag(incident) -> str:
    """A tag: URI (RFC 4151): SITE_URL's host, the day the incident began, its id."""
    return f"tag:localhost,{incident.started_at:%Y-%m-%d}:incident-{incident.pk}"


@pytest.fixture
def history(chatgpt):
    confirmed = incident(chatgpt, status="confirmed")
    IncidentReview.objects.create(
        incident=confirmed, confirmed_at=T0, public_note="Logins failed across Italy.", updated_at=T0
    )
    dismissed = incident(chatgpt, started_at=T0 + dt.timedelta(hours=2), status="dismissed")
    ongoing = incident(chatgpt, started_at=T0 + dt.timedelta(hours=4), resolved=False)
    return confirmed, dismissed, ongoing


def test_the_atom_feed_is_valid_and_lists_public_incidents_newest_first(client, history):
    confirmed, dismissed, ongoing = history

    response = client.get("/s/chatgpt/incidents.atom")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}title").text == "ChatGPT incidents · Downradar"
    entries = root.findall(f"{ATOM}entry")
    ids = [entry.find(f"{ATOM}id").text for entry in entries]
    assert ids == [tag(ongoing), tag(confirmed)]
    assert tag(dismissed) not in ids
    titles = [entry.find(f"{ATOM}title").text for entry in entries]
    # T0 is 12:00 UTC, 13:00 in Rome, ChatGPT's zone, as its pages say.
    assert titles[0] == "Suspected · ongoing: ChatGPT from 2026-03-10 17:00 CET"
    assert titles[1] == "Confirmed outage · resolved: ChatGPT from 2026-03-10 13:00 CET to 13:20 CET"
    assert "Logins failed across Italy." in entries[1].find(f"{ATOM}summary").text
    for entry in entries:
        assert entry.find(f"{ATOM}updated").text

    links = [entry.find(f"{ATOM}link").get("href") for entry in entries]
    assert links == [
        f"http://testserver/incidents/{ongoing.pk}/",
        f"http://testserver/incidents/{confirmed.pk}/",
    ]
    for link in links:
        assert client.get(link).status_code == 200


def test_the_rss_feed_is_valid_too(client, history):
    confirmed, _, ongoing = history

    response = client.get("/s/chatgpt/incidents.rss")

    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.find("channel").findall("item")
    assert [item.find("guid").text for item in items] == [tag(ongoing), tag(confirmed)]
    assert all(item.find("pubDate").text for item in items)


def test_an_unknown_service_has_no_feed(client, db):
    assert client.get("/s/no-such-service/incidents.atom").status_code == 404
