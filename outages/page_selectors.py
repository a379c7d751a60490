"""Reads for the public pages: the home list, the service page and the incident page.

Every function here runs a fixed number of queries whatever the number of services,
cities or buckets (tests/test_pages.py pins the totals). They read the minute count
tables, never raw reports, except the few rows not yet folded into the counts, so a
report a person has just sent shows at once.

Everyone opens the same page during an outage, so the expensive part of each answer is
shared through the cache: the minutes that can no longer change (older than LIVE_MINUTES,
which the aggregation has long folded in) are summed once and kept for a short while;
the last few minutes and the reports not yet aggregated are read on every request, so
the numbers stay exact and never step back when the aggregation runs. What is cached is
counts by code and id only; names and labels are added per request, in its language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache

from catalogue.models import Service
from geo.models import City
from outages.cities import cities_ranked, city_usual
from outages.models import Incident, ServiceStatus
from outages.peak import PEAK_MINUTES, bucket_floor
from outages.presenters import status_of
from outages.selectors import baseline_band, services_with_status
from reports.api_time import json_datetime
from reports.counts import bucket_rows, minute_end, scope_sums
from reports.models import CountryMinute, ServiceMinute

BUCKET_MINUTES = PEAK_MINUTES  # the charts draw the buckets the peak is measured in
DAY_BUCKETS = 24 * 60 // BUCKET_MINUTES
# Minutes this recent are read live on every request: the aggregation folds reports
# into the minute tables every few seconds, so older minutes no longer change.
LIVE_MINUTES = 3
# How long the summed older minutes of a service page are shared (keyed by the minute,
# so the window moves on every minute anyway).
PAGE_CACHE_SECONDS = 30
# The home page's past whole hours change only when a reviewer excludes reports.
PAST_HOURS_CACHE_SECONDS = 300
TOP_CITIES = 10

STATUS_ORDER: dict[str, int] = {
    ServiceStatus.Tier.OUTAGE: 0,
    ServiceStatus.Tier.WARNING: 1,
    ServiceStatus.Tier.OK: 2,
}


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    service: Service
    status: str
    sparkline: list[int]  # reports per hour over the last 24 hours, oldest first


def services_overview(
    *, now: dt.datetime, query: str = "", category: str = "", country: str = ""
) -> list[ServiceSummary]:
    """Active services with their status and a 24-hour sparkline, worldwide or in one
    country, problems first, then by name. Two queries for any number of services, three
    when the past hours' sums are not cached; one more for a country's statuses."""
    services = services_with_status(country).order_by("name")
    if query:
        services = services.matching(query)
    if category:
        services = services.in_category(category)
    services = list(services)
    lines: dict[int, list[int]] = {service.pk: [0] * 24 for service in services}
    if services:
        for service_id, hour, n in _hourly_counts(now, country):
            if service_id in lines and 0 <= hour < 24:
                lines[service_id][hour] += n
    summaries = [
        ServiceSummary(
            service=service,
            status=status_of(service, country).code,
            sparkline=lines[service.pk],
        )
        for service in services
    ]
    summaries.sort(key=lambda summary: STATUS_ORDER.get(summary.status, 3))
    return summaries


def sparkline_start(now: dt.datetime) -> dt.datetime:
    """The first minute of the home page's 24 clock hours (the hour now in progress is the last):
    the same window as /api/v1/services/{slug}/timeseries/?hours=24&bucket=60."""
    return now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=23)


def _hourly_counts(now: dt.datetime, country: str = "") -> list[tuple[int, int, int]]:
    """(service id, hour index 0-23 oldest first, reports) over the last 24 clock hours,
    every active service, worldwide or in `country`. The whole hours before the live
    minutes come from the cache."""
    first_hour = sparkline_start(now)
    split = (now - dt.timedelta(minutes=LIVE_MINUTES)).replace(minute=0, second=0, microsecond=0)
    key = f"pages:hours:{country}:{int(first_hour.timestamp())}:{int(split.timestamp())}"
    past = cache.get(key)
    if past is None:
        past = _hour_sums(first_hour, first_hour, split, country)
        cache.set(key, past, PAST_HOURS_CACHE_SECONDS)
    return past + _hour_sums(first_hour, split, first_hour + dt.timedelta(hours=24), country)


def _hour_sums(
    first_hour: dt.datetime, start: dt.datetime, end: dt.datetime, country: str
) -> list[tuple[int, int, int]]:
    origin = int(first_hour.timestamp()) // 3600
    return [
        (service_id, hour - origin, n)
        for service_id, hour, n in bucket_rows(
            CountryMinute if country else ServiceMinute,
            ["service_id"],
            service_ids=None,
            start=start,
            end=end,
            per_seconds=3600,
            country=country,
        )
    ]


def incident_timeseries(*, incident: Incident, now: dt.datetime, country: str = "") -> list[dict]:
    """Reports per 15 minutes from an hour before the incident to an hour after it (or
    now), worldwide or from one country. One query."""
    per_bucket = BUCKET_MINUTES * 60
    start = int(bucket_floor(incident.started_at - dt.timedelta(hours=1)).timestamp())
    end_at = min(now, (incident.resolved_at or now) + dt.timedelta(hours=1))
    end = int(bucket_floor(end_at).timestamp())
    counts = {
        bucket * per_bucket: n
        for bucket, n in bucket_rows(
            CountryMinute if country else ServiceMinute,
            [],
            service_ids=[incident.service_id],
            start=dt.datetime.fromtimestamp(start, tz=dt.UTC),
            end=dt.datetime.fromtimestamp(end + per_bucket, tz=dt.UTC),
            per_seconds=per_bucket,
            country=country,
        )
    }
    return [
        {"start": json_datetime(dt.datetime.fromtimestamp(key, tz=dt.UTC)), "count": counts.get(key, 0)}
        for key in range(start, end + per_bucket, per_bucket)
    ]


# --- service page --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceNumbers:
    count_last_hour: int
    count_last_day: int
    timeseries: list[dict]  # 96 buckets: start, count, baseline, upper
    problems: list[tuple[str, int]]  # (code, reports), most reported first
    # The TOP_CITIES most affected: the incident's own (Incident.affected_cities, reports since
    # it began) while one is going on, else the last 24 hours' (outages.cities.cities_ranked).
    cities: list[tuple[City, int]]
    cities_since: dt.datetime | None = None  # the incident's start when they are its cities


def service_numbers(
    *, service: Service, now: dt.datetime, country: str = "", incident: Incident | None = None
) -> ServiceNumbers:
    """The service page's numbers over the last 24 hours (the chart's 96 buckets of 15
    minutes, the last one in progress, and the last 1,440 minutes for the counts),
    worldwide or from the reports in one country against that country's baseline. During
    `incident` (the one behind the status), unless a reviewer dismissed it, the cities are
    the incident's, ranked as the incident page and the API rank them (in `country`, when
    given).

    Three queries when the older minutes are cached (the live minutes and pending
    reports, the top cities, nothing else), five when not (their sums and the stored
    baseline as well)."""
    now_minute = int(now.timestamp()) // 60
    day_start = now_minute - 1439
    split = now_minute - LIVE_MINUTES + 1  # minutes from here on are read live
    step = BUCKET_MINUTES
    first = (now_minute // step + 1 - DAY_BUCKETS) * step  # the chart's first minute
    # v2: the cached value is a reports.counts.ServiceSums; a new shape takes a new key, so a
    # deploy never unpickles what older code stored.
    key = f"pages:service:v2:{service.pk}:{country}:{now_minute}"
    past = cache.get(key)
    if past is None:
        sums = scope_sums(service.pk, country, start=_at(day_start), end=_at(split))
        expected, upper = baseline_band(
            service=service, first_minute=first, n=DAY_BUCKETS, bucket_minutes=step, country=country
        )
        past = (sums, _rounded(expected), _rounded(upper))
        cache.set(key, past, PAGE_CACHE_SECONDS)
    sums, expected, upper = past
    sums = sums.copy()
    sums.add(
        scope_sums(service.pk, country, start=_at(split), end=minute_end(now), pending_since=_at(day_start))
    )

    buckets = [0] * DAY_BUCKETS
    for minute, n in sums.minutes.items():
        index = (minute - first) // step
        if 0 <= index < DAY_BUCKETS:
            buckets[index] += n
    if incident is not None and incident.dismissed:
        incident = None  # not public: the last 24 hours' cities, as when nothing is going on
    if incident is not None:
        shown = [(row.city, row.count) for row in incident.affected_cities(country)[:TOP_CITIES]]
    else:
        usual = city_usual(service_id=service.pk, minutes=1440, now=now)
        top = [(city_id, n) for city_id, n, _ in cities_ranked(sums.cities, usual)[:TOP_CITIES]]
        cities = City.objects.in_bulk([city_id for city_id, _ in top])
        shown = [(cities[city_id], n) for city_id, n in top if city_id in cities]
    return ServiceNumbers(
        count_last_hour=sum(n for minute, n in sums.minutes.items() if minute > now_minute - 60),
        count_last_day=sum(n for minute, n in sums.minutes.items() if minute >= day_start),
        timeseries=[
            {
                "start": _at(first + index * step),
                "count": buckets[index],
                "baseline": expected[index],
                "upper": upper[index],
            }
            for index in range(DAY_BUCKETS)
        ],
        problems=[
            (code, n) for code, n in sorted(sums.problems.items(), key=lambda item: (-item[1], item[0]))
        ],
        cities=shown,
        cities_since=incident.started_at if incident is not None else None,
    )


def _at(epoch_minute: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_minute * 60, tz=dt.UTC)


def _rounded(values) -> list[float | None]:
    return [None if np.isnan(value) else round(float(value), 2) for value in values]
