"""Password guessing on the review and admin logins is limited, per client and per username."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User

from config import login_limit

pytestmark = pytest.mark.django_db

GUESSER = "93.56.1.1"


@pytest.fixture
def reviewer(db):
    return User.objects.create_user("reviewer", password="correct horse battery staple", is_staff=True)


@pytest.fixture(autouse=True)
def _own_redis(settings, own_redis):
    """The counters in a private redis-server: other test runs sharing the suite's Redis
    clear it between their tests, which would reset a budget half-way through one of ours."""
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache", "run with make test"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": own_redis.url}}


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    """A frozen clock: the budgets are fixed windows (django-ratelimit), so attempts that
    straddled a window's end would start a fresh budget half-way through a test."""
    time_machine.move_to(dt.datetime(2026, 12, 4, 10, 7, 30, tzinfo=dt.UTC), tick=False)


def attempt(client, url: str, password: str, *, username: str = "reviewer", ip: str = GUESSER):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_the_eleventh_attempt_from_one_client_is_refused_even_with_the_right_password(client, reviewer, url):
    answers = [attempt(client, url, f"guess-{i}").status_code for i in range(10)]
    refused = attempt(client, url, "correct horse battery staple")

    assert answers == [200] * 10  # the form again, with its error
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 15 * 60
    assert "_auth_user_id" not in client.session


def test_another_client_still_logs_in_while_one_is_limited(client, reviewer):
    for i in range(11):
        attempt(client, "/accounts/login/", f"guess-{i}", username="someone-else")

    response = attempt(client, "/accounts/login/", "correct horse battery staple", ip="79.18.44.3")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(reviewer.pk)


def test_many_clients_guessing_one_account_share_its_budget(client, reviewer, settings):
    per_username = int(login_limit.PER_USERNAME_RATE.split("/")[0])
    answers = [
        attempt(client, "/accounts/login/", f"guess-{i}", ip=f"151.38.{i}.7").status_code
        for i in range(per_username + 1)
    ]

    assert answers[:per_username] == [200] * per_username
    assert answers[-1] == 429


def test_whitespace_case_and_unicode_variants_of_a_username_share_its_budget(client, reviewer):
    """An attacker cannot buy more guesses by spelling the name differently: Django's login
    strips and NFKC-normalises it, so every variant below is the same account."""
    per_username = int(login_limit.PER_USERNAME_RATE.split("/")[0])
    variants = [
        "reviewer",
        "reviewer ",
        " reviewer",
        "REVIEWER",
        "\uff52\uff45\uff56\uff49\uff45\uff57\uff45\uff52",
        "Reviewer\t",
    ]
    answers = [
        attempt(
            client, "/accounts/login/", f"guess-{i}", username=variants[i % len(variants)], ip=f"151.38.{i}.7"
        ).status_code
        for i in range(per_username + 1)
    ]

    assert answers[:per_username] == [200] * per_username
    assert answers[-1] == 429


def test_looking_at_the_login_page_costs_nothing(client):
    assert all(client.get("/accounts/login/").status_code == 200 for _ in range(15))
