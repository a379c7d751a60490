"""A flood rule calibrated on real people (issue 21, item 3): the pure flood verdict against a
service whose long tail of small operators is half of its usual reports, as the simulator's
worldwide services are (bench/flood_calibration.py measures it on every service)."""

from __future__ import annotations

from outages import detection

# Four big operators carry half; 50 small ones (1% each) the other half.
BIG = {
    "Telecom Italia S.p.A.": 0.2,
    "Vodafone Italia S.p.A.": 0.12,
    "WIND TRE S.P.A.": 0.1,
    "Fastweb SpA": 0.08,
}
SMALL = {f"Small ISP {i}": 0.01 for i in range(50)}
USUAL = BIG | SMALL
# Fastweb's customers usually sit half in 93.32.0.0/11, the rest in three other prefixes.
PREFIXES = {"fw-93.32/11": 0.04, "fw-2.224/12": 0.02, "fw-89.96/15": 0.01, "fw-85.18/16": 0.01}


def usual_audience(count: int) -> list[detection.SpikeReport]:
    """`count` people of the usual audience, each in its own /24: about half of them behind
    the small operators, as usual."""
    names = list(BIG) + list(SMALL)[:4]
    return [
        detection.SpikeReport(
            network=f"n{i}", site=f"n{i}", prefix=f"p{i % 9}", operator=names[i % len(names)]
        )
        for i in range(count)
    ]


def verdict_on(reports, prefixes=PREFIXES) -> detection.FloodVerdict:
    return detection.flood_verdict(reports, usual_operators=USUAL, usual_prefixes=prefixes)


def test_forty_people_half_of_them_behind_small_operators_are_a_crowd():
    verdict = verdict_on(usual_audience(40))

    assert not verdict.held_back and verdict.isp is None


def test_forty_reports_from_hosting_networks_are_a_rare_operators_flood_even_with_a_long_tail():
    hosting = [
        detection.SpikeReport(
            network=f"dc{i}", site=f"dc{i}", prefix=f"dc{i % 5}", operator=f"Hosting {i % 5}"
        )
        for i in range(40)
    ]

    verdict = verdict_on(hosting)

    assert verdict.flood and verdict.why == "rare_operators"


def test_a_few_sites_are_a_flood():
    reports = [
        detection.SpikeReport(network=f"n{i % 3}", site=f"n{i % 3}", prefix="p", operator="Fastweb SpA")
        for i in range(60)
    ]

    assert verdict_on(reports).why == "few_sites"


def fastweb(count: int, prefix_of) -> list[detection.SpikeReport]:
    return [
        detection.SpikeReport(network=f"fw{i}", site=f"fw{i}", prefix=prefix_of(i), operator="Fastweb SpA")
        for i in range(count)
    ]


def test_an_isp_outage_in_the_operators_usual_big_prefix_is_the_isp_not_a_flood():
    # 96 Fastweb customers, 90 of them in the prefix that usually holds half its customers.
    reports = fastweb(96, lambda i: "fw-93.32/11" if i < 90 else "fw-2.224/12")

    verdict = verdict_on(reports)

    assert not verdict.flood and verdict.isp is not None and verdict.isp.name == "Fastweb SpA"


def test_many_24s_in_one_prefix_the_operator_hardly_uses_are_a_one_prefix_flood():
    reports = fastweb(96, lambda i: "fw-unused/16")

    verdict = verdict_on(reports, prefixes=PREFIXES | {"fw-unused/16": 0.001})

    assert verdict.flood and verdict.why == "one_prefix"


def v6(operator: str, devices: int, per_48: int) -> list[detection.SpikeReport]:
    """One report per /64, `per_48` devices in each /48."""
    return [
        detection.SpikeReport(
            network=f"{operator}/64:{i}",
            site=f"{operator}/48:{i // per_48}",
            prefix=f"v6:{i // per_48}",
            operator=operator,
        )
        for i in range(devices)
    ]


def test_a_mobile_carriers_devices_in_a_few_48s_are_a_crowd_not_a_few_sites_flood():
    # 60 devices of a usual operator, 20 per /48: each /64 is a site, up to 8 per /48, for
    # the few-sites rule; toward the floor each /48 is one site (3 + 22 = 25, a crowd).
    reports = v6("WIND TRE S.P.A.", 60, 20) + usual_audience(22)

    verdict = verdict_on(reports)

    assert verdict.why != "few_sites" and verdict.sites > 3 * 3
    assert not verdict.held_back
    assert verdict_on(v6("WIND TRE S.P.A.", 60, 20) + usual_audience(21)).few_reporters


def test_a_hosting_48_split_into_64s_stays_one_site():
    reports = v6("Hosting 1", 60, 20) + usual_audience(20)

    verdict = verdict_on(reports)

    assert verdict.flood and verdict.why == "few_sites"


def test_binomial_tail():
    assert detection.verdicts.binomial_tail(0, 10, 0.3) == 1.0
    assert abs(detection.verdicts.binomial_tail(10, 10, 0.5) - 0.5**10) < 1e-12
    assert abs(detection.verdicts.binomial_tail(1, 2, 0.5) - 0.75) < 1e-12
    assert detection.verdicts.binomial_tail(3000, 3000, 0.9) < 1e-100
