"""Finding a service by what people type: aliases, spacing and case do not matter; the page,
the autocomplete API and the categories agree."""

from __future__ import annotations

import re

import pytest

from catalogue.models import Service, ServiceAlias

pytestmark = pytest.mark.django_db


def listed(client, url: str, language: str = "en") -> list[str]:
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    return re.findall(r'data-slug="([a-z0-9-]+)"', page.content.decode())


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("open ai", "chatgpt"),
        ("chat gpt", "chatgpt"),
        ("ChatGPT", "chatgpt"),
        ("psn", "playstation-network"),
        ("Play Station", "playstation-network"),
        ("telecom italia", "tim"),
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
