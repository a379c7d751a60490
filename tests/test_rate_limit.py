from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from reports.models import Report
from tests.helpers import post_report

pytestmark = pytest.mark.django_db

SERVICES = ["chatgpt", "sora", "whatsapp", "instagram"]


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    """A frozen clock: budgets are fixed windows, so requests that straddled a window's end
    would start a fresh budget half-way through a test."""
    time_machine.move_to(dt.datetime(2026, 12, 4, 10, 7, 30, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def three_per_minute(settings):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache", "run with make test"
    settings.REPORT_RATE_LIMIT = "3/m"


def test_the_fourth_report_in_a_minute_is_429_with_retry_after(client, three_per_minute):
    statuses = [post_report(client, {"service": slug}).status_code for slug in SERVICES]

    assert statuses == [201, 201, 201, 429]
    response = post_report(client, {"service": "youtube"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["error"] == "rate_limited"


def test_clients_in_one_ipv6_slash_64_share_one_budget(client, three_per_minute):
    addresses = ["2a01:4f8:1:2::1", "2a01:4f8:1:2::2", "2a01:4f8:1:2:ffff::3", "2a01:4f8:1:2::4"]
    statuses = [
        post_report(client, {"service": slug}, ip=address).status_code
        for slug, address in zip(SERVICES, addresses, strict=True)
    ]

    assert statuses == [201, 201, 201, 429]
    assert post_report(client, {"service": "youtube"}, ip="2a01:4f8:1:3::1").status_code == 201


def test_ipv4_mapped_addresses_share_the_ipv4_budget(client, three_per_minute):
    addresses = ["93.56.1.1", "::ffff:93.56.1.1", "93.56.1.1", "::ffff:93.56.1.1"]
    statuses = [
        post_report(client, {"service": slug}, ip=address).status_code
        for slug, address in zip(SERVICES, addresses, strict=True)
    ]

    assert statuses == [201, 201, 201, 429]


def test_the_web_form_shares_the_budget_and_answers_429(client, three_per_minute):
    for slug in SERVICES[:3]:
        post_report(client, {"service": slug})

    response = client.post("/s/youtube/report/", {"problem": "app"}, REMOTE_ADDR="93.56.1.1")

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert b"try again" in response.content


def test_reports_are_taken_and_the_failure_logged_when_redis_is_down(client, settings, caplog):
    settings.REPORT_RATE_LIMIT = "1/m"
    # Nothing listens on port 1: a real refused connection, as when Redis is down.
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    statuses = [post_report(client, {"service": slug}).status_code for slug in SERVICES[:2]]

    assert statuses == [201, 201]
    assert "rate limit not applied: the cache is unreachable" in caplog.text
    assert "93.56.1.1" not in caplog.text


def test_the_budget_still_counts_after_redis_loses_its_scripts(client, three_per_minute):
    # The count is a Lua script run by its hash; a Redis restart (here SCRIPT FLUSH) forgets it.
    from django_redis import get_redis_connection

    statuses = [post_report(client, {"service": slug}).status_code for slug in SERVICES[:2]]
    get_redis_connection("default").script_flush()
    statuses += [post_report(client, {"service": slug}).status_code for slug in SERVICES[2:]]

    assert statuses == [201, 201, 201, 429]


@pytest.mark.django_db
def test_the_64s_of_one_ipv6_48_share_one_budget(client, chatgpt, settings):
    settings.REPORT_RATE_LIMIT = "30/h"
    settings.REPORT_SITE_RATE_LIMIT = "40/h"
    # 50 clients of one /48, one report each: each /64 is within its own budget.
    statuses = [
        post_report(client, {"service": "chatgpt", "problem": "login"}, ip=f"2a01:4f8:1:{k:x}::1").status_code
        for k in range(50)
    ]

    assert statuses.count(429) == 10 and statuses[:40] == [201] * 40


@pytest.mark.django_db
def test_one_64_gets_one_counted_report_per_dedupe_window(client, chatgpt, settings):
    settings.REPORT_RATE_LIMIT = "100/h"
    # Thirty addresses of one /64: one household, one vote.
    statuses = [
        post_report(
            client, {"service": "chatgpt", "problem": "login"}, ip=f"2a02:b000:7:9::{k + 1:x}"
        ).status_code
        for k in range(30)
    ]

    assert statuses == [201] + [200] * 29
    assert Report.objects.filter(counted=True).count() == 1


@pytest.mark.django_db
def test_the_121st_device_of_a_mobile_carriers_48_in_an_hour_is_not_refused(client, chatgpt, settings):
    assert settings.REPORT_SITE_RATE_LIMIT == "120/h" and settings.REPORT_MOBILE_SITE_RATE_LIMIT == "1920/h"
    # Wind Tre's 2a02:b000::/23 hands one /64 to each phone: 130 phones of one /48.
    statuses = [
        post_report(
            client, {"service": "chatgpt", "problem": "login"}, ip=f"2a02:b000:7:{k:x}::1"
        ).status_code
        for k in range(130)
    ]

    assert statuses == [201] * 130


@pytest.mark.django_db
def test_a_mobile_48_has_its_own_larger_budget_and_a_hosting_48_keeps_the_sites(client, chatgpt, settings):
    settings.REPORT_SITE_RATE_LIMIT = "10/h"
    settings.REPORT_MOBILE_SITE_RATE_LIMIT = "40/h"

    def burst(prefix: str) -> list[int]:
        return [
            post_report(
                client, {"service": "chatgpt", "problem": "login"}, ip=f"{prefix}:{k:x}::1"
            ).status_code
            for k in range(50)
        ]

    assert burst("2a02:b000:8").count(201) == 40  # Wind Tre
    assert burst("2a01:4f8:9").count(201) == 10  # Hetzner


@pytest.mark.django_db
def test_behind_a_shared_address_each_device_slot_has_its_own_budget(client, chatgpt, three_per_minute):
    from reports.devices import COOKIE, device_sign
    from reports.hashing import voter

    nat = "79.40.100.7"  # Telecom Italia: a carrier's NAT address
    address = ipaddress.ip_address(nat)
    # Device ids fall into slots by a keyed hash (IP_HASH_KEY differs per install): take the
    # first id whose slot differs from the first device's, as two real phones usually would.
    first = f"{0:022d}"
    second = next(
        candidate
        for candidate in (f"{n:022d}" for n in range(1, 200))
        if voter(address, device=candidate).key != voter(address, device=first).key
    )
    devices = [first, second]

    def post(device: str | None, slug: str) -> int:
        client.cookies.clear()
        if device is not None:
            client.cookies[COOKIE] = device_sign(device)
        return post_report(client, {"service": slug}, ip=nat).status_code

    assert [post(devices[0], slug) for slug in SERVICES] == [201, 201, 201, 429]
    assert post(devices[1], "chatgpt") == 201  # another phone on the same address
    assert [post(None, slug) for slug in SERVICES] == [201, 201, 201, 429]  # no cookie: the address's
