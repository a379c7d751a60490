from __future__ import annotations

import ipaddress

import pytest

from geo.ip import client_ip_from_meta, network_of, parse_ip
from reports.hashing import rate_limit_key


def meta(remote: str = "127.0.0.1", forwarded: str | None = None) -> dict:
    result = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        result["HTTP_X_FORWARDED_FOR"] = forwarded
    return result


def test_without_trusted_proxies_the_forwarded_header_is_ignored():
    assert client_ip_from_meta(meta("93.56.1.1", "6.6.6.6"), 0) == ipaddress.ip_address("93.56.1.1")


def test_one_trusted_proxy_takes_the_rightmost_entry_and_ignores_a_forged_leftmost_one():
    address = client_ip_from_meta(meta("127.0.0.1", "6.6.6.6, 93.56.1.1"), 1)

    assert address == ipaddress.ip_address("93.56.1.1")


def test_two_trusted_proxies_take_the_second_entry_from_the_right():
    address = client_ip_from_meta(meta("127.0.0.1", "6.6.6.6, 93.56.1.1, 10.0.0.7"), 2)

    assert address == ipaddress.ip_address("93.56.1.1")


def test_a_chain_shorter_than_the_trusted_proxies_gives_no_address():
    assert client_ip_from_meta(meta("127.0.0.1", "93.56.1.1"), 2) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("::ffff:93.56.1.1", "93.56.1.1"),
        (" 93.56.1.1 ", "93.56.1.1"),
        ("93.56.1.1:5555", "93.56.1.1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("not-an-ip", None),
        ("", None),
    ],
)
def test_addresses_are_normalised(raw, expected):
    parsed = parse_ip(raw)
    assert (str(parsed) if parsed else None) == expected


def test_network_is_the_slash_24_or_slash_64():
    assert str(network_of(parse_ip("93.56.1.77"))) == "93.56.1.0/24"
    assert str(network_of(parse_ip("2001:db8:1:2:aaaa::1"))) == "2001:db8:1:2::/64"


def test_clients_in_one_ipv6_slash_64_share_a_rate_limit_key(settings):
    one = rate_limit_key(parse_ip("2001:db8:1:2::1"))
    same_network = rate_limit_key(parse_ip("2001:db8:1:2:ffff::9"))
    other_network = rate_limit_key(parse_ip("2001:db8:1:3::1"))

    assert one == same_network
    assert one != other_network


def test_ipv4_mapped_and_plain_ipv4_share_a_rate_limit_key():
    assert rate_limit_key(parse_ip("::ffff:93.56.1.1")) == rate_limit_key(parse_ip("93.56.1.1"))
    assert rate_limit_key(parse_ip("93.56.1.1")) != rate_limit_key(parse_ip("93.56.1.2"))
