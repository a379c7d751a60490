"""What the public may see of incidents: the service page, the incident list and the feeds
all read it here, built on the one visibility rule (`Incident.objects.public()`)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from catalogue.models import Service
from outages.models import WORLD, Incident
from outages.peak import Peak, incident_peaks, incident_window
from reports.counts import minute_end, window_problem_sums


@dataclass(frozen=True, slots=True)
class PublicIncident:
    pk: int
    service_slug: str
    service_name: str
    started_at: dt.datetime
    resolved_at: dt.datetime | None
    updated_at: dt.datetime
    peak_count: int
    # A reviewer confirmed it (even if it has resolved since).
    confirmed: bool
    public_note: str
    # Its latest escalation ("reports rising sharply again at 16:07"), if any.
    escalated_at: dt.datetime | None = None
    # The first minute of its latest re-opening ("problems again since 14:10"), if any.
    reopened_at: dt.datetime | None = None
    # The zone its times are shown in: the service's, as on its pages.
    service_timezone: str = "UTC"


def public_incident_query(
    *,
    service_id: int | None = None,
    category: str = "",
    country: str = "",
    day: dt.date | None = None,
    ongoing: bool | None = None,
    zone: dt.tzinfo = dt.UTC,
) -> QuerySet[Incident]:
    """Public incidents newest first, filtered: a category by its slug, a country by the
    country of an affected city, a day (in `zone`) on which the incident was going on."""
    incidents = (
        Incident.objects.public()
        .with_escalated_at()
        .select_related("service", "review")
        .order_by("-started_at", "-pk")
    )
    if service_id is not None:
        incidents = incidents.filter(service_id=service_id)
    if category:
        incidents = incidents.filter(service__in=Service.objects.in_category(category))
    if country:
        incidents = incidents.in_country(country)
    if day is not None:
        start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
        end = start + dt.timedelta(days=1)
        incidents = incidents.filter(started_at__lt=end).filter(
            Q(resolved_at__isnull=True) | Q(resolved_at__gt=start)
        )
    if ongoing is not None:
        incidents = incidents.filter(resolved_at__isnull=ongoing)
    return incidents


# Incidents of other services that started this close to one "spiked with it".
TOGETHER = dt.timedelta(minutes=15)


# A shared provider is suspected only for services whose rises began this close together, and
# that no one operator's customers explain (an ISP's outage takes several services at once
# too): services merely up in the same quarter-hour are no evidence of a common cause.
ROSE_TOGETHER = dt.timedelta(minutes=5)


def rose_together(incident: Incident, others: Iterable[tuple[int, dt.datetime, dict | None]]) -> int:
    """How many services, this one included, rose together with `incident`, from the other
    public incidents as (service id, started_at, operator)."""
    return 1 + len(
        {
            service_id
            for service_id, started_at, operator in others
            if service_id != incident.service_id
            and abs(started_at - incident.started_at) <= ROSE_TOGETHER
            and not operator
        }
    )


def services_spiking_with(incident: Incident) -> int:
    """How many services, this one included, rose together with it (`rose_together`)."""
    others = (
        Incident.objects.public()
        .filter(
            started_at__gte=incident.started_at - ROSE_TOGETHER,
            started_at__lte=incident.started_at + ROSE_TOGETHER,
        )
        .values_list("service_id", "started_at", "operator")
    )
    return rose_together(incident, others)


def as_public(incident: Incident, *, peak: Peak | None = None) -> PublicIncident:
    """An incident as the public sees it, with its stored peak or the `peak` given."""
    review = getattr(incident, "review", None)
    return PublicIncident(
        pk=incident.pk,
        service_slug=incident.service.slug,
        service_name=incident.service.name,
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        updated_at=incident.updated_at,
        peak_count=incident.peak_count if peak is None else peak.count,
        confirmed=incident.confirmed,
        public_note=review.public_note if review is not None else "",
        escalated_at=getattr(incident, "escalated_at", None),
        reopened_at=incident.reopened_at,
        service_timezone=incident.service.timezone,
    )


def public_incidents(
    *, service_id: int | None = None, limit: int = 50, scope: str = WORLD, now: dt.datetime | None = None
) -> list[PublicIncident]:
    """Incidents the public may see, newest first: never dismissed or merged-away ones, with
    their figures in `scope` (see as_public_in).

    For the service page, the incident list and the feeds: one query (two in a country).
    """
    return as_public_in(list(public_incident_query(service_id=service_id)[:limit]), scope=scope, now=now)


def as_public_in(
    incidents: list[Incident], *, scope: str = WORLD, now: dt.datetime | None = None
) -> list[PublicIncident]:
    """Incidents as the public sees them in `scope`, with their peak there (incident_peaks_in).
    One query in a country."""
    peaks = incident_peaks_in(incidents, scope=scope, until=minute_end(now or timezone.now()))
    return [as_public(incident, peak=peaks[incident.pk]) for incident in incidents]


def incident_peaks_in(
    incidents: Sequence[Incident], *, scope: str = WORLD, until: dt.datetime
) -> dict[int, Peak]:
    """Each incident's peak in `scope`: worldwide, the one detection stored; in a country,
    the peak of that country's own reports (outages.peak), measured up to `until`, so an
    Italian page never shows the world's figure. No query worldwide, one in a country."""
    if scope == WORLD or not incidents:
        return {incident.pk: Peak(incident.peak_at, incident.peak_count) for incident in incidents}
    peaks = incident_peaks(incidents, scope=scope, until=until)
    return {incident.pk: peaks[incident.pk] or Peak(incident.started_at, 0) for incident in incidents}


def incident_problems_in(
    incidents: Sequence[Incident], *, scope: str = WORLD, until: dt.datetime
) -> dict[int, list[tuple[str, int]]]:
    """Each incident's problems as (code, reports), most reported first, in `scope`:
    worldwide, what detection stored over the incident; in a country, that country's own
    reports from the incident's start through the minutes detection followed it
    (outages.peak.incident_window), up to `until`, so an Italian page never shows the
    world's breakdown. No query worldwide, one in a country for any number of incidents."""
    if scope == WORLD:
        return {
            incident.pk: [(row["code"], row["count"]) for row in incident.problems] for incident in incidents
        }
    windows = [
        (incident.service_id, incident.started_at, incident_window(incident, until=until)[1])
        for incident in incidents
    ]
    counts: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for index, code, n in window_problem_sums(windows, country=scope):
        counts[index][code] += n
    return {
        incident.pk: sorted(counts[i].items(), key=lambda item: (-item[1], item[0]))
        for i, incident in enumerate(incidents)
    }
