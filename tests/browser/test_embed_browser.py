"""The widget in its 400x120 frame, as another site shows it, and the embed code page that
gives its snippet: nothing is clipped in either language, and "Copy" copies."""

from __future__ import annotations

import os

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalogue.models import Service
from outages.embeds import WIDGET_HEIGHT, WIDGET_WIDTH
from outages.models import ServiceStatus
from outages.status import status_apply
from tests.helpers import live_server_warm_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The longest name in the default catalogue, with a country: the longest label a widget shows.
LONGEST_SLUG = "playstation-network"

# Every element of the widget whose box is smaller than its content: the body (a scroll bar
# in the frame) and each element that holds text.
OVERFLOWING = """() => [document.body, ...document.body.querySelectorAll("*")]
  .filter((node) => node === document.body || node.textContent.trim() !== "")
  .filter((node) => node.scrollWidth > node.clientWidth || node.scrollHeight > node.clientHeight)
  .map((node) => `${node.tagName}.${node.className}: ${node.scrollWidth}x${node.scrollHeight}`
    + ` in ${node.clientWidth}x${node.clientHeight}`)"""


@pytest.fixture(autouse=True)
def _warm():
    live_server_warm_up()


def in_outage(slug: str, *, country: str, tier: str = ServiceStatus.Tier.OUTAGE) -> Service:
    """The service in outage (or `tier`) worldwide and in `country`, with counts as long as
    they get."""
    service = Service.objects.get(slug=slug)
    for scope in ("", country):
        status_apply(
            ServiceStatus(
                service=service,
                scope=scope,
                evidence=tier,
                count=123_456,
                baseline=12_345.0,
                minute=timezone.now(),
            ),
            None,
        ).save()
    return service


# The status words of an incident, the longest there are.
STATUS_WORDS = {
    ServiceStatus.Tier.OUTAGE: {"en": "Problems detected", "it": "Problemi rilevati"},
    ServiceStatus.Tier.WARNING: {"en": "Possible problems", "it": "Possibili problemi"},
}


@pytest.mark.parametrize("tier", list(STATUS_WORDS))
@pytest.mark.parametrize("language", ["en", "it"])
@pytest.mark.parametrize("country", ["", "IT"])
def test_the_widget_fits_its_frame_with_the_longest_texts(open_page, tier, language, country):
    service = in_outage(LONGEST_SLUG, country="IT", tier=tier)
    page = open_page(language=language, width=WIDGET_WIDTH, height=WIDGET_HEIGHT)

    page.goto(f"/s/{service.slug}/embed/" + (f"?country={country}" if country else ""))

    text = page.inner_text("body")
    assert service.name in text and STATUS_WORDS[tier][language] in text
    assert {"en": "123,456 reports", "it": "123.456 segnalazioni"}[language] in text
    if os.environ.get("EMBED_SCREENSHOTS"):
        page.screenshot(
            path=f"{os.environ['EMBED_SCREENSHOTS']}/widget-{tier}-{language}-{country or 'world'}.png"
        )
    assert page.evaluate(OVERFLOWING) == []


def test_the_embed_code_page_previews_the_widget_and_copies_its_snippet(open_page, live_server):
    service = in_outage("chatgpt", country="IT")
    page = open_page(language="it")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/s/{service.slug}/")

    page.click("a[href^='/s/chatgpt/embed/code/']")

    preview = page.frame_locator("iframe.embed-preview")
    assert "Problemi rilevati" in preview.locator("body").inner_text()
    assert page.locator("iframe.embed-preview").bounding_box()["width"] == WIDGET_WIDTH
    assert page.locator(".embed-preview-badge img").evaluate("(image) => image.naturalWidth") > 0
    snippet = page.input_value("#snippet-iframe")
    assert f'src="{live_server.url}/s/chatgpt/embed/?country=IT"' in snippet  # the country shown
    if os.environ.get("EMBED_SCREENSHOTS"):
        page.screenshot(path=f"{os.environ['EMBED_SCREENSHOTS']}/embed-code-it.png", full_page=True)

    page.click("button[data-target='snippet-iframe']")

    # The clipboard write is a promise: the label changes when it has resolved.
    expect(page.locator("button[data-target='snippet-iframe']")).to_have_text("Copiato")
    assert page.evaluate("() => navigator.clipboard.readText()") == snippet


def test_without_a_clipboard_copy_selects_the_snippet(open_page):
    in_outage("chatgpt", country="IT")
    page = open_page(language="en")
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', { value: undefined })")
    page.goto("/s/chatgpt/embed/code/?country=IT")

    page.click("button[data-target='snippet-badge-markdown']")

    selected = page.evaluate(
        """() => [document.activeElement.id, document.activeElement.selectionStart,
                  document.activeElement.selectionEnd, document.activeElement.value.length]"""
    )
    assert selected[0] == "snippet-badge-markdown" and selected[1] == 0 and selected[2] == selected[3] > 0
    expect(page.locator("button[data-target='snippet-badge-markdown']")).to_contain_text("Ctrl+C")
    assert "/s/chatgpt/badge.svg?country=IT" in page.input_value("#snippet-badge-markdown")
