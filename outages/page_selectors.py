"""Reads for the public pages: the home list, the service page and the incident page.

Every function here runs a fixed number of queries whatever the number of services,
cities or buckets (tests/test_pages.py pins the totals). They read the minute count
tables, never raw reports, except the few rows not yet folded into the counts, so a
report a person has just sent shows at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum
from django.db.models.functions import TruncHour

from outages.models import Incident, Service, ServiceStatus
from reports.models import Report, ServiceMinute

BUCKET_MINUTES = 15

STATUS_ORDER = {ServiceStatus.Tier.OUTAGE: 0, ServiceStatus.Tier.WARNING: 1, ServiceStatus.Tier.OK: 2}


def bucket_floor(moment: dt.datetime, minutes: int = BUCKET_MINUTES) -> dt.datetime:
    epoch = int(moment.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % (minutes * 60), tz=dt.UTC)


def _pending(service_id: int | None, since: dt.datetime):
    rows = Report.objects.filter(is_aggregated=False, counted=True, abusive=False, created_at__gte=since)
    return rows if service_id is None else rows.filter(service_id=service_id)


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    service: Service
    status: str
    count: int  # reports over the last 15 minutes, as the detection pass saw them
    sparkline: list[int]  # reports per hour over the last 24 hours, oldest first


def services_overview(*, now: dt.datetime, query: str = "") -> list[ServiceSummary]:
    """Active services with their status and a 24-hour sparkline, problems first, then by
    name. Two queries for any number of services."""
    services = Service.objects.active().select_related("current_status").order_by("name")
    if query:
        services = services.filter(name__icontains=query)
    services = list(services)
    first_hour = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=23)
    lines: dict[int, list[int]] = {service.pk: [0] * 24 for service in services}
    if services:
        rows = (
            ServiceMinute.objects.filter(service_id__in=lines, minute__gte=first_hour)
            .annotate(hour=TruncHour("minute", tzinfo=dt.UTC))
            .values("service_id", "hour")
            .annotate(n=Sum("count"))
        )
        for row in rows:
            index = int((row["hour"] - first_hour).total_seconds() // 3600)
            if 0 <= index < 24:
                lines[row["service_id"]][index] += row["n"]
    summaries = [
        ServiceSummary(
            service=service,
            status=_status_of(service),
            count=_current_count(service),
            sparkline=lines[service.pk],
        )
        for service in services
    ]
    summaries.sort(key=lambda summary: STATUS_ORDER.get(summary.status, 3))
    return summaries


def _status_row(service: Service) -> ServiceStatus | None:
    try:
        return service.current_status
    except ServiceStatus.DoesNotExist:
        return None


def _status_of(service: Service) -> str:
    row = _status_row(service)
    # A service the detection pass has not looked at yet has had no reports: ok.
    return row.status if row is not None else ServiceStatus.Tier.OK


def _current_count(service: Service) -> int:
    row = _status_row(service)
    return row.count if row is not None else 0


def service_status(*, service_id: int) -> str:
    row = ServiceStatus.objects.filter(service_id=service_id).values_list("status", flat=True).first()
    return row or ServiceStatus.Tier.OK


def incident_timeseries(*, incident: Incident, now: dt.datetime) -> list[dict]:
    """Reports per 15 minutes from an hour before the incident to an hour after it (or
    now). One query."""
    per_bucket = BUCKET_MINUTES * 60
    start = int(bucket_floor(incident.started_at - dt.timedelta(hours=1)).timestamp())
    end_at = min(now, (incident.resolved_at or now) + dt.timedelta(hours=1))
    end = int(bucket_floor(end_at).timestamp())
    counts: dict[int, int] = {}
    rows = ServiceMinute.objects.filter(
        service_id=incident.service_id,
        minute__gte=dt.datetime.fromtimestamp(start, tz=dt.UTC),
        minute__lt=dt.datetime.fromtimestamp(end + per_bucket, tz=dt.UTC),
    ).values_list("minute", "count")
    for minute, count in rows:
        epoch = int(minute.timestamp())
        counts[epoch - epoch % per_bucket] = counts.get(epoch - epoch % per_bucket, 0) + count
    return [
        {"start": dt.datetime.fromtimestamp(key, tz=dt.UTC).isoformat(), "count": counts.get(key, 0)}
        for key in range(start, end + per_bucket, per_bucket)
    ]
