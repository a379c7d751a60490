"""Reads for the spike map: every city with reports in a window, its count, its own
baseline and the services reported there.

A city is hot because it is unusual for that city, not because it is big: the ratio is
the window's count over the same clock window's average on the previous BASELINE_DAYS
days. Two queries for any number of cities: the window's counts per city and service
(with the cities' names and places), and the baseline counts per city, which are cached.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import Q, Sum

from geo.models import City
from outages.models import Service
from reports.models import CityMinute

WINDOWS = (60, 360, 1440)
BASELINE_DAYS = 7
# The baseline of a window moves slowly; computing it reads BASELINE_DAYS windows of
# rows, so it is kept for a while (per service and window, keyed by the clock slot):
# longer windows move more slowly and cost more to read.
BASELINE_CACHE_SECONDS = {60: 600, 360: 1800, 1440: 3600}
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


# The cities' names and places and the services' names come with the sums, in the same
# query: one round trip for any number of cities and services.
_WINDOW_SQL = """
    SELECT sums.city_id, sums.service_id, sums.n, city.name_en, city.name_it, city.country_code,
           city.latitude, city.longitude, service.slug, service.name
    FROM (
        SELECT city_id, service_id, sum(n) AS n FROM (
            SELECT city_id, service_id, sum(count) AS n FROM reports_cityminute
            WHERE minute >= %(since)s AND minute <= %(now)s {service_filter}
            GROUP BY city_id, service_id
            UNION ALL
            -- Reports not yet folded into the counts, so a new one shows at once.
            SELECT city_id, service_id, count(*) FROM reports_report
            WHERE is_aggregated = false AND counted AND NOT abusive AND city_id IS NOT NULL
              AND created_at >= %(since)s {service_filter}
            GROUP BY city_id, service_id
        ) AS parts
        GROUP BY city_id, service_id
    ) AS sums
    JOIN geo_city AS city ON city.id = sums.city_id
    JOIN outages_service AS service ON service.id = sums.service_id
    WHERE city.latitude IS NOT NULL AND city.longitude IS NOT NULL
"""


def map_cities(*, service: Service | None, minutes: int, now: dt.datetime) -> list[MapCity]:
    """Cities with reports in the last `minutes` (for one service, or all), busiest first.
    Two queries: the window's sums with their cities and services, and the baselines
    (cached, see city_baselines)."""
    since = now - dt.timedelta(minutes=minutes)
    sql = _WINDOW_SQL.format(service_filter="AND service_id = %(service)s" if service is not None else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"since": since, "now": now, "service": service.pk if service else None})
        rows = cursor.fetchall()
    if not rows:
        return []
    totals: dict[int, int] = {}
    cities: dict[int, City] = {}
    by_city: dict[int, list[tuple[int, int, str, str]]] = {}
    for city_id, service_id, n, name_en, name_it, country, lat, lon, slug, name in rows:
        n = int(n)
        totals[city_id] = totals.get(city_id, 0) + n
        if city_id not in cities:
            cities[city_id] = City(
                id=city_id,
                name_en=name_en,
                name_it=name_it,
                country_code=country,
                latitude=lat,
                longitude=lon,
            )
        by_city.setdefault(city_id, []).append((n, service_id, slug, name))
    baselines = city_baselines(service_id=service.pk if service else None, minutes=minutes, now=now)
    floor = BASELINE_FLOOR_PER_HOUR * minutes / 60
    result = []
    for city_id, count in sorted(totals.items(), key=lambda item: (-item[1], item[0])):
        ranked = sorted(by_city[city_id], key=lambda item: (-item[0], item[1]))[:TOP_SERVICES]
        result.append(
            MapCity(
                city=cities[city_id],
                count=count,
                baseline=max(baselines.get(city_id, 0.0), floor),
                services=[(Service(id=sid, slug=slug, name=name), n) for n, sid, slug, name in ranked],
            )
        )
    return result


def city_baselines(*, service_id: int | None, minutes: int, now: dt.datetime) -> dict[int, float]:
    """Average reports per city in the same clock window on each of the previous days."""
    keep = BASELINE_CACHE_SECONDS.get(minutes, 600)
    slot = int(now.timestamp()) // keep
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
    cache.set(key, baselines, keep)
    return baselines
