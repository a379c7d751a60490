"""Reads of the report counts for pages and the API (never COUNT(*) over raw reports,
except the few rows not yet aggregated, so a new report shows at once)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Sum

from geo.models import City
from reports.models import CityMinute, ProblemMinute, Report, ServiceMinute


def _pending(service_id: int, since: dt.datetime):
    return Report.objects.filter(
        is_aggregated=False,
        counted=True,
        abusive=False,
        service_id=service_id,
        created_at__gte=since,
    )


def report_count(*, service_id: int, since: dt.datetime) -> int:
    counted = ServiceMinute.objects.filter(service_id=service_id, minute__gte=since).aggregate(
        n=Sum("count")
    )["n"]
    return (counted or 0) + _pending(service_id, since).count()


@dataclass(frozen=True, slots=True)
class ProblemShare:
    code: str
    count: int
    percent: int


def problem_shares(*, service_id: int, since: dt.datetime) -> list[ProblemShare]:
    totals: dict[str, int] = {}
    rows = (
        ProblemMinute.objects.filter(service_id=service_id, minute__gte=since)
        .values("problem")
        .annotate(n=Sum("count"))
    )
    for row in rows:
        totals[row["problem"]] = totals.get(row["problem"], 0) + row["n"]
    for row in _pending(service_id, since).values("problem").annotate(n=Count("id")):
        totals[row["problem"]] = totals.get(row["problem"], 0) + row["n"]
    grand_total = sum(totals.values())
    return [
        ProblemShare(code=code, count=n, percent=round(100 * n / grand_total))
        for code, n in sorted(totals.items(), key=lambda item: -item[1])
    ]


@dataclass(frozen=True, slots=True)
class CityCount:
    city: City
    count: int


def city_counts(*, service_id: int, since: dt.datetime, limit: int = 10) -> list[CityCount]:
    totals: dict[int, int] = {}
    for row in (
        CityMinute.objects.filter(service_id=service_id, minute__gte=since)
        .values("city_id")
        .annotate(n=Sum("count"))
    ):
        totals[row["city_id"]] = row["n"]
    for row in _pending(service_id, since).exclude(city=None).values("city_id").annotate(n=Count("id")):
        totals[row["city_id"]] = totals.get(row["city_id"], 0) + row["n"]
    top = sorted(totals.items(), key=lambda item: -item[1])[:limit]
    cities = City.objects.in_bulk([city_id for city_id, _ in top])
    return [CityCount(city=cities[city_id], count=n) for city_id, n in top]
