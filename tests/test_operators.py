"""Operators: the ASN table built from @ip-location-db/asn, a GeoLite2-ASN .mmdb through
GEOIP_ASN_PATH, and what a report keeps of its networks (hashes at each level and its
operator, never an address)."""

from __future__ import annotations

import hashlib
import ipaddress
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from geo import asn_table, operators
from reports import hashing
from reports.models import Report
from tests.helpers import post_report

ASN_TEST_FILE = str(Path(__file__).parent / "data" / "GeoLite2-ASN-Test.mmdb")


@pytest.fixture(autouse=True)
def _fresh_source():
    operators._source.cache_clear()
    yield
    operators._source.cache_clear()


def lookup(address: str) -> operators.Operator | None:
    return operators.operator_of(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("2.32.1.1", (30722, "Vodafone Italia S.p.A.", "2.32.0.0/14")),
        ("37.183.173.226", (30722, "Vodafone Italia S.p.A.", "37.176.0.0/13")),
        ("79.22.242.62", (3269, "Telecom Italia S.p.A.", "79.0.0.0/10")),
        ("151.27.1.88", (1267, "WIND TRE S.P.A.", "151.16.0.0/12")),
        ("93.46.157.163", (12874, "Fastweb SpA", "93.32.0.0/11")),
        ("8.8.8.8", (15169, "Google LLC", "8.8.8.0/24")),
    ],
)
def test_the_table_gives_an_ipv4_address_its_as_number_name_and_prefix(address, expected):
    assert lookup(address) == operators.Operator(*expected)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("2a01:4f8:10::1", (24940, "Hetzner Online GmbH", "2a01:4f8::/31")),
        ("2a02:b000:1230:100::1", (1267, "WIND TRE S.P.A.", "2a02:b000::/23")),
        ("2001:b07::1", (12874, "Fastweb SpA", "2001:b00::/29")),
        ("2001:4860:4860::8888", (15169, "Google LLC", "2001:4860:4840::/42")),
    ],
)
def test_the_table_gives_an_ipv6_address_its_as_number_name_and_prefix(address, expected):
    assert lookup(address) == operators.Operator(*expected)


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "192.168.1.1", "100.64.0.1", "127.0.0.1", "192.0.2.1", "::1", "fd00::1", "2001:db8::1"],
)
def test_private_and_reserved_addresses_have_no_operator(address):
    assert lookup(address) is None


def test_a_public_address_no_network_announces_has_no_operator():
    assert lookup("2604:a880:1:2::1") is None  # between two of DigitalOcean's ranges


def test_the_prefix_is_the_largest_cidr_inside_the_range_that_holds_the_address():
    start, end = int(ipaddress.ip_address("2.32.0.0")), int(ipaddress.ip_address("2.37.110.255"))
    cases = {"2.33.5.10": "2.32.0.0/14", "2.36.9.9": "2.36.0.0/16", "2.37.70.1": "2.37.64.0/19"}
    for address, cidr in cases.items():
        network, length = asn_table.largest_cidr(int(ipaddress.ip_address(address)), start, end, 32)
        assert f"{ipaddress.ip_address(network)}/{length}" == cidr
    assert asn_table.largest_cidr(5, 5, 5, 32) == (5, 32)
    assert asn_table.largest_cidr(2**127, 0, 2**128 - 1, 128) == (0, 0)


def test_a_missing_table_is_a_clear_configuration_error(monkeypatch, tmp_path):
    monkeypatch.setattr(asn_table, "TABLE_PATH", tmp_path / "asn.bin")

    with pytest.raises(ImproperlyConfigured, match=r"run `make setup` \(or `python -m geo.asn_table`\)"):
        lookup("2.32.1.1")


def test_a_file_that_is_not_a_table_is_a_clear_configuration_error(monkeypatch, tmp_path):
    (tmp_path / "asn.bin").write_bytes(b"<html>not found</html>")
    monkeypatch.setattr(asn_table, "TABLE_PATH", tmp_path / "asn.bin")

    with pytest.raises(ImproperlyConfigured, match="make setup"):
        lookup("2.32.1.1")


def test_the_installed_table_is_the_pinned_version():
    assert asn_table.is_current(asn_table.TABLE_PATH)
    assert asn_table.AsnTable().version == asn_table.VERSION


def test_a_range_inside_another_wins_and_the_outer_one_keeps_both_sides():
    rows = [(100, 199, 64500, "Outer"), (150, 160, 64501, "Inner"), (155, 170, 64502, "Across")]

    assert asn_table.without_overlaps(rows) == [
        (100, 149, 64500, "Outer"),
        (150, 154, 64501, "Inner"),
        (155, 170, 64502, "Across"),
        (171, 199, 64500, "Outer"),
    ]


def test_a_built_table_keeps_each_range_and_cuts_an_overlap_short(tmp_path):
    ranges = {
        4: asn_table.without_overlaps(
            [(150, 299, 64501, "Second"), (100, 199, 64500, "First"), (400, 400, 64500, "First")]
        ),
        6: [(2**125, 2**125 + 2**64 + 5, 64502, "Wide"), (2**125 + 2**64 + 6, 2**126, 64503, "Ünïcode")],
    }
    path = tmp_path / "asn.bin"
    path.write_bytes(asn_table.table_bytes(ranges, asn_table.stamp()))
    table = asn_table.AsnTable(path)

    def asn_of(number: int, version: int = 4) -> int | None:
        address = ipaddress.IPv4Address(number) if version == 4 else ipaddress.IPv6Address(number)
        found = table.lookup(address)
        return found and found.asn

    assert [asn_of(n) for n in (99, 100, 149, 150, 299, 300, 400, 401)] == [
        None,
        64500,
        64500,
        64501,
        64501,
        None,
        64500,
        None,
    ]
    assert asn_of(2**125 + 2**64 + 5, 6) == 64502 and asn_of(2**125 + 2**64 + 6, 6) == 64503
    assert table.lookup(ipaddress.IPv6Address(2**126)).name == "Ünïcode"
    assert asn_of(2**126 + 1, 6) is None and asn_of(2**125 - 1, 6) is None
    assert asn_table.is_current(path)


def test_a_tarball_whose_digest_differs_from_the_registry_s_is_refused(tmp_path):
    tarball = tmp_path / "asn.tgz"
    tarball.write_bytes(b"tampered")
    wrong = "sha512-" + hashlib.sha512(b"original").hexdigest()

    with pytest.raises(asn_table.TableError, match="sha512"):
        asn_table.download(tarball.as_uri(), wrong)


@pytest.mark.parametrize(
    ("label", "asn"),
    [("Vodafone Italia", 30722), ("Telecom Italia", 3269), ("Wind Tre", 1267), ("Fastweb", 12874)],
)
def test_the_simulator_s_isp_prefixes_belong_to_their_operators(label, asn):
    from simulator.scenarios import ISP_PREFIXES

    for prefix in ISP_PREFIXES[label]:
        network = ipaddress.ip_network(prefix)
        step = network.num_addresses // 256
        for address in [network[i * step + 1] for i in range(256)] + [network[-2]]:
            found = operators.operator_of(address)
            assert found.asn == asn, address
            assert operators.display_name(found.name).casefold() == label.casefold()


def test_a_geolite2_asn_database_gives_the_as_number(settings):
    settings.GEOIP_ASN_PATH = ASN_TEST_FILE
    found = lookup("1.128.0.1")
    assert found == operators.Operator(asn=1221, name="Telstra Pty Ltd", prefix="1.128.0.0/11")


def test_ipv6_addresses_of_one_48_share_the_site_hash_but_not_the_network_hash():
    a = hashing.network_identity(ipaddress.ip_address("2a02:b000:1:1::1"))
    b = hashing.network_identity(ipaddress.ip_address("2a02:b000:1:2::1"))
    assert a.network48_hash == b.network48_hash and a.network_hash != b.network_hash
    assert a.prefix_hash == b.prefix_hash != "" and (a.asn, a.asn_name) == (1267, "WIND TRE S.P.A.")


@pytest.mark.django_db
def test_a_report_keeps_its_network_levels_and_operator_but_no_address(client, chatgpt):
    response = post_report(client, {"service": "chatgpt", "problem": "login"}, ip="2.32.7.9")

    assert response.status_code == 201
    report = Report.objects.get()
    assert (report.asn, report.asn_name) == (30722, "Vodafone Italia S.p.A.")
    assert report.network48_hash == report.network_hash  # IPv4: the /24 is its site
    assert report.prefix_hash == hashing.network_hash_of_prefix("as|2.32.0.0/14")
    assert all("2.32" not in str(value) for value in Report.objects.values().get().values())


@pytest.mark.django_db
def test_a_report_from_ipv6_keeps_its_as_number(client, chatgpt):
    response = post_report(client, {"service": "chatgpt", "problem": "login"}, ip="2001:b07::1")

    assert response.status_code == 201
    assert Report.objects.values_list("asn", "asn_name").get() == (12874, "Fastweb SpA")


@pytest.mark.django_db
def test_the_footer_credits_the_table_s_sources_while_it_is_in_use(client, settings):
    credit = '<a href="https://www.routeviews.org/">RouteViews</a>, <a href="https://www.nro.net/">NRO</a>'
    italian = client.get("/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert credit in italian and "Operatori di rete:" in italian

    settings.GEOIP_ASN_PATH = ASN_TEST_FILE
    assert credit not in client.get("/").content.decode()
