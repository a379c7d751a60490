"""Errors a person sees are pages in the site's look that say what happened and what to do;
a wait is said in minutes or hours, not in thousands of seconds."""

from __future__ import annotations

import pytest
from django.utils import translation

from reports.waits import wait_text
from tests.review_helpers import plain_staff_user, reviewer_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("seconds", "english", "italian"),
    [
        (45, "45 seconds", "45 secondi"),
        (2280, "38 minutes", "38 minuti"),
        (61, "61 seconds", "61 secondi"),
        (3600, "60 minutes", "60 minuti"),
        (3 * 3600, "3 hours", "3 ore"),
        (60, "60 seconds", "60 secondi"),
    ],
)
def test_a_wait_reads_in_the_unit_a_person_would_use(seconds, english, italian):
    # A page asked for in Italian earlier in this thread leaves Italian active: name the language.
    with translation.override("en"):
        assert wait_text(seconds) == english
    with translation.override("it"):
        assert wait_text(seconds) == italian


def test_a_page_that_does_not_exist_is_the_site_s_404(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert 'class="site-header"' in response.content.decode() or "<nav" in response.content.decode()
    assert "Page not found" in response.content.decode()


def test_staff_without_the_review_permission_get_the_site_s_403(client):
    client.force_login(plain_staff_user())

    response = client.get("/review/")

    assert response.status_code == 403
    assert "ask an administrator to add you to the reviewers" in response.content.decode()


def test_a_wrong_method_on_a_page_is_the_site_s_405_naming_what_works(client):
    response = client.post("/map/")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    body = response.content.decode()
    assert "cannot take a POST request; it answers GET, HEAD" in body


def test_a_wrong_method_on_the_api_stays_json(client):
    response = client.delete("/api/v1/services/")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_the_spent_login_budget_says_its_wait_in_words_on_the_site_s_page(client, settings, own_redis):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": own_redis.url}}
    reviewer_user()
    for i in range(10):
        client.post(
            "/accounts/login/", {"username": "reviewer", "password": f"guess-{i}"}, REMOTE_ADDR="93.56.1.1"
        )

    response = client.post(
        "/accounts/login/", {"username": "reviewer", "password": "x"}, REMOTE_ADDR="93.56.1.1"
    )

    assert response.status_code == 429
    body = response.content.decode()
    # django-ratelimit's windows are fixed and offset per key, so the wait left is anything up
    # to 15 minutes: the page must say the header's wait in words, never a bare " s.".
    wait = int(response["Retry-After"])
    assert 0 < wait <= 15 * 60
    assert f"Please try again in {wait_text(wait)}." in body and " s." not in body


def test_logging_in_without_next_lands_on_the_review_queue(client):
    reviewer_user()

    response = client.post("/accounts/login/", {"username": "reviewer", "password": "pw-reviewer-1"})

    assert response.status_code == 302 and response["Location"] == "/review/"
    assert client.get("/review/").status_code == 200
