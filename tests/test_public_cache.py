"""Shared caches key a public response on everything that picks its content: the language
comes from Accept-Language or from the switcher's cookie, so every response varies on both
(issue 23: a cookie-chosen Italian badge was served to English readers)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import RequestFactory
from django.utils.cache import get_cache_key, learn_cache_key

from outages.models import ServiceStatus
from outages.status import status_apply
from tests.detection_helpers import T0 as NOW

pytestmark = pytest.mark.django_db

CACHEABLE = [
    "/s/chatgpt/badge.svg",
    "/s/chatgpt/embed/",
    "/api/v1/map/",
    "/s/chatgpt/incidents.atom",
    "/s/chatgpt/incidents.rss",
    "/incidents.atom",
]
LANGUAGE_PICKED = [
    *CACHEABLE,
    "/data.json",
    "/s/chatgpt/data.json",
    "/s/chatgpt/",
    "/s/chatgpt/embed/code/",
    "/",
    "/api/v1/services/",
]


@pytest.fixture
def outage(chatgpt):
    status_apply(
        ServiceStatus(service=chatgpt, evidence="outage", count=900, baseline=9.0, minute=NOW), None
    ).save()
    return chatgpt


def vary(response) -> set[str]:
    return {header.strip().lower() for header in response.get("Vary", "").split(",")}


@pytest.mark.parametrize("path", CACHEABLE)
def test_cacheable_public_responses_are_public_and_vary_on_the_language_cookie(client, outage, path):
    response = client.get(path)

    assert response.status_code == 200
    assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    assert {"accept-language", "cookie"} <= vary(response)


@pytest.mark.parametrize("path", LANGUAGE_PICKED)
def test_every_response_whose_language_is_picked_varies_on_both_choosers(client, outage, path):
    response = client.get(path)

    assert response.status_code == 200
    assert {"accept-language", "cookie"} <= vary(response)


def test_a_cookie_chosen_language_is_another_body_and_another_shared_cache_entry(client, outage):
    english = client.get("/s/chatgpt/badge.svg", HTTP_ACCEPT_LANGUAGE="en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "it"
    italian = client.get("/s/chatgpt/badge.svg", HTTP_ACCEPT_LANGUAGE="en")

    assert "Problemi rilevati" in italian.content.decode()
    assert "Problemi rilevati" not in english.content.decode()
    assert {"accept-language", "cookie"} <= vary(italian) and {"accept-language", "cookie"} <= vary(english)
    # Django's own shared cache keys a copy on the Vary headers: the Italian copy stored by
    # the cookie's reader is not what a reader without the cookie is given.
    factory = RequestFactory()
    cookie_reader = factory.get(
        "/s/chatgpt/badge.svg",
        HTTP_ACCEPT_LANGUAGE="en",
        HTTP_COOKIE=f"{settings.LANGUAGE_COOKIE_NAME}=it",
    )
    plain_reader = factory.get("/s/chatgpt/badge.svg", HTTP_ACCEPT_LANGUAGE="en")
    cache = caches["default"]
    stored_under = learn_cache_key(cookie_reader, italian, cache=cache)
    assert get_cache_key(plain_reader, cache=cache) != stored_under
    assert get_cache_key(cookie_reader, cache=cache) == stored_under
