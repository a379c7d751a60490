"""One flood verdict for the whole evidence (issue 21, item 2): the verdict reads the counted
reports of the detector's longest window and is taken for every spike, so a paused flood
scored by the 30- and 60-minute windows opens, extends, re-opens and dates no incident."""

from __future__ import annotations

import datetime as dt

import pytest

from catalogue.models import Service
from outages import detection
from outages.detection_pass import GRACE_SECONDS, detection_run
from outages.flood import FLOOD_MINUTES
from outages.models import Incident, ServiceStatus
from tests.detection_helpers import MINUTE, T0, flat_baseline
from tests.helpers import post_report
from tests.test_networks import (
    REPORT,
    national_crowd,
    quiet_service,  # noqa: F401 (the fixture)
    usual_mix,
)


def flood_from_one_24(count: int) -> list[str]:
    """count addresses of one /24 of Telecom Italia, a usual operator: a few-sites flood."""
    return [f"79.20.7.{i + 1}" for i in range(count)]


def post_over(client, time_machine, addresses: list[str], *, start: dt.datetime, minutes: int, body=REPORT):
    """One report per address, spread evenly over `minutes` from `start`, through the API."""
    for i, ip in enumerate(addresses):
        time_machine.move_to(start + dt.timedelta(seconds=60 * minutes * i / len(addresses)), tick=False)
        assert post_report(client, body, ip=ip).status_code == 201


def passes(time_machine, service, first: int, last: int) -> dict[int, ServiceStatus]:
    """The live pass run each minute first..last after T0, as beat runs it; the world row
    after each, by minute."""
    found = {}
    for k in range(first, last + 1):
        now = T0 + k * MINUTE + dt.timedelta(seconds=GRACE_SECONDS)
        time_machine.move_to(now, tick=False)
        detection_run(now=now)
        found[k] = ServiceStatus.objects.world().get(service=service)
    return found


def test_the_flood_verdict_reads_the_detectors_longest_window():
    longest = max(detection.window_buckets(detection.BUCKET_MINUTES)) * detection.BUCKET_MINUTES
    assert FLOOD_MINUTES == longest == 60


@pytest.mark.django_db
@pytest.mark.usefixtures("quiet_service")
def test_a_paused_flood_and_8_residential_reports_17_minutes_later_open_nothing(
    client, chatgpt, time_machine
):
    post_over(client, time_machine, flood_from_one_24(60), start=T0, minutes=3)
    post_over(client, time_machine, national_crowd(40)[:8], start=T0 + 17 * MINUTE, minutes=2)

    rows = passes(time_machine, chatgpt, 1, 30)

    assert not Incident.objects.filter(service=chatgpt).exists()
    assert "outage" not in [row.status for row in rows.values()]
    assert rows[5].flood  # the flood itself, held back


@pytest.mark.django_db
@pytest.mark.usefixtures("quiet_service")
def test_a_genuine_outage_after_a_flood_starts_after_it_and_its_peak_leaves_it_out(
    client, chatgpt, time_machine
):
    post_over(client, time_machine, flood_from_one_24(60), start=T0, minutes=3)
    genuine = national_crowd(150)
    post_over(client, time_machine, genuine, start=T0 + 17 * MINUTE, minutes=10)

    rows = passes(time_machine, chatgpt, 1, 30)

    incident = Incident.objects.get(service=chatgpt)
    assert incident.started_at >= T0 + 17 * MINUTE  # never dated back into the flood
    assert incident.peak_at >= T0 + 15 * MINUTE
    assert incident.peak_count <= len(genuine)  # the flood's 60 are not in it
    assert incident.excess_reports < len(genuine)
    assert rows[30].status == "outage"


def twin(chatgpt: Service) -> Service:
    """Another quiet service with the same baseline and usual mix: the same genuine outage
    without the flood, to measure the schedule against."""
    other = Service.objects.exclude(pk=chatgpt.pk).filter(is_active=True).order_by("pk").first()
    flat_baseline(other, per_minute=0.5)
    usual_mix(other)
    return other


def genuine_outage_on_both(client, time_machine, chatgpt: Service, other: Service) -> None:
    crowd = national_crowd(40)
    post_over(client, time_machine, crowd, start=T0, minutes=5)
    post_over(
        client, time_machine, crowd, start=T0, minutes=5, body={"service": other.slug, "problem": "login"}
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("quiet_service")
def test_a_flood_inside_an_open_incident_does_not_extend_it(client, chatgpt, time_machine):
    other = twin(chatgpt)
    genuine_outage_on_both(client, time_machine, chatgpt, other)
    post_over(client, time_machine, flood_from_one_24(60), start=T0 + 20 * MINUTE, minutes=3)

    passes(time_machine, chatgpt, 1, 70)

    flooded = Incident.objects.get(service=chatgpt)
    usual = Incident.objects.get(service=other)
    assert usual.resolved_at is not None
    assert flooded.resolved_at == usual.resolved_at  # resolved on schedule
    assert flooded.last_spike_at == usual.last_spike_at < T0 + 20 * MINUTE
    # The flood's minutes add nothing to its score or excess. (Its peak, the clock-aligned
    # quarter-hour every surface reads from the stored counts, still holds them: see
    # docs/detection.md, section 7.)
    assert flooded.max_score == pytest.approx(usual.max_score)
    assert flooded.excess_reports < usual.excess_reports + 10  # the flood is 60


@pytest.mark.django_db
@pytest.mark.usefixtures("quiet_service")
def test_50_reports_from_one_24_soon_after_a_resolve_do_not_reopen_it(client, chatgpt, time_machine):
    post_over(client, time_machine, national_crowd(40), start=T0, minutes=5)
    passes(time_machine, chatgpt, 1, 45)
    resolved_at = Incident.objects.get(service=chatgpt).resolved_at
    assert resolved_at is not None and resolved_at < T0 + 45 * MINUTE

    post_over(client, time_machine, flood_from_one_24(50), start=T0 + 46 * MINUTE, minutes=3)
    rows = passes(time_machine, chatgpt, 46, 75)

    incident = Incident.objects.get(service=chatgpt)  # none opened either
    assert incident.resolved_at == resolved_at
    assert incident.last_spike_at < resolved_at
    assert "outage" not in [row.status for row in rows.values()]


@pytest.mark.django_db
@pytest.mark.usefixtures("quiet_service")
def test_a_genuine_outage_right_after_a_flood_is_not_dated_into_it(client, chatgpt, time_machine):
    post_over(client, time_machine, flood_from_one_24(60), start=T0, minutes=3)
    post_over(client, time_machine, national_crowd(150), start=T0 + 3 * MINUTE, minutes=10)

    passes(time_machine, chatgpt, 1, 15)

    incident = Incident.objects.get(service=chatgpt)
    assert incident.started_at >= T0 + 3 * MINUTE
