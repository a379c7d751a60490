"""Building blocks for detection tests: flat baselines and minute counts written directly."""

from __future__ import annotations

import datetime as dt

import numpy as np

from catalogue.models import Service
from geo.models import City
from outages.baselines import BUCKET_MINUTES
from outages.models import Baseline, Incident
from reports.models import CityMinute, ProblemMinute, ServiceMinute

# A Tuesday; every test builds its own minutes around it.
T0 = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def city(name_en: str, *, name_it: str = "", lat: float = 45.0, lon: float = 9.0) -> City:
    return City.objects.create(
        name_en=name_en, name_it=name_it, country_code="IT", region="", latitude=lat, longitude=lon
    )


def flat_baseline(
    service: Service,
    *,
    per_minute: float,
    city: City | None = None,
    alpha: float = 0.05,
    beta: float = 0.01,
    built_at: dt.datetime = T0 - dt.timedelta(days=1),
) -> Baseline:
    """The same expected count in every slot of the week."""
    expected = np.full((7, 1440 // BUCKET_MINUTES), per_minute * BUCKET_MINUTES, dtype="<f4")
    return Baseline.objects.create(
        service=service,
        city=city,
        bucket_minutes=BUCKET_MINUTES,
        timezone=service.timezone,
        expected=expected.tobytes(),
        alpha=alpha,
        beta=beta,
        history_reports=1000,
        built_at=built_at,
    )


def put_counts(
    service: Service,
    start: dt.datetime,
    minutes: int,
    per_minute: int,
    *,
    city: City | None = None,
    problem: str | None = "login",
) -> None:
    """per_minute reports in each minute from start: to the service, and to a city and a
    problem when given (callers put a city's share in separately to keep totals right)."""
    if per_minute <= 0:
        return
    moments = [start + i * MINUTE for i in range(minutes)]
    if city is not None:
        CityMinute.objects.bulk_create(
            [CityMinute(service=service, city=city, minute=m, count=per_minute) for m in moments]
        )
        return
    ServiceMinute.objects.bulk_create(
        [ServiceMinute(service=service, minute=m, count=per_minute) for m in moments]
    )
    if problem:
        ProblemMinute.objects.bulk_create(
            [ProblemMinute(service=service, problem=problem, minute=m, count=per_minute) for m in moments]
        )


def incident_summary(service: Service) -> list[tuple]:
    """What a pass decided, in a form two runs can be compared by."""
    return [
        (
            incident.status,
            incident.started_at,
            incident.last_spike_at,
            incident.resolved_at,
            incident.peak_count,
            incident.peak_at,
            round(incident.excess_reports, 3),
            tuple(incident.problems and [(p["code"], p["count"]) for p in incident.problems]),
            tuple((c.city_id, c.count, round(c.excess, 3)) for c in incident.cities.all()),
        )
        for incident in Incident.objects.filter(service=service).order_by("started_at")
    ]


def send_over_ten_minutes(client, time_machine, addresses: list[str], body: dict) -> list[int]:
    """One report per address, spread evenly over the ten minutes from T0, through the API."""
    from tests.helpers import post_report

    statuses = []
    for i, ip in enumerate(addresses):
        time_machine.move_to(T0 + dt.timedelta(seconds=600 * i / len(addresses)), tick=False)
        statuses.append(post_report(client, body, ip=ip).status_code)
    return statuses


def detect_after_the_burst(time_machine) -> None:
    """Count the burst and run the live pass two minutes after its ten minutes."""
    from outages.detection_pass import detection_run
    from reports.aggregation import reports_aggregate_all

    reports_aggregate_all()
    time_machine.move_to(T0 + 12 * MINUTE, tick=False)
    detection_run(now=T0 + 12 * MINUTE)
