"""A flood must not hide a crowd (issue 21, item 2): the reports a flood rule pins down are
set aside, and when the crowd beside them spikes by itself, the verdict is the crowd's. Two
free IPv6 tunnels sending 240 reports beside a national outage of 150 people made it read
`flood_suspected`, with no incident."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from outages import detection
from outages.models import Incident, ServiceStatus
from tests.detection_helpers import T0
from tests.helpers import post_report
from tests.test_few_reporters import (
    USUAL_SHARES,
    hosting,
    residential,
    statuses_minute_by_minute,
    verdict_on,
)
from tests.test_networks import (
    REPORT,
    national_crowd,
    quiet_service,  # noqa: F401 (the fixture)
)


def two_tunnels(reports: int) -> list[detection.SpikeReport]:
    """`reports` reports from two /48s of an operator the service hardly hears from, a /64 each."""
    return [
        detection.SpikeReport(
            network=f"t{i}", site=f"tunnel{i % 2}", prefix="he", operator="Hurricane Electric LLC"
        )
        for i in range(reports)
    ]


def verdict_beside(reports: list[detection.SpikeReport], crowd_spikes) -> detection.FloodVerdict:
    return detection.flood_verdict(
        reports, usual_operators=USUAL_SHARES, usual_prefixes={}, crowd_spikes=crowd_spikes
    )


def test_the_crowd_beside_a_few_sites_flood_is_judged_on_its_own():
    reports = residential(150) + two_tunnels(240)

    assert verdict_on(reports).why == "few_sites"  # without the question, a flood
    found = verdict_beside(reports, lambda count: count >= 100)

    assert not found.held_back and found.why == "" and found.flood_beside == 240
    assert found.reports == 150 and found.sites == 150


def test_the_flood_stays_a_flood_when_the_rest_would_not_spike_alone():
    found = verdict_beside(residential(150) + two_tunnels(240), lambda count: False)

    assert found.flood and found.why == "few_sites" and found.flood_beside == 0


def test_a_handful_beside_a_flood_does_not_turn_it_into_a_crowd():
    found = verdict_beside(residential(10) + two_tunnels(240), lambda count: True)

    assert found.flood and found.why == "few_sites"


def test_the_crowd_beside_rented_servers_is_judged_on_its_own():
    reports = residential(150) + hosting(200)

    assert verdict_on(reports).why == "rare_operators"
    found = verdict_beside(reports, lambda count: count >= 100)

    assert not found.held_back and found.flood_beside == 200


def test_a_count_spikes_alone_when_raised_and_past_the_threshold_or_the_bar():
    expected = np.full(15, 0.5)  # 7.5 reports expected in a quarter of an hour

    assert detection.count_spikes(60, expected, 0.05, 0.01, bucket_minutes=5)
    assert not detection.count_spikes(16, expected, 0.05, 0.01, bucket_minutes=5)  # under 1.8 x + 10
    # A series whose own 15-minute bursts score 200 needs more than that.
    assert not detection.count_spikes(60, expected, 0.05, 0.01, bucket_minutes=5, bars=[5.0, 200.0, 5.0, 5.0])
    assert not detection.count_spikes(60, np.full(15, np.nan), 0.05, 0.01, bucket_minutes=5)


@pytest.mark.django_db
@pytest.mark.usefixtures("quiet_service")
def test_a_national_outage_with_two_tunnels_flooding_beside_it_is_an_outage(client, chatgpt, time_machine):
    crowd = national_crowd(150)
    tunnels = [f"2001:470:{h + 1:x}:{k + 1:x}::1" for h in range(2) for k in range(120)]
    addresses = crowd + tunnels
    random.Random(21).shuffle(addresses)
    for i, ip in enumerate(addresses):
        time_machine.move_to(T0 + dt.timedelta(seconds=600 * i / len(addresses)), tick=False)
        assert post_report(client, REPORT, ip=ip).status_code == 201

    rows = statuses_minute_by_minute(time_machine, chatgpt, 5)

    assert "outage" in [row.status for row in rows]
    assert not rows[-1].flood
    assert Incident.objects.filter(service=chatgpt).count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("quiet_service")
def test_italys_page_tells_the_worlds_story_when_the_flood_beside_the_crowd_is_italian(
    client, chatgpt, time_machine
):
    # The flood from two Italian hosting /24s (Aruba): Italy's own reports are a flood plus
    # the crowd, and its row must not call flood what the world, having set the flood aside,
    # calls an outage.
    aruba = [f"89.46.{net}.{host}" for net in (104, 105) for host in range(1, 121)]
    addresses = national_crowd(150) + aruba
    random.Random(22).shuffle(addresses)
    for i, ip in enumerate(addresses):
        time_machine.move_to(T0 + dt.timedelta(seconds=600 * i / len(addresses)), tick=False)
        assert post_report(client, REPORT, ip=ip).status_code == 201

    rows = statuses_minute_by_minute(time_machine, chatgpt, 5)

    assert rows[-1].status == "outage"
    italy = ServiceStatus.objects.get(service=chatgpt, scope="IT")
    assert (italy.status, italy.flood) == (rows[-1].status, rows[-1].flood)
