"""The device cookie (reports.devices) and the one counting rule behind a shared address
(reports.hashing.voter): people behind a mobile carrier's NAT count per device, up to a cap
per address and per /24; without the cookie, or off a shared address, one address is one vote."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from django.test import Client

from geo.carriers import is_carrier_site, is_shared
from outages import flood
from reports import hashing
from reports.devices import COOKIE, device_sign, device_unsign
from reports.models import Report
from tests.helpers import post_report
from tests.test_networks import national_crowd, usual_mix

REPORT = {"service": "chatgpt", "problem": "login"}
TIM_NAT = "79.40.100.7"  # Telecom Italia (AS3269): a carrier, so a shared address
FASTWEB = "93.56.1.1"  # not a carrier: one address, one vote
# The CGNAT outage: three carriers x 16 NAT addresses, one /24 each.
CGNAT = [f"{net}.{host}" for net in ("79.40.100", "37.180.20", "151.20.30") for host in range(1, 17)]


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 4, 10, 7, 30, tzinfo=dt.UTC), tick=False)


def page_cookie(client: Client) -> str:
    """Visit the service page as a browser does and keep the cookie it sets."""
    response = client.get("/s/chatgpt/")
    assert response.status_code == 200
    return response.cookies[COOKIE].value


def device_cookie(n: int) -> str:
    """A cookie as the page signs it, for the n-th browser of a crowd (visiting the page
    once per person would make these tests slow; page_cookie shows it is the same)."""
    return device_sign(f"{n:022d}")


def post_as(client: Client, ip: str, cookie: str | None, **extra):
    client.cookies.clear()
    if cookie is not None:
        client.cookies[COOKIE] = cookie
    return post_report(client, REPORT, ip=ip, **extra)


def test_the_service_page_sets_a_signed_device_cookie_once(client, chatgpt):
    value = page_cookie(client)
    morsel = client.get("/s/chatgpt/").cookies.get(COOKIE)

    assert device_unsign(value) is not None
    assert morsel is None  # a browser holding a good cookie keeps it
    set_cookie = Client().get("/s/chatgpt/").cookies[COOKIE]
    assert set_cookie["httponly"] and set_cookie["samesite"] == "Lax" and set_cookie.value != value


def test_two_phones_behind_one_carrier_address_both_count_through_api_and_form(client, chatgpt, settings):
    settings.REPORT_RATE_LIMIT = "30/h"
    first, second = Client(), Client()
    page_cookie(first)
    page_cookie(second)

    assert post_report(first, REPORT, ip=TIM_NAT).status_code == 201
    response = second.post("/s/chatgpt/report/", {"problem": "login"}, REMOTE_ADDR=TIM_NAT)
    assert response.status_code == 302
    assert Report.objects.filter(counted=True).count() == 2 or _same_slot(first, second)


def _same_slot(*clients: Client) -> bool:
    # Two random devices share one of the 8 slots of an address one time in 8: then they are
    # one vote, which is the cap working, not a failure.
    values = {device_unsign(c.cookies[COOKIE].value) for c in clients}
    keys = {hashing.voter(ipaddress.ip_address(TIM_NAT), device=v).key for v in values}
    return len(keys) == 1


def test_without_a_cookie_one_shared_address_is_one_vote(client, chatgpt):
    assert [post_as(client, TIM_NAT, None).status_code for _ in range(3)] == [201, 200, 200]


def test_a_forged_or_altered_cookie_is_ignored(client, chatgpt):
    good = device_cookie(1)
    altered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    unsigned = f"{1:022d}"

    codes = [post_as(client, TIM_NAT, cookie).status_code for cookie in (None, altered, unsigned)]

    assert codes == [201, 200, 200]  # each counted as no cookie: the address's one vote
    assert post_as(client, TIM_NAT, good).status_code == 201  # a real device slot is its own


def test_off_a_shared_address_the_cookie_changes_nothing(client, chatgpt):
    assert not is_shared(ipaddress.ip_address(FASTWEB))

    codes = [post_as(client, FASTWEB, device_cookie(n)).status_code for n in range(5)]

    assert codes == [201, 200, 200, 200, 200]


def test_one_client_cycling_cookies_cannot_exceed_the_per_address_cap(client, chatgpt, settings):
    settings.REPORT_RATE_LIMIT = "100/h"

    codes = [post_as(client, TIM_NAT, device_cookie(n)).status_code for n in range(100)]

    assert codes.count(201) == settings.REPORT_DEVICES_PER_ADDRESS == 8
    assert Report.objects.filter(counted=True).count() == 8
    assert Report.objects.filter(counted=True).values("network48_hash").distinct().count() == 1


def test_a_shared_24_is_at_most_16_sites_and_128_votes():
    addresses = [ipaddress.ip_address(f"79.40.100.{host}") for host in range(256)]
    voters = [hashing.voter(address, device=f"d{n}") for address in addresses for n in range(100)]

    assert len({v.key for v in voters}) == 128
    assert len({v.site for v in voters}) == 16
    without = [hashing.voter(address) for address in addresses]
    assert len({v.key for v in without}) == 256 and len({v.site for v in without}) == 1


def test_which_addresses_are_shared_and_which_ipv6_sites_are_a_carriers():
    ip = ipaddress.ip_address
    assert is_shared(ip("100.64.3.4")) and is_shared(ip("100.127.255.1"))  # RFC 6598
    assert is_shared(ip("5.168.1.1")) and is_shared(ip("37.180.20.1")) and is_shared(ip("151.20.30.1"))
    assert not is_shared(ip("93.56.1.1")) and not is_shared(ip("88.198.10.7"))  # Fastweb, Hetzner
    assert not is_shared(ip("2a02:b000::1"))  # IPv6 is never NAT-shared: its /64 is the device
    assert is_carrier_site(ip("2a02:b000:12:34::1")) and not is_carrier_site(ip("2a01:4f8::1"))
    assert not is_carrier_site(ip("79.40.100.7"))


def _cgnat_crowd(client: Client, *, cookies: bool) -> list[int]:
    # 270 people behind the 48 NAT addresses (about 5.6 each), 30 at home, over 10 minutes.
    home = national_crowd(30)
    codes = []
    for person in range(270):
        codes.append(
            post_as(client, CGNAT[person % 48], device_cookie(person) if cookies else None).status_code
        )
    codes += [
        post_as(client, ip, device_cookie(1000 + k) if cookies else None).status_code
        for k, ip in enumerate(home)
    ]
    return codes


def _verdict(chatgpt):
    from outages import detection

    usual_mix(chatgpt)
    rows = flood.evidence_reports(chatgpt.pk, dt.datetime(2026, 12, 4, 10, 7, tzinfo=dt.UTC))
    mixes = flood.usual_mixes(chatgpt.pk)
    return detection.flood_verdict(
        [r for _, r in rows],
        usual_operators=mixes.operators,
        usual_prefixes=mixes.prefixes,
        usual_in_countries=mixes.in_countries,
    )


def test_300_people_behind_48_nat_addresses_with_cookies_are_counted_as_a_crowd(client, chatgpt, settings):
    settings.REPORT_RATE_LIMIT = "30/h"

    codes = _cgnat_crowd(client, cookies=True)

    counted = Report.objects.filter(counted=True).count()
    assert 429 not in codes
    # 48 addresses x 8 slots hold the 270: about 4.2 distinct devices an address.
    assert 180 <= counted <= 48 * 8 + 30
    verdict = _verdict(chatgpt)
    assert not verdict.held_back and verdict.sites == 48 + 30


def test_the_same_crowd_without_cookies_is_not_inflated(client, chatgpt, settings):
    settings.REPORT_RATE_LIMIT = "30/h"

    _cgnat_crowd(client, cookies=False)

    assert Report.objects.filter(counted=True).count() == 48 + 30
    assert _verdict(chatgpt).sites == 3 + 30


def test_the_report_apis_schema_documents_the_device_cookie(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    parameters = schema["paths"]["/api/v1/reports/"]["post"]["parameters"]
    (cookie,) = [p for p in parameters if p["in"] == "cookie"]
    assert cookie["name"] == COOKIE and not cookie.get("required", False)
