"""Evidence that a handful cannot buy (issue 21): below FloodParams.min_sites distinct
sites behind a spike, it opens no incident and is at most a warning, "a few people report
problems"; hosting networks count for little toward the floor."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from outages import detection
from outages.detection_pass import GRACE_SECONDS, detection_run
from outages.models import Incident, ServiceStatus
from outages.presenters import reason_text, status_of
from outages.replay import replay_minutes
from outages.status import public_status
from tests.detection_helpers import MINUTE, T0
from tests.helpers import post_report
from tests.test_networks import (
    REPORT,
    USUAL,
    national_crowd,
    quiet_service,  # noqa: F401 (the fixture)
)

USUAL_SHARES = {name: share for name, (share, _) in USUAL.items()}
PARAMS = detection.FloodParams()


def residential(count: int) -> list[detection.SpikeReport]:
    """One report from each of `count` /24s of the service's usual operators, in turn."""
    names = list(USUAL_SHARES)
    return [
        detection.SpikeReport(
            network=f"home{i}", site=f"home{i}", prefix=f"p{i % 7}", operator=names[i % len(names)]
        )
        for i in range(count)
    ]


def hosting(count: int) -> list[detection.SpikeReport]:
    """One report from each of `count` /24s of operators the service hardly hears from."""
    names = ["Hetzner Online GmbH", "OVH SAS", "Scaleway", "DigitalOcean, LLC", "Amazon.com, Inc."]
    return [
        detection.SpikeReport(network=f"dc{i}", site=f"dc{i}", prefix=f"dc{i % 5}", operator=names[i % 5])
        for i in range(count)
    ]


def verdict_on(reports: list[detection.SpikeReport]) -> detection.FloodVerdict:
    return detection.flood_verdict(reports, usual_operators=USUAL_SHARES, usual_prefixes={})


def test_fifteen_residential_sites_are_a_handful_held_back_as_a_warning():
    verdict = verdict_on(residential(15))

    assert verdict.few_reporters and verdict.held_back and not verdict.flood
    assert verdict.why == "few_reporters" and verdict.sites == 15
    found = public_status(evidence="outage", flood=verdict.flood, few_reporters=verdict.few_reporters, at=T0)
    assert (found.status, found.reason) == ("warning", "few_reports")


def test_forty_residential_sites_are_a_crowd():
    verdict = verdict_on(residential(40))

    assert not verdict.held_back and verdict.why == "" and verdict.sites == 40
    found = public_status(evidence="outage", flood=verdict.flood, few_reporters=verdict.few_reporters, at=T0)
    assert (found.status, found.reason) == ("outage", "spike")


def test_hosting_sites_count_for_little_toward_the_floor():
    # 30 distinct sites, as many as a crowd needs, but 14 of them rented: 16 + 14 / 2 = 23.
    assert verdict_on(residential(16) + hosting(14)).few_reporters
    assert not verdict_on(residential(30)).held_back
    # Under half of the spike, so not a `rare_operators` flood: the floor is what holds it.
    assert not verdict_on(residential(16) + hosting(14)).flood


def test_without_a_learned_mix_every_site_counts_whole():
    reports = residential(16) + hosting(14)

    assert not detection.flood_verdict(reports, usual_operators={}, usual_prefixes={}).held_back
    assert detection.flood_verdict(reports[:24], usual_operators={}, usual_prefixes={}).few_reporters


def test_with_no_report_rows_there_is_no_floor():
    # Counts loaded without rows, or a replayed file: no evidence either way.
    verdict = detection.flood_verdict([], usual_operators=USUAL_SHARES, usual_prefixes={})

    assert not verdict.held_back
    found = public_status(evidence="outage", flood=verdict.flood, few_reporters=verdict.few_reporters, at=T0)
    assert found.status == "outage"


def post_within(client, time_machine, addresses: list[str], minutes: int) -> None:
    """One report per address, spread evenly over `minutes` from T0, through the API."""
    for i, ip in enumerate(addresses):
        time_machine.move_to(T0 + dt.timedelta(seconds=60 * minutes * i / len(addresses)), tick=False)
        assert post_report(client, REPORT, ip=ip).status_code == 201


def statuses_minute_by_minute(time_machine, service, minutes: int) -> list[ServiceStatus]:
    """The live pass run each minute after T0, as beat runs it; the world row after each."""
    found = []
    for k in range(1, minutes + 1):
        now = T0 + k * MINUTE + dt.timedelta(seconds=GRACE_SECONDS)
        time_machine.move_to(now, tick=False)
        detection_run(now=now)
        found.append(ServiceStatus.objects.world().get(service=service))
    return found


@pytest.mark.django_db
@pytest.mark.usefixtures("quiet_service")
def test_fifteen_reports_from_fifteen_24s_make_a_warning_and_no_incident(client, chatgpt, time_machine):
    crowd = national_crowd(15)
    assert len({ip.rsplit(".", 1)[0] for ip in crowd}) == 15
    post_within(client, time_machine, crowd, minutes=3)

    rows = statuses_minute_by_minute(time_machine, chatgpt, 8)

    assert "outage" in [row.evidence for row in rows]  # the counts alone would say outage
    assert "outage" not in [row.status for row in rows]
    assert (rows[-1].status, rows[-1].reason) == ("warning", "few_reports")
    assert not Incident.objects.filter(service=chatgpt).exists()
    view = status_of(chatgpt)
    assert reason_text(view, chatgpt).startswith("A few people report problems")


@pytest.mark.django_db
@pytest.mark.usefixtures("quiet_service")
def test_forty_people_of_the_usual_audience_are_an_outage_within_five_minutes(client, chatgpt, time_machine):
    post_within(client, time_machine, national_crowd(40), minutes=5)

    rows = statuses_minute_by_minute(time_machine, chatgpt, 5)

    assert "outage" in [row.status for row in rows]
    assert Incident.objects.filter(service=chatgpt).count() == 1


def test_a_handful_of_one_operators_customers_is_named_for_it_and_still_held_back():
    reports = [
        detection.SpikeReport(network=f"fw{i}", site=f"fw{i}", prefix=f"fw{i % 9}", operator="Fastweb SpA")
        for i in range(12)
    ]

    verdict = verdict_on(reports)

    assert verdict.few_reporters and verdict.held_back and verdict.isp is not None
    found = public_status(
        evidence="outage", flood=verdict.flood, few_reporters=verdict.few_reporters, isp=True, at=T0
    )
    assert (found.status, found.reason) == ("warning", "isp")


def test_five_reports_from_five_households_are_a_handful_not_a_flood():
    verdict = verdict_on(residential(5))

    assert not verdict.flood and verdict.why == "few_reporters"


def test_one_busy_24_beside_two_single_households_is_still_a_few_sites_flood():
    busy = [detection.SpikeReport(network="n0", site="n0", prefix="p", operator="Fastweb SpA")] * 10

    verdict = verdict_on(busy + residential(2))

    assert verdict.flood and verdict.why == "few_sites"


@pytest.mark.parametrize("count", [1, 10, 24, 25, 40])
def test_a_count_alone_is_a_handful_exactly_when_as_many_distinct_sites_would_be(count):
    # A replayed file has counts and no networks (detection.counts_verdict): the most its
    # reports can be is one site each, and the live verdict on that calls them a handful
    # below the floor, a crowd from it.
    live = detection.flood_verdict(residential(count), usual_operators={}, usual_prefixes={})
    counted = detection.counts_verdict(count)

    assert counted.few_reporters == live.few_reporters == (count < PARAMS.min_sites)
    assert counted.held_back == live.held_back and not counted.flood
    assert not detection.counts_verdict(0).held_back


def test_a_replayed_burst_of_a_handful_of_reports_opens_no_incident_and_stays_a_warning():
    # backtest on a quiet service (one report every ten minutes): 20 reports in four minutes
    # are far above its usual, and fewer than a crowd's sites whoever sent them; 80 are not.
    first = int(dt.datetime(2026, 5, 4, tzinfo=dt.UTC).timestamp()) // 60
    rng = np.random.default_rng(4)
    quiet = rng.poisson(0.1, 9 * 1440).astype(float)
    burst_at = 8 * 1440 + 15 * 60
    handful, crowd = quiet.copy(), quiet.copy()
    handful[burst_at : burst_at + 4] += 5
    crowd[burst_at : burst_at + 4] += 20

    few = replay_minutes(first, handful, timezone="Europe/Rome")
    many = replay_minutes(first, crowd, timezone="Europe/Rome")

    assert not [i for i in few.incidents if i.started_at >= first + burst_at - 60]
    assert "warning" in few.status[burst_at : burst_at + 10]
    assert "outage" not in few.status[burst_at:]
    assert [i for i in many.incidents if i.started_at >= first + burst_at - 60]
    assert "outage" in many.status[burst_at : burst_at + 10]


def households_on_ipv6(homes: int, sixty_fours: int) -> list[detection.SpikeReport]:
    """`homes` households of the usual operators, each sending one report from each of
    `sixty_fours` /64s of its own /48 (a home is delegated a /56 or a /48)."""
    names = list(USUAL_SHARES)
    return [
        detection.SpikeReport(
            network=f"home{h}:{k}", site=f"home{h}", prefix=f"p{h}", operator=names[h % len(names)]
        )
        for h in range(homes)
        for k in range(sixty_fours)
    ]


def test_a_households_ipv6_64s_are_one_site_toward_the_floor():
    # Four homes spraying 30 /64s each: 32 sites as the flood check folds a usual operator's
    # /48 (so not "a few sites"), but four households, which a crowd is not.
    verdict = verdict_on(households_on_ipv6(4, 30))

    assert verdict.sites == 4 * PARAMS.v6_sites_per_48 and not verdict.flood
    assert verdict.few_reporters and verdict.held_back
    # 25 households clear the floor, however few /64s each uses.
    assert not verdict_on(households_on_ipv6(25, 1)).held_back


@pytest.mark.django_db
@pytest.mark.usefixtures("quiet_service")
def test_four_ipv6_households_of_four_operators_make_a_warning_and_no_incident(client, chatgpt, time_machine):
    # A home of TIM, Vodafone, Wind Tre and Fastweb, each its own /48, each sending 30
    # reports from 30 of its /64s within 3 minutes: 120 counted reports, 4 people.
    homes = ("2a01:2000:77", "2a01:820:77", "2a02:b000:77", "2001:b00:77")
    post_within(
        client, time_machine, [f"{home}:{k + 1:x}::1" for k in range(30) for home in homes], minutes=3
    )

    rows = statuses_minute_by_minute(time_machine, chatgpt, 8)

    assert "outage" in [row.evidence for row in rows]  # the counts alone would say outage
    assert "outage" not in [row.status for row in rows]
    assert (rows[-1].status, rows[-1].reason) == ("warning", "few_reports")
    assert not Incident.objects.filter(service=chatgpt).exists()


def test_a_handful_in_one_city_is_judged_on_that_citys_reports_in_a_replay():
    # A middling service (4 reports a minute, a fifth of them in city 0) with a week of
    # history; 15 more reports in city 0 within 3 minutes make the city spike. The country's
    # ordinary reports in the same minutes (a dozen more sites) are no support for it: 15
    # reports are a handful wherever the rest of the service stands. 80 are a crowd.
    first = int(dt.datetime(2026, 5, 4, tzinfo=dt.UTC).timestamp()) // 60
    rng = np.random.default_rng(5)
    n = 9 * 1440
    city = rng.poisson(0.8, n).astype(float)
    elsewhere = rng.poisson(3.2, n).astype(float)
    burst_at = 8 * 1440 + 15 * 60

    def replayed(extra: int):
        spiked = city.copy()
        spiked[burst_at : burst_at + 3] += extra / 3
        return replay_minutes(
            first,
            spiked + elsewhere,
            timezone="Europe/Rome",
            city_counts=np.stack([spiked, elsewhere]),
            city_names=["Roma", "elsewhere"],
        )

    few, many = replayed(15), replayed(81)

    assert "warning" in few.status[burst_at : burst_at + 10]
    assert not [i for i in few.incidents if i.started_at >= first + burst_at - 60]
    assert [i for i in many.incidents if i.started_at >= first + burst_at - 60]


@pytest.mark.django_db
def test_fifteen_people_in_one_city_of_a_service_with_its_ordinary_reports_open_no_incident():
    # The verdict bench's scenario, through the real ingest and detection passes: 15
    # residential addresses in Rome within 3 minutes, while the service gets its ordinary 4
    # reports a minute from across the country. It opened a regional incident while the
    # country's reporters counted toward the floor.
    from bench.verdicts import run, scenarios

    (outcome,) = run([s for s in scenarios() if s.name == "handful_city"])

    assert outcome.given == "few_reports" and outcome.incident == ""
    assert outcome.peak[:2] == ("warning", "few_reports")
