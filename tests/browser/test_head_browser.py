"""HEAD works wherever GET does: uptime monitors, link checkers and `curl -I` ask every
public page with HEAD over real HTTP, and get the GET's status and headers, no body."""

from __future__ import annotations

import pytest

from catalogue.models import Service
from tests.review_helpers import incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PUBLIC_PAGES = [
    "/",
    "/s/chatgpt/",
    "/data.json",
    "/s/chatgpt/data.json",
    "/s/chatgpt/badge.svg",
    "/s/chatgpt/embed/",
    "/s/chatgpt/embed/code/",
    "/map/",
    "/incidents/",
    "/search/?q=chat",
    "/c/ai/",
]


def test_head_answers_every_public_page_as_get_does_without_a_body(browser, live_server):
    shown = incident(Service.objects.get(slug="chatgpt"))
    context = browser.new_context(base_url=live_server.url)
    try:
        for url in [*PUBLIC_PAGES, f"/incidents/{shown.pk}/"]:
            got = context.request.get(url, max_redirects=0)
            head = context.request.head(url, max_redirects=0)

            assert head.status == got.status == 200, (url, head.status, got.status)
            assert head.headers["content-type"] == got.headers["content-type"], url
            assert head.body() == b"", url
    finally:
        context.close()


def test_a_page_that_refuses_get_refuses_head_too(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    try:
        assert context.request.head("/s/chatgpt/report/", max_redirects=0).status == 405
    finally:
        context.close()
