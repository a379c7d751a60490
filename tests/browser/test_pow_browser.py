from __future__ import annotations

import pytest

from reports.models import Report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_form_solves_the_proof_of_work_in_the_browser_and_is_counted(open_page, settings):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache", "run with make test"
    settings.POW_DIFFICULTY = 10
    page = open_page()
    page.goto("/s/chatgpt/")

    page.get_by_label("Login").check()
    page.get_by_role("button", name="Report a problem").click()

    page.wait_for_url("**/s/chatgpt/#thanks")
    assert page.locator("#thanks").inner_text() == "Thank you, your report was counted."
    assert Report.objects.filter(service__slug="chatgpt", problem="login").count() == 1
