from __future__ import annotations

import datetime as dt

import numpy as np
from django.db.models import FilteredRelation, Prefetch, Q, Sum, Value
from scipy import stats

from catalogue.models import Service
from geo.models import native_city_name
from outages import detection
from outages.cities import cities_ranked, city_ratio, city_usual
from outages.models import STATUS_ATTRIBUTE, STATUS_SCOPE_ATTRIBUTE, WORLD, Baseline, Incident, IncidentCity
from outages.official.selectors import with_official_first
from reports.counts import bucket_rows, minute_rows
from reports.models import CityMinute, CountryMinute, ServiceMinute

# --- status, series and incidents for the API (outages.api) ---------------------------------
# Each function runs a fixed number of queries, whatever the number of buckets or cities
# (tests/test_status_api.py pins them).


def services_with_status(scope: str = WORLD):
    """Active services with their status row in `scope` (the world, or a country) and its
    incident, and their official status (outages.official): one query (LEFT JOINs) whatever
    the number of services; outages.presenters.status_of and official_payload read them."""
    return (
        Service.objects.active()
        .annotate(
            **{
                STATUS_ATTRIBUTE: FilteredRelation("statuses", condition=Q(statuses__scope=scope)),
                STATUS_SCOPE_ATTRIBUTE: Value(scope),
            }
        )
        .select_related(f"{STATUS_ATTRIBUTE}__incident", "official_source__current")
    )


def service_with_status(slug: str, scope: str = WORLD) -> Service | None:
    return services_with_status(scope).filter(slug=slug).first()


def _upper(expected, alpha: float):
    """The count above which a bucket with this baseline would raise a warning on its own:
    the negative binomial tail at the detector's warning level, and never below its
    minimum excess and ratio."""
    params = detection.DetectParams()
    mu = np.maximum(np.asarray(expected, dtype=float), 1e-9)
    size = 1.0 / max(alpha, 1e-4)
    tail = stats.nbinom.ppf(1 - 10.0 ** (-params.warning), size, size / (size + mu))
    return np.maximum.reduce([tail, mu * params.min_ratio, mu + params.min_excess])


def service_timeseries_buckets(
    *, service: Service, now: dt.datetime, hours: int, bucket_minutes: int, country: str = ""
) -> list[dict]:
    """Counts in aligned buckets over the last `hours`, worldwide or in `country`, with the
    detection baseline and the warning line; the last bucket is the one in progress. Two
    queries."""
    step = bucket_minutes * 60
    end_bucket = int(now.timestamp()) // step + 1
    n = hours * 60 // bucket_minutes
    first = (end_bucket - n) * bucket_minutes  # epoch minute
    counts = np.zeros(n)
    for bucket, count in bucket_rows(
        CountryMinute if country else ServiceMinute,
        [],
        service_ids=[service.pk],
        start=dt.datetime.fromtimestamp(first * 60, tz=dt.UTC),
        end=dt.datetime.fromtimestamp(end_bucket * step, tz=dt.UTC),
        per_seconds=step,
        country=country,
    ):
        counts[bucket - (end_bucket - n)] += count
    expected, upper = baseline_band(
        service=service, first_minute=first, n=n, bucket_minutes=bucket_minutes, country=country
    )
    return [
        {
            "start": dt.datetime.fromtimestamp((first + i * bucket_minutes) * 60, tz=dt.UTC),
            "count": int(counts[i]),
            "baseline": None if np.isnan(expected[i]) else round(float(expected[i]), 2),
            "upper": None if np.isnan(upper[i]) else round(float(upper[i]), 2),
        }
        for i in range(n)
    ]


def baseline_band(*, service: Service, first_minute: int, n: int, bucket_minutes: int, country: str = ""):
    """The detector's expected count and warning line for n buckets from epoch minute
    first_minute, from the stored profile of the service (worldwide) or of the service in
    `country` (NaN without one). One query."""
    baseline = (
        Baseline.objects.filter(service=service, city=None, country_code=country)
        .only("expected", "alpha", "timezone", "bucket_minutes")
        .first()
    )
    if baseline is None:
        return np.full(n, np.nan), np.full(n, np.nan)
    per_minute = baseline.expected_per_minute(first_minute + np.arange(n * bucket_minutes))
    expected = per_minute.reshape(n, bucket_minutes).sum(axis=1)
    return expected, _upper(expected, baseline.alpha)


def service_cities(
    *, service: Service, now: dt.datetime, minutes: int, limit: int = 50, country: str = ""
) -> list[dict]:
    """Cities reporting in the last `minutes` (in `country` when given), each with its usual
    and ratio, most affected first (outages.cities: the one definition). Two queries, one
    when the usual is cached."""
    last = int(now.timestamp()) // 60
    first = last - minutes + 1
    rows = list(
        minute_rows(
            CityMinute,
            service_id=service.pk,
            start=dt.datetime.fromtimestamp(first * 60, tz=dt.UTC),
            end=dt.datetime.fromtimestamp((last + 1) * 60, tz=dt.UTC),
        )
        .filter(**({"city__country_code": country} if country else {}))
        .values("city_id", "city__name_en", "city__name_it", "city__country_code")
        .annotate(n=Sum("count"))
        .values_list(
            "city_id",
            "city__name_en",
            "city__name_it",
            "city__country_code",
            "city__latitude",
            "city__longitude",
            "n",
        )
    )
    places = {row[0]: row[1:6] for row in rows}
    usual = city_usual(service_id=service.pk, minutes=minutes, now=now)
    found = []
    for city_id, count, expected in cities_ranked({row[0]: int(row[6]) for row in rows}, usual)[:limit]:
        name_en, name_it, country_code, lat, lon = places[city_id]
        found.append(
            {
                "city": name_en,
                "city_local": native_city_name(country_code, name_en, name_it),
                "country": country_code,
                "lat": lat,
                "lon": lon,
                "count": count,
                "baseline": round(expected, 2),
                "ratio": round(city_ratio(count, expected), 2),
            }
        )
    return found


def incidents_list(
    *,
    service_id: int | None = None,
    status: str | None = None,
    ongoing: bool | None = None,
    country: str = "",
    limit: int = 50,
):
    """Public incidents newest first with their service, listed cities, escalations and
    re-openings, those with a city in `country` when given: four queries."""
    incidents = (
        with_official_first(Incident.objects.public())
        .select_related("service")
        .prefetch_related(
            Prefetch("cities", queryset=IncidentCity.objects.listed().select_related("city")),
            "escalations",
            "reopenings",
        )
    )
    if service_id is not None:
        incidents = incidents.filter(service_id=service_id)
    if status is not None:
        incidents = incidents.filter(status=status)
    if ongoing is not None:
        incidents = incidents.filter(resolved_at__isnull=ongoing)
    if country:
        incidents = incidents.in_country(country)
    return incidents.order_by("-started_at", "-pk")[:limit]
