"""The status badge and the embeddable widget say what the service page says, may be
shown by any site, and can be cached for a minute."""

from __future__ import annotations

import re

import pytest

from catalogue.models import Service
from outages.models import ServiceStatus
from outages.status import status_apply
from tests.detection_helpers import T0 as NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def outage(chatgpt):
    status_apply(
        ServiceStatus(service=chatgpt, evidence="outage", count=900, baseline=9.0, minute=NOW), None
    ).save()
    return chatgpt


def banner_text(client, slug: str) -> str:
    page = client.get(f"/s/{slug}/").content.decode()
    return re.search(r'<strong class="status-text">(.*?)</strong>', page)[1]


def test_the_badge_is_an_svg_with_the_page_s_status_cached_for_a_minute(client, outage):
    response = client.get("/s/chatgpt/badge.svg")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "max-age=60" in response["Cache-Control"] and "public" in response["Cache-Control"]
    svg = response.content.decode()
    assert svg.startswith("<svg") and f"ChatGPT: {banner_text(client, 'chatgpt')}" in svg
    assert "#b42318" in svg  # the outage colour


def test_the_badge_speaks_italian_too(client, outage):
    svg = client.get("/s/chatgpt/badge.svg", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    assert "Problemi rilevati" in svg


def test_the_widget_may_be_framed_by_any_site_and_links_to_the_page(client, outage):
    response = client.get("/s/chatgpt/embed/")

    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert "max-age=60" in response["Cache-Control"]
    body = response.content.decode()
    assert f"ChatGPT: {banner_text(client, 'chatgpt')}" in body
    assert 'href="http://testserver/s/chatgpt/"' in body


def test_the_rest_of_the_site_still_refuses_to_be_framed(client, outage):
    response = client.get("/s/chatgpt/")

    assert response["X-Frame-Options"] == "DENY"


def test_an_unknown_service_has_no_badge(client, db):
    assert client.get("/s/nope/badge.svg").status_code == 404
    assert Service.objects.filter(slug="nope").count() == 0
