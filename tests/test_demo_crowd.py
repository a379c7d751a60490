"""The living demo in accelerated time: `demo_data`'s history, then the demo crowd's own
windows through the ingest path, real detection passes and the demo reviewer's schedule,
on the real PostgreSQL, Redis and city database.

A live report is stamped by the server when it arrives, so against a server the crowd's
clock cannot honestly run faster than real time. Here each window of the crowd is ingested
with the times it was drawn for (what the server would stamp in real time) and the clock
is moved to its end for the detection pass and the reviewer.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Sum

from catalogue.models import Service
from outages.detection_pass import GRACE_SECONDS, detection_run
from outages.models import Incident, IncidentCity, ServiceStatus
from outages.review.models import ReviewAction
from reports.aggregation import IncomingReport, reports_ingest_bulk
from reports.models import CountryMinute, Source
from simulator.demo import ISP_SERVICES, OUTAGE_LEAD, REGIONAL_REGIONS, DemoCrowd, DemoSchedule
from simulator.management.commands.simulate import problem_mapper
from simulator.reviewer import DEMO_REVIEWER, demo_reviews_apply

# A Monday afternoon in Italy: `make run` loaded its history at 16:07 CEST.
NOW = dt.datetime(2026, 5, 11, 14, 7, tzinfo=dt.UTC)
CYCLE = dt.datetime(2026, 5, 11, 14, 0, tzinfo=dt.UTC)  # the 15-minute boundary before NOW
OUTAGE_START = CYCLE - OUTAGE_LEAD
MINUTE = dt.timedelta(minutes=1)
STEP = 3  # minutes between detection passes (each pass evaluates every minute since the last)
SIMULATED_MINUTES = 75


def _ingest(batch, services: dict[str, int], problem_of) -> None:
    reports_ingest_bulk(
        reports=(
            IncomingReport(
                service_id=services[report.service],
                problem=problem_of(report.service, report.problem),
                client_ip=report.client_ip,
                created_at=report.created_at,
                source=Source.SIMULATED,
            )
            for report in batch
        )
    )


def _run_demo() -> dict[str, list[tuple[dt.datetime, str, str, str]]]:
    """The history at NOW, then SIMULATED_MINUTES of the crowd; every service's status
    (time, status, reason, evidence) after each pass."""
    with time_machine.travel(NOW, tick=False):
        call_command("demo_data", "--days", "1", "--reviewer-password", "demo-pw-1", stdout=StringIO())
    services = dict(Service.objects.values_list("slug", "pk"))
    problem_of = problem_mapper(services)
    schedule = DemoSchedule(anchor=NOW)
    crowd = DemoCrowd(list(services), schedule, seed=7)
    reviewer = User.objects.get(username=DEMO_REVIEWER)
    statuses: dict[str, list[tuple[dt.datetime, str, str, str]]] = defaultdict(list)
    done: set = set()
    for minute in range(STEP, SIMULATED_MINUTES + 1, STEP):
        moment = NOW + minute * MINUTE
        _ingest(crowd.window(moment - STEP * MINUTE, moment), services, problem_of)
        with time_machine.travel(moment + dt.timedelta(seconds=GRACE_SECONDS), tick=False):
            detection_run(now=moment + dt.timedelta(seconds=GRACE_SECONDS))
            demo_reviews_apply(
                schedule.reviews(moment - dt.timedelta(hours=1), moment),
                reviewer=reviewer,
                now=moment,
                done=done,
            )
        for slug, status, reason, evidence in ServiceStatus.objects.world().values_list(
            "service__slug", "status", "reason", "evidence"
        ):
            statuses[slug].append((moment, status, reason, evidence))
    return statuses


def _between(rows, start: dt.datetime, end: dt.datetime):
    return [row for row in rows if start <= row[0] <= end]


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_lives_its_outage_for_its_real_length_and_plays_every_event(on_postgres, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the crowd's clock file
    statuses = _run_demo()

    # ChatGPT: in progress at start, an outage for its real length (about an hour and a
    # half from its first reports), never green after 7 minutes nor resolved after 18.
    chatgpt = statuses["chatgpt"]
    length = _between(chatgpt, NOW, OUTAGE_START + dt.timedelta(minutes=90))
    assert len(length) >= 15
    assert {status for _, status, _, _ in length} == {"outage"}, length
    # ... on the counts' own evidence through its peak and tail, not only the reviewer's word.
    tail = _between(chatgpt, NOW, OUTAGE_START + dt.timedelta(minutes=75))
    assert {evidence for *_, evidence in tail} == {"outage"}, tail
    incident = Incident.objects.get(service__slug="chatgpt", started_at__lte=NOW)
    assert incident.resolved_at is None
    assert incident.status == Incident.Status.CONFIRMED

    # Italy's peak 15-minute bucket holds about 1,251 reports, Milano, Roma, Napoli and
    # Bologna on top, and the United States and Asia report in the same window.
    italy = CountryMinute.objects.filter(
        service__slug="chatgpt",
        country_code="IT",
        minute__gte=CYCLE - dt.timedelta(minutes=15),
        minute__lt=CYCLE,
    ).aggregate(total=Sum("count"))["total"]
    assert abs(italy - 1251) <= 0.1 * 1251
    cities = IncidentCity.objects.filter(incident=incident).order_by("-count").select_related("city")
    assert [row.city.name_en for row in cities[:4]] == ["Milan", "Rome", "Naples", "Bologna"]
    abroad = dict(
        CountryMinute.objects.filter(service__slug="chatgpt", minute__gte=OUTAGE_START, minute__lt=CYCLE)
        .values_list("country_code")
        .annotate(total=Sum("count"))
    )
    assert abroad["US"] > 100 and abroad.get("IN", 0) + abroad.get("JP", 0) > 20

    # The regional outage (+3 min): iliad's incident names only cities of its regions.
    assert any(status != "ok" for _, status, _, _ in _between(statuses["iliad"], CYCLE, CYCLE + 30 * MINUTE))
    regional = Incident.objects.get(service__slug="iliad", started_at__gte=CYCLE - 15 * MINUTE)
    regions = set(IncidentCity.objects.filter(incident=regional).values_list("city__region", flat=True))
    assert regions and regions <= set(REGIONAL_REGIONS)

    # The ISP outage (+6 min): the services it hit read as one operator's problem.
    window = (CYCLE + 10 * MINUTE, CYCLE + 30 * MINUTE)
    isp = [slug for slug in ISP_SERVICES if any(row[2] == "isp" for row in _between(statuses[slug], *window))]
    assert len(isp) >= 2, {slug: _between(statuses[slug], *window) for slug in ISP_SERVICES}

    # The flood (+12 min): held back, a warning that says so, never an outage or an incident.
    flood = _between(statuses["spotify"], CYCLE + 12 * MINUTE, CYCLE + 25 * MINUTE)
    assert any(reason == "flood_suspected" for _, _, reason, _ in flood), flood
    assert all(status != "outage" for _, status, _, _ in flood), flood
    assert not Incident.objects.filter(service__slug="spotify", started_at__gte=CYCLE).exists()

    # A service the events leave alone stays green.
    assert {status for _, status, _, _ in statuses["steam"]} == {"ok"}

    # Every review state: confirmed and dismissed by the demo reviewer, through the audited
    # review service; suspected ones waiting; the earlier outage resolved.
    actions = set(ReviewAction.objects.values_list("actor_name", "kind", "incident__service__slug", "reason"))
    assert actions == {
        (DEMO_REVIEWER, "confirm", "chatgpt", ""),
        (DEMO_REVIEWER, "dismiss", "netflix", "media"),
    }
    assert Incident.objects.filter(service__slug="netflix", status=Incident.Status.DISMISSED).exists()
    assert Incident.objects.filter(status=Incident.Status.SUSPECTED, resolved_at=None).exists()
    assert Incident.objects.filter(
        service__slug="playstation-network", resolved_at__lt=NOW, resolved_at__isnull=False
    ).exists()
