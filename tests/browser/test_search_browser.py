"""Search that forgives, as a visitor uses it: a typo still finds the service, and its exact
name opens its page."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_typo_finds_chatgpt(open_page):
    page = open_page()
    page.goto("/")
    page.get_by_label("Find a service").fill("chatgtp")
    page.get_by_role("button", name="Search").click()

    page.wait_for_url("**/search/?q=chatgtp")
    assert page.locator("#services .service-row").evaluate_all(
        "rows => rows.map(row => row.dataset.slug)"
    ) == ["chatgpt"]


def test_the_exact_name_opens_the_service_page(open_page):
    page = open_page()
    page.goto("/")
    page.get_by_label("Find a service").fill("ChatGPT")
    page.get_by_label("Find a service").press("Enter")

    page.wait_for_url("**/s/chatgpt/")
    assert "ChatGPT" in page.locator("h1").first.inner_text()
