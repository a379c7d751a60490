"""The status badge and the embeddable widget say what the service page says, may be
shown by any site, and can be cached for a minute."""

from __future__ import annotations

import html
import re

import pytest

from catalogue.models import Service
from outages.embeds import embed_snippets
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


def counts_text(client, slug: str) -> str:
    page = client.get(f"/s/{slug}/?country=all").content.decode()
    return re.search(r'<span class="banner-detail">(.*?)</span>', page)[1]


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
    assert f'<span class="widget-counts">{counts_text(client, "chatgpt")}</span>' in body


def test_the_rest_of_the_site_still_refuses_to_be_framed(client, outage):
    response = client.get("/s/chatgpt/")

    assert response["X-Frame-Options"] == "DENY"


def test_an_unknown_service_has_no_badge(client, db):
    assert client.get("/s/nope/badge.svg").status_code == 404
    assert Service.objects.filter(slug="nope").count() == 0


def snippets_on(page: str) -> dict[str, str]:
    """The code page's snippets as a site owner copies them, by textarea id."""
    return {
        name: html.unescape(text)
        for name, text in re.findall(r'<textarea id="(snippet-[a-z-]+)"[^>]*>(.*?)</textarea>', page, re.S)
    }


def test_the_service_page_links_to_the_embed_code_page(client, outage):
    page = client.get("/s/chatgpt/?country=all").content.decode()

    assert '<a href="/s/chatgpt/embed/code/">Embed</a>' in page


def test_the_embed_code_page_gives_the_widget_and_badge_snippets_with_absolute_addresses(client, outage):
    response = client.get("/s/chatgpt/embed/code/")

    assert response.status_code == 200
    page = response.content.decode()
    assert '<iframe class="embed-preview" src="/s/chatgpt/embed/" width="400" height="120"' in page
    assert snippets_on(page) == {
        "snippet-iframe": '<iframe src="http://testserver/s/chatgpt/embed/" width="400" height="120" '
        'title="ChatGPT status on Downradar" style="border:0" loading="lazy"></iframe>',
        "snippet-badge-html": '<a href="http://testserver/s/chatgpt/"><img '
        'src="http://testserver/s/chatgpt/badge.svg" alt="ChatGPT status on Downradar"></a>',
        "snippet-badge-markdown": "[![ChatGPT status on Downradar](http://testserver/s/chatgpt/badge.svg)]"
        "(http://testserver/s/chatgpt/)",
    }
    # The page itself may not be framed, and loads no inline script (the site's CSP).
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in page and "onclick" not in page


def test_the_embed_code_page_keeps_the_country_and_speaks_italian(client, outage):
    page = client.get("/s/chatgpt/embed/code/?country=IT", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    snippets = snippets_on(page)
    assert 'src="http://testserver/s/chatgpt/embed/?country=IT"' in snippets["snippet-iframe"]
    assert snippets["snippet-badge-markdown"] == (
        "[![Stato di ChatGPT · IT su Downradar](http://testserver/s/chatgpt/badge.svg?country=IT)]"
        "(http://testserver/s/chatgpt/?country=IT)"
    )
    assert "Mostra lo stato di ChatGPT · IT sul tuo sito" in page and ">Copia</button>" in page


def test_the_embed_code_page_answers_head_as_get(client, outage):
    get, head = client.get("/s/chatgpt/embed/code/"), client.head("/s/chatgpt/embed/code/")

    assert head.status_code == get.status_code == 200
    assert head["Content-Type"] == get["Content-Type"] and head.content == b""


def test_the_embed_code_page_refuses_a_bad_country_as_the_widget_does(client, outage):
    assert client.get("/s/chatgpt/embed/code/?country=XX").status_code == 400
    assert client.get("/s/chatgpt/embed/?country=XX").status_code == 400
    assert client.get("/s/nope/embed/code/").status_code == 404


def test_snippets_quote_what_would_break_html_or_markdown():
    snippets = embed_snippets(
        widget_url="https://example.org/s/a/embed/?country=IT&x=1",
        badge_url="https://example.org/s/a/badge.svg",
        page_url="https://example.org/s/a (b)/",
        title='Say "hi" [beta] <b>',
    )

    assert 'src="https://example.org/s/a/embed/?country=IT&amp;x=1"' in snippets.iframe_html
    assert 'title="Say &quot;hi&quot; [beta] &lt;b&gt;"' in snippets.iframe_html
    assert snippets.badge_markdown == (
        r'[![Say "hi" \[beta\] <b>](https://example.org/s/a/badge.svg)](https://example.org/s/a%20%28b%29/)'
    )
