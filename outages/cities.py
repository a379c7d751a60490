"""A city's usual, its ratio and the ranking of cities: one definition for every surface
(the map, the cities API and the service page), and the ranking of an incident's cities
(the incident page, the incidents API, the service page during the incident, the review
queue and the alerts: Incident.affected_cities).

A city's usual for a window is its average in the same clock window on each of the
previous BASELINE_DAYS days (Downdetector's "usual for this time of day"). A city is
affected when it is unusual for itself, not because it is big: cities are ranked by their
reports above their usual ("excess"), most first, and a city's ratio reads its count
against at least MIN_USUAL_REPORTS, so one stray report where a fraction is usual is not a
7x spike and a city without history is not an infinite one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Protocol, TypeVar

from django.core.cache import cache

from reports.counts import city_sums_over

BASELINE_DAYS = 7
# The usual of a window moves slowly; computing it reads BASELINE_DAYS windows of rows, so
# it is kept for a while (per service and window, keyed by the clock slot): longer windows
# move more slowly and cost more to read.
USUAL_CACHE_SECONDS = {60: 600, 360: 1800, 1440: 3600}
MIN_USUAL_REPORTS = 1.0


def city_usual(*, service_id: int | None, minutes: int, now: dt.datetime) -> dict[int, float]:
    """Each city's usual reports in the `minutes` up to `now` (for one service, or all):
    its average in the same clock window on each of the previous BASELINE_DAYS days. One
    query, then cached; a city absent from the answer usually has none."""
    keep = USUAL_CACHE_SECONDS.get(minutes, 600)
    slot = int(now.timestamp()) // keep
    key = f"cities:usual:{service_id or 'all'}:{minutes}:{slot}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    window = dt.timedelta(minutes=minutes)
    days = [now - dt.timedelta(days=day) for day in range(1, BASELINE_DAYS + 1)]
    sums = city_sums_over([(end - window, end) for end in days], service_id=service_id)
    usual = {city_id: n / BASELINE_DAYS for city_id, n in sums.items()}
    cache.set(key, usual, keep)
    return usual


def city_ratio(count: int, usual: float) -> float:
    """A city's count against its usual, never against less than MIN_USUAL_REPORTS."""
    return count / max(usual, MIN_USUAL_REPORTS)


def cities_ranked(counts: Mapping[int, int], usual: Mapping[int, float]) -> list[tuple[int, int, float]]:
    """(city id, count, usual) of the cities with reports, most affected first: most reports
    above their usual, then most reports, then the lower id."""
    rows = [(city_id, count, usual.get(city_id, 0.0)) for city_id, count in counts.items() if count > 0]
    rows.sort(key=lambda row: (-(row[1] - row[2]), -row[1], row[0]))
    return rows


class AffectedCity(Protocol):
    """What an incident keeps of a city (outages.models.IncidentCity): its reports since
    the incident began and how many of them were above its usual."""

    city_id: int
    count: int
    excess: float


Row = TypeVar("Row", bound=AffectedCity)


def incident_cities_ranked(rows: Iterable[Row]) -> list[Row]:
    """An incident's cities with reports, most affected first, by the rule of cities_ranked:
    most reports above their usual since the incident began, then most reports, then the
    lower id. A big city's crowd is the story; a village's three reports are not."""
    listed = [row for row in rows if row.count > 0]
    listed.sort(key=lambda row: (-row.excess, -row.count, row.city_id))
    return listed
