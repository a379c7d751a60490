"""The browsable API docs load in a browser under the site's Content Security Policy (the
page fixture fails a test on any console error, a CSP violation included)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_api_docs_render_the_schema_without_a_csp_error(open_page):
    page = open_page()
    page.goto("/api/docs/")

    page.wait_for_selector("text=/api/v1/reports/", timeout=15000)
    assert page.locator(".opblock").count() >= 5
