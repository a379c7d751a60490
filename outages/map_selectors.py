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
from django.db.models import Q, Sum

from config.db_router import read_connection
from geo.models import native_city_name
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
    """One circle, without anything language-dependent but the two names to choose from."""

    city_id: int
    name_en: str
    name_it: str
    country_code: str
    latitude: float
    longitude: float
    count: int
    baseline: float
    services: list[tuple[str, str, int]]  # (slug, name, reports), most reports first

    @property
    def ratio(self) -> float:
        return self.count / self.baseline

    @property
    def native_name(self) -> str:
        return native_city_name(self.country_code, self.name_en, self.name_it)

    def local_name(self, language: str) -> str:
        return self.name_it if language[:2] == "it" and self.name_it else self.name_en


# One round trip for any number of cities and services: the window's sums per city and
# service (with the reports not yet folded into the counts, so a new one shows at once),
# each city's total and its TOP_SERVICES services ranked, the city's names and place.
_WINDOW_SQL = """
    WITH pairs AS (
        SELECT city_id, service_id, sum(n) AS n FROM (
            SELECT city_id, service_id, sum(count) AS n FROM reports_cityminute
            WHERE minute >= %(since)s AND minute <= %(now)s {service_filter}
            GROUP BY city_id, service_id
            UNION ALL
            SELECT city_id, service_id, count(*) FROM reports_report
            WHERE is_aggregated = false AND counted AND NOT abusive AND city_id IS NOT NULL
              AND created_at >= %(since)s {service_filter}
            GROUP BY city_id, service_id
        ) AS parts
        GROUP BY city_id, service_id
    ), ranked AS (
        SELECT city_id, service_id, n, sum(n) OVER (PARTITION BY city_id) AS total,
               row_number() OVER (PARTITION BY city_id ORDER BY n DESC, service_id) AS rank
        FROM pairs
    )
    SELECT ranked.city_id, city.name_en, city.name_it, city.country_code, city.latitude, city.longitude,
           ranked.total, array_agg(service.slug ORDER BY ranked.rank),
           array_agg(service.name ORDER BY ranked.rank), array_agg(ranked.n ORDER BY ranked.rank)
    FROM ranked
    JOIN geo_city AS city ON city.id = ranked.city_id
    JOIN outages_service AS service ON service.id = ranked.service_id
    WHERE ranked.rank <= %(top)s AND city.latitude IS NOT NULL AND city.longitude IS NOT NULL
    GROUP BY ranked.city_id, ranked.total, city.id
    ORDER BY ranked.total DESC, ranked.city_id
"""


def map_cities(*, service: Service | None, minutes: int, now: dt.datetime) -> list[MapCity]:
    """Cities with reports in the last `minutes` (for one service, or all), busiest first.
    Two queries: the window's sums with their cities and services, and the baselines
    (cached, see city_baselines)."""
    since = now - dt.timedelta(minutes=minutes)
    sql = _WINDOW_SQL.format(service_filter="AND service_id = %(service)s" if service is not None else "")
    params = {"since": since, "now": now, "service": service.pk if service else None, "top": TOP_SERVICES}
    with read_connection(CityMinute).cursor() as cursor:  # the replica on public pages
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return []
    baselines = city_baselines(service_id=service.pk if service else None, minutes=minutes, now=now)
    floor = BASELINE_FLOOR_PER_HOUR * minutes / 60
    return [
        MapCity(
            city_id=city_id,
            name_en=name_en,
            name_it=name_it,
            country_code=country,
            latitude=lat,
            longitude=lon,
            count=int(total),
            baseline=max(baselines.get(city_id, 0.0), floor),
            services=[(slug, name, int(n)) for slug, name, n in zip(slugs, names, counts, strict=True)],
        )
        for city_id, name_en, name_it, country, lat, lon, total, slugs, names, counts in rows
    ]


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
