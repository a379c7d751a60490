"""Finding a service by what people type: aliases, spacing and case do not matter; the page,
the autocomplete API and the categories agree."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from catalogue.models import Service, ServiceAlias, close_to
from outages.models import ServiceStatus
from outages.status import status_apply

pytestmark = pytest.mark.django_db


def listed(client, url: str, language: str = "en") -> list[str]:
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    return re.findall(r'data-slug="([a-z0-9-]+)"', page.content.decode())


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("open a", "chatgpt"),
        ("chat-g", "chatgpt"),
        ("CHAT", "chatgpt"),
        ("ps", "playstation-network"),
        ("Play Stat", "playstation-network"),
        ("telecom ital", "tim"),
    ],
)
def test_an_alias_or_a_spelling_finds_the_service_on_the_page_and_in_the_api(client, query, slug):
    assert slug in listed(client, f"/search/?q={query}")
    api = [row["slug"] for row in client.get("/api/v1/services/", {"q": query}).json()]
    assert slug in api
    assert set(api) == set(listed(client, f"/search/?q={query}"))


def test_an_alias_added_in_the_admin_is_found(admin_client):
    steam = Service.objects.get(slug="steam")
    admin_client.post(
        f"/admin/catalogue/service/{steam.pk}/change/",
        {
            "name": steam.name,
            "slug": steam.slug,
            "category": steam.category,
            "timezone": steam.timezone,
            "is_active": "on",
            "home_url": "",
            "status_page_url": "",
            "official_format": "none",
            "official_url": "",
            "problem_types-TOTAL_FORMS": "0",
            "problem_types-INITIAL_FORMS": "0",
            "aliases-TOTAL_FORMS": "1",
            "aliases-INITIAL_FORMS": "0",
            "aliases-0-alias": "Half-Life shop",
        },
    )

    assert ServiceAlias.objects.filter(service=steam, key="halflifeshop").exists()
    assert listed(admin_client, "/search/?q=half life") == ["steam"]


def test_nothing_matches_a_query_that_names_no_service(client):
    assert listed(client, "/search/?q=zzzz") == []
    assert client.get("/api/v1/services/", {"q": "zzzz"}).json() == []


def test_a_category_page_lists_its_services_and_says_its_name_in_italian(client):
    slugs = listed(client, "/c/telecom/", "it")
    page = client.get("/c/telecom/", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    assert set(slugs) == {"tim", "vodafone", "fastweb", "iliad"}
    assert "Operatori telefonici" in page
    assert client.get("/c/nope/").status_code == 404


@pytest.mark.parametrize(
    ("query", "slug"), [("chatgtp", "chatgpt"), ("netflx", "netflix"), ("intagram", "instagram")]
)
def test_a_typo_finds_the_service_on_the_page_and_in_the_api(client, query, slug):
    assert slug in listed(client, f"/search/?q={query}")
    assert slug in [row["slug"] for row in client.get("/api/v1/services/", {"q": query}).json()]


def test_a_typo_does_not_find_unrelated_services(client):
    assert listed(client, "/search/?q=chatgtp") == ["chatgpt"]


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("ChatGPT", "chatgpt"),
        ("chat gpt", "chatgpt"),
        ("psn", "playstation-network"),
        ("Open AI", "chatgpt"),
        ("playstation-network", "playstation-network"),
    ],
)
def test_an_exact_name_or_alias_goes_straight_to_the_service(client, query, slug):
    response = client.get("/search/", {"q": query})

    assert response.status_code == 302
    assert response["Location"] == f"/s/{slug}/"


def test_the_exact_name_redirect_keeps_the_country_of_the_address(client):
    response = client.get("/search/", {"q": "iliad", "country": "IT"})

    assert response["Location"] == "/s/iliad/?country=IT"


def test_results_show_each_service_s_status_as_the_home_page_does(client):
    now = timezone.now()
    chatgpt = Service.objects.get(slug="chatgpt")
    status_apply(
        ServiceStatus(service=chatgpt, evidence="outage", count=131, baseline=4.0, minute=now), None
    ).save()

    def status_of_row(url: str) -> str:
        page = client.get(url).content.decode()
        row = re.search(r'data-slug="chatgpt">.*?class="status status-(\w+)"', page, re.S)
        assert row is not None, page
        return row.group(1)

    assert status_of_row("/search/?q=chat") == status_of_row("/") == "outage"
    results = client.get("/search/?q=chat").content.decode()
    assert "1 of these services has problems right now." in results
    assert "No service has problems" not in client.get("/search/?q=zzzz").content.decode()


def test_a_category_slug_in_another_case_redirects_to_the_canonical_one(client):
    response = client.get("/c/AI/?country=IT")

    assert response.status_code == 301
    assert response["Location"] == "/c/ai/?country=IT"
    assert set(listed(client, "/c/ai/")) == {"chatgpt", "sora"}


@pytest.mark.parametrize(
    ("key", "word", "close"),
    [
        ("chatgtp", "chatgpt", True),
        ("netflx", "netflix", True),
        ("fb", "facebook", False),
        ("sora", "spotify", False),
    ],
)
def test_without_pg_trgm_difflib_tells_a_typo_from_another_name(key, word, close):
    assert close_to(key, word) is close
