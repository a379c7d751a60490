"""Operators: the bundled ASN table, a GeoLite2-ASN .mmdb through GEOIP_ASN_PATH, and what
a report keeps of its networks (hashes at each level and its operator, never an address)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from geo import operators
from reports import hashing
from reports.models import Report
from tests.helpers import post_report

ASN_TEST_FILE = str(Path(__file__).parent / "data" / "GeoLite2-ASN-Test.mmdb")


@pytest.fixture(autouse=True)
def _fresh_source():
    operators._source.cache_clear()
    yield
    operators._source.cache_clear()


def test_the_bundled_table_names_an_italian_operator_and_its_prefix():
    found = operators.operator_of(ipaddress.ip_address("2.32.1.1"))
    assert found == operators.Operator(asn=None, name="Vodafone Italia S.p.A.", prefix="2.32.0.0/12")


def test_the_bundled_table_knows_ipv6_hosting_networks():
    found = operators.operator_of(ipaddress.ip_address("2a01:4f8:10::1"))
    assert found.name == "Hetzner Online GmbH" and found.prefix == "2a01:4f8::/31"


def test_private_addresses_have_no_operator():
    assert operators.operator_of(ipaddress.ip_address("10.1.2.3")) is None


def test_a_geolite2_asn_database_gives_the_as_number(settings):
    settings.GEOIP_ASN_PATH = ASN_TEST_FILE
    found = operators.operator_of(ipaddress.ip_address("1.128.0.1"))
    assert found == operators.Operator(asn=1221, name="Telstra Pty Ltd", prefix="1.128.0.0/11")


def test_ipv6_addresses_of_one_48_share_the_site_hash_but_not_the_network_hash():
    a = hashing.network_identity(ipaddress.ip_address("2a02:b000:1:1::1"))
    b = hashing.network_identity(ipaddress.ip_address("2a02:b000:1:2::1"))
    assert a.network48_hash == b.network48_hash and a.network_hash != b.network_hash
    assert a.prefix_hash == b.prefix_hash != "" and a.asn_name == "Wind Tre S.p.A."


@pytest.mark.django_db
def test_a_report_keeps_its_network_levels_and_operator_but_no_address(client, chatgpt):
    response = post_report(client, {"service": "chatgpt", "problem": "login"}, ip="2.32.7.9")

    assert response.status_code == 201
    report = Report.objects.get()
    assert report.asn_name == "Vodafone Italia S.p.A." and report.asn is None
    assert report.network48_hash == report.network_hash  # IPv4: the /24 is its site
    assert report.prefix_hash == hashing.network_hash_of_prefix("as|2.32.0.0/12")
    assert all("2.32" not in str(value) for value in Report.objects.values().get().values())
