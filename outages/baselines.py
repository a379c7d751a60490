"""Baselines: the seasonal profiles of services and their busier cities, rebuilt nightly from
the count tables, and the cache of decoded profiles the detection pass reads every minute.

The maths is in outages.detection (pure); this module reads the history and stores rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from django.db import transaction
from django.db.models import Count, Q

from catalogue.models import Service
from outages import detection
from outages.minutes import epoch_minute, from_epoch_minute
from outages.models import WORLD, Baseline, Incident, NetworkMix
from reports.counts import bucket_series
from reports.models import CityMinute, CountryMinute, Report, ServiceMinute

BUCKET_MINUTES = detection.BUCKET_MINUTES
CITY_MIN_REPORTS = detection.CITY_MIN_REPORTS
# Series per call of the profile builder during a rebuild (memory: ~100 kB per series-week).
PROFILE_SLICE = 256
# Services whose profiles are replaced in one transaction during a rebuild.
REBUILD_BATCH = 100

# A service's usual operator mix is learned from at least this many counted reports with a
# known operator; with fewer the flood verdict compares nothing with it.
MIX_MIN_REPORTS = 100

_BASELINE_PARAMS = detection.BaselineParams()
_MINUTE = dt.timedelta(minutes=1)


def baselines_rebuild(*, service_ids: Iterable[int] | None = None, now: dt.datetime) -> int:
    """Rebuild the profiles of the given (default: all active) services and their busier
    cities from the last history_days of counts; returns the number of series stored.

    The outages a reviewer confirmed are left out of the history: the baseline, its noise
    model and its calibrated bars are what the series does when it is not down. Every other
    incident stays in, as in a replay (outages.replay, which has no reviews): most of them are
    the series' own bursts, which the noise model and the bars must learn, and the outlier bar
    already keeps an outage's counts out of the baseline (docs/detection.md, sections 1 and
    3a). Safe to run at any time:
    each batch of services is read, then replaced in one transaction.
    """
    services = Service.objects.active()
    if service_ids is not None:
        services = services.filter(pk__in=list(service_ids))
    timezones = dict(services.values_list("pk", "timezone"))
    end_bucket = epoch_minute(now) // BUCKET_MINUTES
    end = from_epoch_minute(end_bucket * BUCKET_MINUTES)
    start = end - dt.timedelta(days=_BASELINE_PARAMS.history_days)
    ids = sorted(timezones)
    if not ids:
        return 0
    stored = 0
    for offset in range(0, len(ids), REBUILD_BATCH):
        batch = ids[offset : offset + REBUILD_BATCH]
        # Per batch, PostgreSQL's bucket aggregates stay small enough to hash in memory: one
        # read for all services was slower (a hash of millions of groups) and bigger.
        national, cities = _history_read(batch, start=start, end=end)
        countries = _country_history_read(batch, start=start, end=end)
        spans = _incident_spans(batch, start=start, end=end)
        rows = _baselines_build(
            batch,
            timezones,
            national,
            cities,
            spans.confirmed,
            countries=countries,
            first_bucket=epoch_minute(start) // BUCKET_MINUTES,
            end_bucket=end_bucket,
            built_at=now,
        )
        mixes = network_mixes_build(batch, start=start, end=end, built_at=now, spikes=spans.every)
        with transaction.atomic():
            Baseline.objects.filter(service_id__in=batch).delete()
            Baseline.objects.bulk_create(rows, batch_size=500)
            NetworkMix.objects.filter(service_id__in=batch).delete()
            NetworkMix.objects.bulk_create(mixes, batch_size=1000)
        stored += len(rows)
    return stored


def network_mixes_build(
    ids: list[int],
    *,
    start: dt.datetime,
    end: dt.datetime,
    built_at: dt.datetime,
    spikes: dict[int, list[tuple[int, int]]] | None = None,
) -> list[NetworkMix]:
    """Each service's usual operator and prefix shares over its history's counted reports
    (reports_report_service_time), for the flood verdict: worldwide, and each operator's share
    of the reports from each country with MIX_MIN_REPORTS of its own (NetworkMix.scope).

    The reports of its earlier incidents (`spikes`, dismissed ones included) are left out: the
    usual mix is what quiet days look like, and a past flood or ISP outage folded into it would
    make the next one from the same operator look usual.
    """
    history = Report.objects.counted().filter(service_id__in=ids, created_at__gte=start, created_at__lt=end)
    for service_id, spans in (spikes or {}).items():
        for first_bucket, end_bucket in spans:
            history = history.exclude(
                service_id=service_id,
                created_at__gte=from_epoch_minute(first_bucket * BUCKET_MINUTES),
                created_at__lt=from_epoch_minute(end_bucket * BUCKET_MINUTES),
            )
    rows: list[NetworkMix] = []
    # The operators worldwide and in each country (of the service's reports from there: the
    # ISP rule's usual, flood_verdict); the prefixes worldwide.
    levels = (
        (NetworkMix.Level.OPERATOR, "asn_name", False),
        (NetworkMix.Level.OPERATOR, "asn_name", True),
        (NetworkMix.Level.PREFIX, "prefix_hash", False),
    )
    for level, column, by_country in levels:
        counts: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
        found = history.exclude(**{column: ""})
        if by_country:
            found = found.exclude(country_code="")
        place = ["country_code"] if by_country else []
        for service_id, *scope, key, n in (
            found.values("service_id", *place, column)
            .annotate(n=Count("id"))
            .values_list("service_id", *place, column, "n")
        ):
            counts[(service_id, scope[0] if scope else WORLD)][key] = n
        for (service_id, scope), per_key in counts.items():
            if sum(per_key.values()) < MIX_MIN_REPORTS:
                continue
            rows.extend(
                NetworkMix(
                    service_id=service_id,
                    level=level,
                    scope=scope,
                    key=key,
                    share=share,
                    reports=per_key[key],
                    built_at=built_at,
                )
                for key, share in detection.usual_mix(per_key).items()
            )
    return rows


Series = dict[int, np.ndarray]  # service -> (k, 2) rows of (bucket, count)
CitySeries = dict[int, list[tuple[int, np.ndarray]]]  # service -> [(city, (k, 2) rows)]
CountrySeries = dict[int, list[tuple[str, np.ndarray]]]  # service -> [(country code, (k, 2) rows)]


def _history_read(ids: list[int], *, start: dt.datetime, end: dt.datetime) -> tuple[Series, CitySeries]:
    """The history's national series, and those of the cities with at least
    CITY_MIN_REPORTS reports (a city needs more to get a profile; see _baselines_build)."""
    national = {
        service_id: rows
        for service_id, [(_, rows)] in bucket_series(
            ServiceMinute, None, ids, start=start, end=end, bucket_minutes=BUCKET_MINUTES
        ).items()
    }
    return national, bucket_series(
        CityMinute,
        "city_id",
        ids,
        start=start,
        end=end,
        bucket_minutes=BUCKET_MINUTES,
        min_reports=CITY_MIN_REPORTS,
    )


def _country_history_read(ids: list[int], *, start: dt.datetime, end: dt.datetime) -> CountrySeries:
    """The history's series per (service, country) with at least CITY_MIN_REPORTS reports."""
    return bucket_series(
        CountryMinute,
        "country_code",
        ids,
        start=start,
        end=end,
        bucket_minutes=BUCKET_MINUTES,
        min_reports=CITY_MIN_REPORTS,
    )


class _IncidentSpans(NamedTuple):
    """[first bucket, end bucket) of each earlier incident per service."""

    every: dict[int, list[tuple[int, int]]]  # whatever its review
    confirmed: dict[int, list[tuple[int, int]]]  # those a reviewer confirmed


def _incident_spans(ids: list[int], *, start: dt.datetime, end: dt.datetime) -> _IncidentSpans:
    spans = _IncidentSpans(defaultdict(list), defaultdict(list))
    incidents = Incident.objects.filter(service_id__in=ids, started_at__lt=end).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gt=start)
    )
    for service_id, status, started_at, resolved_at, last_elevated_at in incidents.values_list(
        "service_id", "status", "started_at", "resolved_at", "last_elevated_at"
    ):
        until = resolved_at or last_elevated_at + _MINUTE
        span = (epoch_minute(started_at) // BUCKET_MINUTES, -(-epoch_minute(until) // BUCKET_MINUTES))
        spans.every[service_id].append(span)
        if status == Incident.Status.CONFIRMED:
            spans.confirmed[service_id].append(span)
    return spans


class _BuildRow(NamedTuple):
    """One series to build: a service, or one of its cities or countries."""

    service_id: int
    city_id: int | None
    country: str
    counts: np.ndarray  # (n_buckets,)
    outages: np.ndarray  # (n_buckets,) bool: confirmed outages, left out of the history
    total: int


def _whole_services(rows: list[_BuildRow], size: int) -> Iterator[list[_BuildRow]]:
    """The rows (a service's next to each other) in slices of about `size`, never splitting
    a service's rows."""
    part: list[_BuildRow] = []
    for row in rows:
        if len(part) >= size and row.service_id != part[-1].service_id:
            yield part
            part = []
        part.append(row)
    if part:
        yield part


def _beside_rows(part: list[_BuildRow]) -> list[int]:
    """For each row of a city, the row of its service's worldwide series; -1 for the others."""
    world = {
        service_id: k
        for k, (service_id, city_id, code, *_) in enumerate(part)
        if city_id is None and not code
    }
    return [world.get(service_id, -1) if city_id is not None else -1 for service_id, city_id, *_ in part]


def _baselines_build(
    service_ids: list[int],
    timezones: dict[int, str],
    national: Series,
    cities: CitySeries,
    outages: dict[int, list[tuple[int, int]]],
    *,
    first_bucket: int,
    end_bucket: int,
    built_at: dt.datetime,
    countries: CountrySeries | None = None,
) -> list[Baseline]:
    seconds = BUCKET_MINUTES * 60
    # Services with the same time zone and history span are built together: the profile
    # maths is vectorised across series, so one call for many services beats one each.
    groups: dict[tuple[str, int], list[_BuildRow]] = defaultdict(list)
    for service_id in service_ids:
        history = national.get(service_id)  # (bucket, n) rows
        if history is None:
            continue
        # The series starts with its first report: earlier buckets are "no data", not zero.
        begin = max(first_bucket, int(history[:, 0].min()))
        n_buckets = end_bucket - begin
        if n_buckets <= 0:
            continue
        hours = n_buckets * BUCKET_MINUTES / 60
        min_reports = detection.city_profile_min_reports(hours, _BASELINE_PARAMS)
        rows_of: list[tuple[int | None, str, np.ndarray]] = [(None, "", history)]
        # A country needs as much history as a city to get a profile of its own.
        regions = [
            *(
                (city_id, "", points)
                for city_id, points in sorted(cities.get(service_id, ()), key=lambda item: item[0])
            ),
            *((None, code, points) for code, points in sorted((countries or {}).get(service_id, ()))),
        ]
        for city_id, code, points in regions:
            inside = (points[:, 0] >= begin) & (points[:, 0] < end_bucket)
            if points[inside, 1].sum() >= min_reports:
                rows_of.append((city_id, code, points[inside]))
        matrix = np.zeros((len(rows_of), n_buckets))
        for row, (_, _, points) in enumerate(rows_of):
            inside = (points[:, 0] >= begin) & (points[:, 0] < end_bucket)
            matrix[row, points[inside, 0] - begin] = points[inside, 1]  # one row per bucket
        exclude = np.zeros(n_buckets, dtype=bool)
        for lo, hi in outages.get(service_id, ()):
            exclude[max(lo - begin, 0) : max(hi - begin, 0)] = True
        group = groups[(timezones[service_id], begin)]
        for row, (city_id, code, _) in enumerate(rows_of):
            group.append(_BuildRow(service_id, city_id, code, matrix[row], exclude, int(matrix[row].sum())))

    rows: list[Baseline] = []
    for (timezone, begin), series in groups.items():
        n_buckets = end_bucket - begin
        timestamps = (begin + np.arange(n_buckets)) * seconds
        # Build in slices to bound the builder's working memory; a service's rows stay in one
        # slice, since its cities are calibrated beside it.
        for part in _whole_services(series, PROFILE_SLICE):
            profile = detection.profile_build(
                timestamps,
                np.stack([s.counts for s in part]),
                bucket_minutes=BUCKET_MINUTES,
                timezone=timezone,
                exclude=np.stack([s.outages for s in part]),
                beside=_beside_rows(part),
            )
            for offset, (service_id, city_id, code, _, _, total) in enumerate(part):
                expected = profile.expected[offset]
                if not np.isfinite(expected).any():
                    continue
                rows.append(
                    Baseline(
                        service_id=service_id,
                        city_id=city_id,
                        country_code=code,
                        bucket_minutes=BUCKET_MINUTES,
                        timezone=timezone,
                        expected=Baseline.encode(expected),
                        alpha=float(profile.alpha[offset]),
                        beta=float(profile.beta[offset]),
                        bars=[] if profile.bars is None else [float(b) for b in profile.bars[offset]],
                        history_reports=total,
                        built_at=built_at,
                    )
                )
    return rows


@dataclass(frozen=True, slots=True)
class _StoredProfile:
    built_at: dt.datetime
    expected: np.ndarray  # (7, slots) float32
    alpha: float
    beta: float
    bars: tuple[float, ...]  # one per window of the detector; empty: uncalibrated


# Profiles change once a night: each worker keeps the decoded ones and re-reads a series
# only when its built_at moves. Keyed by ProfileKey.
_profiles: dict[tuple, _StoredProfile] = {}
_PROFILE_CACHE_MAX = 200_000


def profile_cache_clear() -> None:
    _profiles.clear()


# A series' profile key: (service id, 0) worldwide, (service id, city id) for a city,
# (service id, country code) for a country.
ProfileKey = tuple[int, int | str]


def profiles_load(keys: Collection[ProfileKey]) -> dict[ProfileKey, _StoredProfile]:
    """The stored profiles of these series (worldwide, a city's or a country's), from the
    cache when current: a pass reads the series it scores, not every series. One query per
    2,000 services, plus the decoding of what the cache lacks."""
    wanted = set(keys)
    if not wanted:
        return {}
    service_ids = sorted({service_id for service_id, _ in wanted})
    cities = sorted({key for _, key in wanted if isinstance(key, int) and key})
    codes = sorted({key for _, key in wanted if isinstance(key, str)})
    where = Q(city__isnull=True, country_code="")
    where |= Q(city_id__in=cities) if len(cities) <= 20_000 else Q(city__isnull=False)
    if codes:
        where |= Q(city__isnull=True, country_code__in=codes)
    current: dict[ProfileKey, tuple[int, dt.datetime]] = {}
    for offset in range(0, len(service_ids), 2000):
        for pk, service_id, city_id, code, built_at, bucket in (
            Baseline.objects.filter(service_id__in=service_ids[offset : offset + 2000])
            .filter(where)
            .values_list("pk", "service_id", "city_id", "country_code", "built_at", "bucket_minutes")
        ):
            key: ProfileKey = (service_id, city_id or code or 0)
            if bucket == BUCKET_MINUTES and key in wanted:
                current[key] = (pk, built_at)
    return _from_cache(current)


def _from_cache(current: dict[tuple, tuple[int, dt.datetime]]) -> dict:
    """The profiles of `current` (key -> the stored row's pk and built_at), decoding only
    those the cache lacks or holds from an older build."""
    stale = {pk: key for key, (pk, built_at) in current.items() if _cached_at(key) != built_at}
    if len(_profiles) + len(stale) > _PROFILE_CACHE_MAX:
        _profiles.clear()
        stale = {pk: key for key, (pk, _) in current.items()}
    pks = list(stale)
    for offset in range(0, len(pks), 2000):
        for pk, built_at, blob, alpha, beta, bars in Baseline.objects.filter(
            pk__in=pks[offset : offset + 2000]
        ).values_list("pk", "built_at", "expected", "alpha", "beta", "bars"):
            _profiles[stale[pk]] = _StoredProfile(
                built_at, Baseline.decode(blob, BUCKET_MINUTES), alpha, beta, tuple(bars)
            )
    return {key: _profiles[key] for key in current if key in _profiles}


def _cached_at(key: tuple) -> dt.datetime | None:
    cached = _profiles.get(key)
    return cached.built_at if cached else None
