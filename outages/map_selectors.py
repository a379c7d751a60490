"""Reads for the spike map: every city with reports in a window, its count, its own
baseline and the services reported there.

A city is hot because it is unusual for that city, not because it is big: the ratio is
the window's count over the same clock window's average on the previous BASELINE_DAYS
days. Three queries for any number of cities: the window's counts per city and
service, the baseline counts per city, and the cities themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Q, Sum

from geo.models import City
from outages.models import Service
from reports.models import CityMinute, Report

WINDOWS = (60, 360, 1440)
BASELINE_DAYS = 7
# The baseline of a window moves slowly; computing it reads BASELINE_DAYS windows of
# rows, so it is kept for a while (per service and window, keyed by the clock slot).
BASELINE_CACHE_SECONDS = 600
# A city with no history has a baseline of this many reports per hour, so one stray report
# in a new city is not a thousandfold spike.
BASELINE_FLOOR_PER_HOUR = 0.5
TOP_SERVICES = 5


@dataclass(frozen=True, slots=True)
class MapCity:
    city: City
    count: int
    baseline: float
    services: list[tuple[Service, int]]

    @property
    def ratio(self) -> float:
        return self.count / self.baseline


def map_cities(*, service: Service | None, minutes: int, now: dt.datetime) -> list[MapCity]:
    """Cities with reports in the last `minutes` (for one service, or all), busiest first."""
    since = now - dt.timedelta(minutes=minutes)
    filters = Q(minute__gte=since, minute__lte=now)
    if service is not None:
        filters &= Q(service_id=service.pk)
    per_pair: dict[tuple[int, int], int] = {}
    for row in CityMinute.objects.filter(filters).values("city_id", "service_id").annotate(n=Sum("count")):
        per_pair[row["city_id"], row["service_id"]] = row["n"]
    pending = Report.objects.filter(
        is_aggregated=False, counted=True, abusive=False, created_at__gte=since, city__isnull=False
    )
    if service is not None:
        pending = pending.filter(service_id=service.pk)
    for city_id, service_id in pending.values_list("city_id", "service_id"):
        per_pair[city_id, service_id] = per_pair.get((city_id, service_id), 0) + 1
    if not per_pair:
        return []

    totals: dict[int, int] = {}
    by_city: dict[int, list[tuple[int, int]]] = {}
    for (city_id, service_id), n in per_pair.items():
        totals[city_id] = totals.get(city_id, 0) + n
        by_city.setdefault(city_id, []).append((service_id, n))
    baselines = city_baselines(service_id=service.pk if service else None, minutes=minutes, now=now)
    floor = BASELINE_FLOOR_PER_HOUR * minutes / 60
    cities = City.objects.in_bulk(list(totals))
    services = (
        {service.pk: service}
        if service is not None
        else Service.objects.in_bulk({service_id for _, service_id in per_pair})
    )
    result = []
    for city_id, count in sorted(totals.items(), key=lambda item: (-item[1], item[0])):
        city = cities[city_id]
        if city.latitude is None or city.longitude is None:
            continue
        ranked = sorted(by_city[city_id], key=lambda item: (-item[1], item[0]))[:TOP_SERVICES]
        result.append(
            MapCity(
                city=city,
                count=count,
                baseline=max(baselines.get(city_id, 0.0), floor),
                services=[(services[service_id], n) for service_id, n in ranked],
            )
        )
    return result


def city_baselines(*, service_id: int | None, minutes: int, now: dt.datetime) -> dict[int, float]:
    """Average reports per city in the same clock window on each of the previous days."""
    slot = int(now.timestamp()) // BASELINE_CACHE_SECONDS
    key = f"map:baseline:{service_id or 'all'}:{minutes}:{slot}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    window = dt.timedelta(minutes=minutes)
    days = Q()
    for day in range(1, BASELINE_DAYS + 1):
        end = now - dt.timedelta(days=day)
        days |= Q(minute__gt=end - window, minute__lte=end)
    rows = CityMinute.objects.filter(days)
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    baselines = {
        row["city_id"]: row["n"] / BASELINE_DAYS for row in rows.values("city_id").annotate(n=Sum("count"))
    }
    cache.set(key, baselines, BASELINE_CACHE_SECONDS)
    return baselines
