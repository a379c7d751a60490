"""Reads for the spike map: every city with reports in a window, its count, its own
baseline and the services reported there.

A city is hot because it is unusual for that city, not because it is big: its ratio is
its count over its usual (outages.cities, the one definition the other surfaces use). A fixed number of queries for any number of cities: the window's counts per city
and service (its closed slots cached, see BLOCK_MINUTES), the cities' names and places,
and the baseline counts per city, which are cached.
"""

from __future__ import annotations

import datetime as dt
from array import array
from dataclasses import dataclass

from django.core.cache import cache

from catalogue.models import Service
from geo.countries import WORLDWIDE
from geo.models import native_city_name
from outages.cities import city_ratio, city_usual
from outages.dialect import id_in_sql
from reports.counts import city_service_sums, minute_end, read_connection
from reports.models import CityMinute

WINDOWS = (60, 360, 1440)
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
        return city_ratio(self.count, self.baseline)

    @property
    def native_name(self) -> str:
        return native_city_name(self.country_code, self.name_en, self.name_it)

    def local_name(self, language: str) -> str:
        return self.name_it if language[:2] == "it" and self.name_it else self.name_en


# The window is summed in two parts (the sum equals the direct one, tests pin it):
#
# - the block: the whole BLOCK_MINUTES slots of the window that ended LIVE_MINUTES ago or
#   more (the aggregation, every 10 s, has long folded their reports in), summed per city
#   and service once and kept for BLOCK_SECONDS;
# - the live part, read on every answer: the window's head and tail around the block
#   (under 2 * BLOCK_MINUTES + LIVE_MINUTES of minute rows) and the reports not yet folded
#   into the counts, so a new report shows at once.
#
# A late correction to a closed minute (review marking reports abusive subtracts them from
# the counts) shows on the map within BLOCK_SECONDS (plus the shared answer's 20 s): the
# block's key moves on with every slot and lives no longer than one. The block is not
# made of hourly sums: the rows are sparse (330,000 city-minute rows in a day of all
# services are 150,000 city-service pairs), so only the whole window's sums save work.
BLOCK_MINUTES = 10
BLOCK_SECONDS = BLOCK_MINUTES * 60
LIVE_MINUTES = 3

# The names and places of the answer's cities and services, in one round trip.
_NAMES_SQL = """
    SELECT true, id, name_en, name_it, country_code, latitude, longitude FROM geo_city
    WHERE {city_is_listed} AND {city_is_in_country} AND latitude IS NOT NULL AND longitude IS NOT NULL
    UNION ALL
    SELECT false, id, slug, name, '', NULL, NULL FROM outages_service WHERE {service_is_listed}
"""


# A block: city id -> (the city's total, its TOP_SERVICES (service id, n), and all its
# (service id, n) most reports first, packed flat in an array of int64: unpickling 2,000
# bytes values is nearly free, 150,000 small tuples are not; only the cities with live
# reports unpack theirs).
Block = dict[int, tuple[int, tuple[tuple[int, int], ...], bytes]]


def _slot_bounds(since: dt.datetime, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The whole BLOCK_MINUTES slots between since and LIVE_MINUTES before now: the start
    rounded up, the end down."""
    step = BLOCK_SECONDS
    start = -(-int(since.timestamp()) // step) * step
    end = int((now - dt.timedelta(minutes=LIVE_MINUTES)).timestamp()) // step * step
    return dt.datetime.fromtimestamp(start, dt.UTC), dt.datetime.fromtimestamp(max(start, end), dt.UTC)


def _block(*, service_id: int | None, start: dt.datetime, end: dt.datetime) -> Block:
    key = f"map:block:{service_id or 'all'}:{int(start.timestamp())}:{int(end.timestamp())}"
    block = cache.get(key)
    if block is not None:
        return block
    pairs: dict[int, dict[int, int]] = {}
    for city_id, service_id_, n in city_service_sums(start=start, end=end, service_id=service_id):
        pairs.setdefault(city_id, {})[service_id_] = n
    block = {}
    for city_id, counts in pairs.items():
        ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
        packed = array("q", [value for pair in ranked for value in pair]).tobytes()
        block[city_id] = (sum(counts.values()), tuple(ranked[:TOP_SERVICES]), packed)
    cache.set(key, block, BLOCK_SECONDS)
    return block


def _ranked(block: Block, live: dict[int, dict[int, int]]) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """(city id, total, its TOP_SERVICES (service id, n) most first), busiest city first:
    the block plus the live part. Ties go to the lower id, as in SQL's ORDER BY n DESC, id."""
    rows = []
    for city_id in block.keys() | live.keys():
        total, top, packed = block.get(city_id, (0, (), b""))
        shown = list(top)
        added = live.get(city_id)
        if added is not None:
            flat = array("q")
            flat.frombytes(packed)
            order = flat[0::2]
            total += sum(added.values())
            candidates = [
                (s, n + flat[2 * order.index(s) + 1] if s in order else n) for s, n in added.items()
            ]
            # The services without live reports keep their order: their first few suffice.
            rest = 0
            for i, s in enumerate(order):
                if rest == TOP_SERVICES:
                    break
                if s not in added:
                    candidates.append((s, flat[2 * i + 1]))
                    rest += 1
            candidates.sort(key=lambda pair: (-pair[1], pair[0]))
            shown = candidates[:TOP_SERVICES]
        rows.append((city_id, total, shown))
    rows.sort(key=lambda row: (-row[1], row[0]))
    return rows


def map_cities(
    *, service: Service | None, minutes: int, now: dt.datetime, country: str = WORLDWIDE
) -> list[MapCity]:
    """Cities with reports in the last `minutes` (for one service, or all; in one country,
    or worldwide), busiest first. Two queries on every answer (the live part of the window,
    the names of the cities and services), one more when the window's block is not cached,
    and the usual of each city (cached, outages.cities.city_usual). The counts are summed for every country
    (the block is shared); the names query keeps the country's cities only."""
    since = now - dt.timedelta(minutes=minutes)
    service_id = service.pk if service is not None else None
    start, end = _slot_bounds(since, now)
    block = _block(service_id=service_id, start=start, end=end)
    live: dict[int, dict[int, int]] = {}
    for city_id, service_id_, n in city_service_sums(
        start=since, end=minute_end(now), service_id=service_id, pending=True, leave_out=(start, end)
    ):
        live.setdefault(city_id, {})[service_id_] = n
    rows = _ranked(block, live)
    if not rows:
        return []
    services = {s for _, _, top in rows for s, _ in top}
    database = read_connection(CityMinute)  # the replica on public pages
    with database.cursor() as cursor:
        params: dict = {"country": country} if country else {}
        names_sql = _NAMES_SQL.format(
            city_is_in_country="country_code = %(country)s" if country else "true",
            city_is_listed=id_in_sql("cities", [row[0] for row in rows], using=database, params=params),
            service_is_listed=id_in_sql("services", sorted(services), using=database, params=params),
        )
        cursor.execute(names_sql, params)
        names = {(is_city, id_): rest for is_city, id_, *rest in cursor.fetchall()}
    baselines = city_usual(service_id=service_id, minutes=minutes, now=now)
    cities = []
    for city_id, total, top in rows:
        place = names.get((True, city_id))
        if place is None:  # no place to draw it
            continue
        name_en, name_it, country, lat, lon = place
        cities.append(
            MapCity(
                city_id=city_id,
                name_en=name_en,
                name_it=name_it,
                country_code=country,
                latitude=lat,
                longitude=lon,
                count=total,
                baseline=baselines.get(city_id, 0.0),
                services=[(names[False, s][0], names[False, s][1], n) for s, n in top],
            )
        )
    return cities
