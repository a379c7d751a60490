"""Failed logins are limited per address, per (name, address) and per name, and a browser the
owner signed in from before keeps its own budget: the site's login and the admin's alike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client

from config import login_limit

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
GUESSER = "93.56.1.1"
OWNER_HOME = "79.18.44.3"
LOGIN_URLS = ["/accounts/login/", "/admin/login/"]


@pytest.fixture
def reviewer(db):
    return User.objects.create_user("reviewer", password=PASSWORD, is_staff=True)


@pytest.fixture
def client_class():
    """Each call a new browser, with its own cookies."""
    return Client


@pytest.fixture(autouse=True)
def _own_redis(settings, own_redis):
    """The counters in a private redis-server: other test runs sharing the suite's Redis
    clear it between their tests, which would reset a budget half-way through one of ours."""
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache", "run with make test"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": own_redis.url}}


@pytest.fixture(autouse=True)
def _quick_hasher(settings):
    """These tests make hundreds of attempts; what they count does not depend on the hasher,
    and the production one takes about 0.3 s a password here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    """A frozen clock: the budgets are fixed windows (django-ratelimit), so attempts that
    straddled a window's end would start a fresh budget half-way through a test."""
    time_machine.move_to(dt.datetime(2026, 12, 4, 10, 7, 30, tzinfo=dt.UTC), tick=False)


def attempt(client, url: str, password: str, *, username: str = "reviewer", ip: str = GUESSER):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def rate_count(rate: str) -> int:
    return int(rate.split("/")[0])


def owner_device(client_class, url: str = "/accounts/login/"):
    """A browser the owner signed in from (and signed out of): it holds the known-device cookie."""
    browser = client_class()
    signed_in = attempt(browser, url, PASSWORD, ip=OWNER_HOME)
    assert signed_in.status_code == 302
    assert login_limit.KNOWN_DEVICE_COOKIE in signed_in.cookies
    browser.post("/accounts/logout/")
    return browser


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_after_five_failures_for_one_name_from_one_address_even_the_right_password_waits(
    client, reviewer, url
):
    per_name_and_client = rate_count(login_limit.PER_NAME_AND_CLIENT_RATE)
    answers = [attempt(client, url, f"guess-{i}").status_code for i in range(per_name_and_client)]
    refused = attempt(client, url, PASSWORD)

    assert answers == [200] * per_name_and_client  # the form again, with its error
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 15 * 60
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_one_address_guessing_many_names_is_stopped_after_ten_failures(client, reviewer, url):
    per_client = rate_count(login_limit.PER_CLIENT_RATE)
    answers = [attempt(client, url, "guess", username=f"name-{i}").status_code for i in range(per_client)]

    assert answers == [200] * per_client
    assert attempt(client, url, PASSWORD).status_code == 429


def test_the_site_and_the_admin_share_one_budget(client, reviewer):
    for i in range(3):
        attempt(client, "/accounts/login/", f"guess-{i}")
    for i in range(2):
        attempt(client, "/admin/login/", f"guess-admin-{i}")

    assert attempt(client, "/accounts/login/", PASSWORD).status_code == 429
    assert attempt(client, "/admin/login/", PASSWORD).status_code == 429


def test_successful_logins_cost_nothing(client, reviewer):
    per_name_and_client = rate_count(login_limit.PER_NAME_AND_CLIENT_RATE)
    for _ in range(per_name_and_client * 3):
        assert attempt(client, "/accounts/login/", PASSWORD).status_code == 302
        client.post("/accounts/logout/")

    assert attempt(client, "/accounts/login/", PASSWORD).status_code == 302


def test_another_client_still_logs_in_while_one_is_limited(client, reviewer):
    for i in range(11):
        attempt(client, "/accounts/login/", f"guess-{i}", username="someone-else")

    response = attempt(client, "/accounts/login/", PASSWORD, ip=OWNER_HOME)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(reviewer.pk)


def test_many_addresses_guessing_one_name_share_its_budget(client, reviewer):
    per_name = rate_count(login_limit.PER_NAME_RATE)
    answers = [
        attempt(client, "/accounts/login/", f"guess-{i}", ip=f"151.38.{i}.7").status_code
        for i in range(per_name + 1)
    ]

    assert answers[:per_name] == [200] * per_name
    assert answers[-1] == 429
    # A new address of the owner's waits too: it is not a known device.
    assert attempt(client, "/accounts/login/", PASSWORD, ip=OWNER_HOME).status_code == 429


def test_whitespace_case_and_unicode_variants_of_a_username_share_its_budget(client, reviewer):
    """An attacker cannot buy more guesses by spelling the name differently: Django's login
    strips and NFKC-normalises it, so every variant below is the same account."""
    per_name = rate_count(login_limit.PER_NAME_RATE)
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
        for i in range(per_name + 1)
    ]

    assert answers[:per_name] == [200] * per_name
    assert answers[-1] == 429


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_thirty_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out_of_their_own_browser(
    client_class, reviewer, url
):
    """The issue's attack: 30 wrong passwords for a reviewer's name from three addresses, and
    then enough more addresses to spend the name's whole budget."""
    owner = owner_device(client_class, url)
    attacker = client_class()
    from_three = [attempt(attacker, url, f"guess-{i}", ip=f"151.38.{i % 3}.7").status_code for i in range(30)]
    per_name = rate_count(login_limit.PER_NAME_RATE)
    for i in range(per_name):
        attempt(attacker, url, f"more-{i}", ip=f"37.176.{i}.9")

    assert from_three.count(429) == 15  # each address was stopped after its five failures
    assert attempt(attacker, url, PASSWORD, ip="37.176.200.9").status_code == 429
    signed_in = attempt(owner, url, PASSWORD, ip=OWNER_HOME)
    assert signed_in.status_code == 302
    assert owner.session["_auth_user_id"] == str(reviewer.pk)


def test_the_known_device_has_its_own_budget_for_its_own_mistakes(client_class, reviewer):
    owner = owner_device(client_class)
    per_device = rate_count(login_limit.PER_KNOWN_DEVICE_RATE)
    answers = [
        attempt(owner, "/accounts/login/", f"typo-{i}", ip=OWNER_HOME).status_code for i in range(per_device)
    ]

    assert answers == [200] * per_device
    assert attempt(owner, "/accounts/login/", PASSWORD, ip=OWNER_HOME).status_code == 429
    # Its failures were its own: a fresh browser at the same address is not held up by them.
    assert attempt(client_class(), "/accounts/login/", PASSWORD, ip=OWNER_HOME).status_code == 302


def test_a_known_device_cookie_is_for_its_own_account_only(client_class, reviewer):
    User.objects.create_user("other", password=PASSWORD, is_staff=True)
    owner = owner_device(client_class)
    per_name_and_client = rate_count(login_limit.PER_NAME_AND_CLIENT_RATE)
    for i in range(per_name_and_client):
        attempt(owner, "/accounts/login/", f"guess-{i}", username="other", ip=OWNER_HOME)

    assert attempt(owner, "/accounts/login/", PASSWORD, username="other", ip=OWNER_HOME).status_code == 429


def test_a_forged_or_expired_known_device_cookie_counts_for_nothing(
    client_class, reviewer, settings, time_machine
):
    owner = owner_device(client_class)
    forged = client_class()
    forged.cookies[login_limit.KNOWN_DEVICE_COOKIE] = (
        owner.cookies[login_limit.KNOWN_DEVICE_COOKIE].value + "x"
    )
    per_name = rate_count(login_limit.PER_NAME_RATE)
    for i in range(per_name):
        attempt(client_class(), "/accounts/login/", f"guess-{i}", ip=f"151.38.{i}.7")

    assert attempt(forged, "/accounts/login/", PASSWORD, ip=OWNER_HOME).status_code == 429
    assert attempt(owner, "/accounts/login/", PASSWORD, ip=OWNER_HOME).status_code == 302
    owner.post("/accounts/logout/")
    time_machine.shift(dt.timedelta(days=settings.LOGIN_KNOWN_DEVICE_DAYS, minutes=1))
    for i in range(per_name):  # a fresh hour's name budget, spent again
        attempt(client_class(), "/accounts/login/", f"later-{i}", ip=f"151.39.{i}.7")
    assert attempt(owner, "/accounts/login/", PASSWORD, ip=OWNER_HOME).status_code == 429


def test_no_address_or_name_is_logged_when_a_login_is_refused(client, reviewer, caplog):
    for i in range(6):
        attempt(client, "/accounts/login/", f"guess-{i}")

    assert "login refused" in caplog.text
    assert GUESSER not in caplog.text and "reviewer" not in caplog.text


def test_looking_at_the_login_page_costs_nothing(client):
    assert all(client.get("/accounts/login/").status_code == 200 for _ in range(15))
