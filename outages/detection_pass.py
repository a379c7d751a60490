"""The live detection pass: every complete minute since the watermark, for every service.

It reads the minute counts, scores them against the stored profiles (outages.detection,
pure), hands the result to outages.incidents (the incident lifecycle) and stores incidents
and the public status (outages.status). Every minute is evaluated: at minute m each series
is a run of 5-minute buckets ending at m (m-4..m, m-9..m-5, ...). Everything a pass writes
(incidents, statuses, the watermark) is committed in one transaction; the watermark row is
locked for the pass, so a second worker skips it and a killed worker leaves nothing
half-done. A replay over a range does the same for all its minutes at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction
from django.db.models import Q

from catalogue.models import Service
from geo.models import City
from geo.operators import display_name
from outages import detection
from outages.baselines import ProfileKey, profiles_load
from outages.incidents import Tracked, incidents_track
from outages.minutes import epoch_minute, from_epoch_minute
from outages.models import (
    REOPEN_MINUTES,
    WORLD,
    DetectionWatermark,
    Incident,
    IncidentCity,
    NetworkMix,
    ServiceStatus,
)
from outages.peak import PEAK_MINUTES
from outages.status import status_apply
from outages.watermark import WATERMARK, watermark_share
from reports.aggregation import reports_aggregate_all
from reports.counts import bucket_rows
from reports.minutes import floor_minute
from reports.models import CityMinute, CountryMinute, ProblemMinute, Report, ServiceMinute

logger = logging.getLogger(__name__)

BUCKET_MINUTES = detection.BUCKET_MINUTES
# Minutes of counts read before the first minute evaluated: the detector's longest
# window (60 minutes) ending at that minute.
LOOKBACK_MINUTES = 60
SPIKE_HOLD_MINUTES = detection.SPIKE_HOLD_MINUTES
# A live pass after a long stop catches up at most this far back.
MAX_CATCHUP_MINUTES = 24 * 60
# Reports are stamped when the request arrives; give in-flight requests this long to land.
GRACE_SECONDS = 5
# Replays are processed a day at a time to bound memory.
CHUNK_MINUTES = 1440
# The flood verdict (outages.detection.flood_verdict) reads the counted reports of the last
# FLOOD_MINUTES behind a spike. Review shows the same signals.
FLOOD_MINUTES = 15

_BASELINE_PARAMS = detection.BaselineParams()
_DETECT_PARAMS = detection.DetectParams()
# What a city or country without a profile of its own is read against.
_FLOOR_PER_MINUTE = _BASELINE_PARAMS.floor_per_hour / 60
_MINUTE = dt.timedelta(minutes=1)


@dataclass
class PassResult:
    first_minute: dt.datetime | None = None
    last_minute: dt.datetime | None = None
    minutes: int = 0
    services: int = 0
    opened: int = 0
    resolved: int = 0
    busy: bool = False
    # The incidents this pass opened, for the caller to notify about (outages.tasks).
    opened_ids: list[int] = field(default_factory=list)
    # The incidents this pass resolved (still resolved at its end), for the same caller.
    resolved_ids: list[int] = field(default_factory=list)
    # Services with reports but no profile yet: not scored until their baselines are built.
    without_baseline: list[int] = field(default_factory=list)


def detection_run(
    *, now: dt.datetime, service_ids: Collection[int] | None = None, watermark: str = WATERMARK
) -> PassResult:
    """The live pass: every complete minute since the watermark, up to the one before now.

    Beat runs it every minute. Run twice, late, or after a crash, it processes each minute
    exactly once; a minute already processed is never redone. With `service_ids` it is one
    shard of the pass (outages.tasks.detect_shard): only those services, under the shard's
    own `watermark`.
    """
    reports_aggregate_all()
    last = floor_minute(now - dt.timedelta(seconds=GRACE_SECONDS)) - _MINUTE
    return _detection_pass(start=None, end=last, service_ids=service_ids, watermark=watermark)


def detection_run_range(*, start: dt.datetime, end: dt.datetime) -> PassResult:
    """Replay the minutes from start to end (inclusive) with the stored baselines, as the
    live pass would have, opening and resolving incidents on the way.

    For backfills: call baselines_rebuild(now=end) first. Minutes at or before the
    watermark were processed already and are skipped, so a second call does nothing;
    the watermark ends at `end`, and the live pass continues from there.
    """
    reports_aggregate_all()
    return _detection_pass(start=floor_minute(start), end=floor_minute(end))


def _detection_pass(
    *,
    start: dt.datetime | None,
    end: dt.datetime,
    service_ids: Collection[int] | None = None,
    watermark: str = WATERMARK,
) -> PassResult:
    DetectionWatermark.objects.get_or_create(name=watermark)
    with transaction.atomic():
        # Shards hold the main row shared: they run side by side, and review (which locks
        # it exclusively) waits for them or makes them skip a minute.
        if watermark != WATERMARK and not watermark_share(WATERMARK):
            return PassResult(busy=True)
        # The lock is the claim: a second pass finds the row taken and leaves at once.
        # (SQLite has no row locks; its IMMEDIATE transactions queue the second pass
        # behind the first, which then finds the minutes done.)
        mark = DetectionWatermark.objects.select_for_update(skip_locked=True).filter(name=watermark).first()
        if mark is None:
            return PassResult(busy=True)
        if mark.processed_through is not None:
            first = mark.processed_through + _MINUTE
            if start is not None:
                first = max(first, start)
        else:
            first = start if start is not None else end
        if start is None and end - first >= dt.timedelta(minutes=MAX_CATCHUP_MINUTES):
            skipped_to = end - dt.timedelta(minutes=MAX_CATCHUP_MINUTES - 1)
            logger.warning("detection: skipping minutes %s to %s (too far behind)", first, skipped_to)
            first = skipped_to
        if first > end:
            return PassResult()
        state = _PassState.load(first_minute=first, service_ids=service_ids)
        result = PassResult(first_minute=first, last_minute=end)
        chunk_start = epoch_minute(first)
        last = epoch_minute(end)
        while chunk_start <= last:
            chunk_end = min(chunk_start + CHUNK_MINUTES - 1, last)
            _process_minutes(state, chunk_start, chunk_end, final=chunk_end == last)
            chunk_start = chunk_end + 1
        result.minutes = last - epoch_minute(first) + 1
        result.services = len(state.evaluated)
        result.opened, result.resolved = state.save()
        result.opened_ids = state.opened_ids
        result.resolved_ids = sorted(
            {
                incident.pk
                for incident in state.resolved_incidents
                if incident.pk and incident.resolved_at is not None
            }
        )
        result.without_baseline = sorted(state.without_baseline)
        _watermark_advance(mark, end)
    return result


def _watermark_advance(mark: DetectionWatermark, end: dt.datetime) -> None:
    mark.processed_through = end
    mark.save(update_fields=["processed_through"])


class _PassState:
    def __init__(self) -> None:
        self.current: dict[int, Tracked] = {}  # service_id -> its latest incident, if still relevant
        self.retired: list[Tracked] = []  # incidents this pass changed, then superseded by a new one
        self.timezones: dict[int, str] = {}
        self.not_ok: set[int] = set()
        # The status rows of the pass's last minute: the world's (by service), then the countries'.
        self.statuses: dict[int, ServiceStatus] = {}
        self.country_statuses: list[ServiceStatus] = []
        self.service_ids: list[int] | None = None  # a shard's services; None: every service
        self.status_minute: dt.datetime | None = None
        self.evaluated: set[int] = set()
        self.without_baseline: set[int] = set()
        self.opened = 0
        self.resolved = 0
        self.opened_ids: list[int] = []
        self.resolved_incidents: list[Incident] = []
        self.verdicts: dict[tuple[int, dt.datetime], detection.FloodVerdict] = {}

    def verdict(self, service_id: int, minute: dt.datetime) -> detection.FloodVerdict:
        key = (service_id, minute)
        found = self.verdicts.get(key)
        if found is None:
            found = self.verdicts[key] = flood_verdict_at(service_id, minute)
        return found

    @classmethod
    def load(cls, *, first_minute: dt.datetime, service_ids: Collection[int] | None = None) -> _PassState:
        state = cls()
        state.service_ids = None if service_ids is None else list(service_ids)
        services = Service.objects.active()
        # A scope still shown with problems is evaluated until it is back to ok.
        statuses = ServiceStatus.objects.exclude(status=ServiceStatus.Tier.OK)
        incidents = Incident.objects.all()
        if service_ids is not None:
            services = services.filter(pk__in=service_ids)
            statuses = statuses.filter(service_id__in=service_ids)
            incidents = incidents.filter(service_id__in=service_ids)
        state.timezones = dict(services.values_list("pk", "timezone"))
        state.not_ok = set(statuses.values_list("service_id", flat=True))
        recent = incidents.filter(
            Q(resolved_at__isnull=True)
            | Q(resolved_at__gte=first_minute - dt.timedelta(minutes=REOPEN_MINUTES))
        ).order_by("service_id", "started_at")
        for incident in recent:
            state.current[incident.service_id] = Tracked(
                incident=incident, problems=incident.problem_counts()
            )
        ids = [entry.incident.pk for entry in state.current.values()]
        by_incident = {entry.incident.pk: entry for entry in state.current.values()}
        for city in IncidentCity.objects.filter(incident_id__in=ids):
            by_incident[city.incident_id].cities[city.city_id] = city
        return state

    def save(self) -> tuple[int, int]:
        entries = [entry for entry in [*self.retired, *self.current.values()] if entry.touched]
        new = [entry for entry in entries if entry.incident.pk is None]
        old = [entry for entry in entries if entry.incident.pk is not None]
        for entry in entries:
            entry.incident.set_problem_counts(entry.problems)
        Incident.objects.bulk_create([entry.incident for entry in new])
        self.opened_ids = [entry.incident.pk for entry in new]
        Incident.objects.bulk_update(
            [entry.incident for entry in old],
            [
                "started_at",
                "last_spike_at",
                "last_elevated_at",
                "resolved_at",
                "peak_count",
                "peak_at",
                "max_score",
                "excess_reports",
                "problems",
                "operator",
                "updated_at",
            ],
            batch_size=500,
        )
        IncidentCity.objects.filter(incident_id__in=[entry.incident.pk for entry in old]).delete()
        cities = []
        for entry in entries:
            for city in entry.cities.values():
                if city.count <= 0:
                    continue  # a city with no report in the incident is never named
                city.pk = None
                city.incident_id = entry.incident.pk
                cities.append(city)
        IncidentCity.objects.bulk_create(cities, batch_size=1000)
        if self.status_minute is not None:
            self._statuses_save()
        return self.opened, self.resolved

    def _statuses_save(self) -> None:
        """Every scope's status row of the last minute, decided by one rule (status_apply)
        and stored in one statement; a country without reports in the window loses its row
        (ok, as before its first report)."""
        named = {
            city.city_id
            for entry in self.current.values()
            for city in entry.cities.values()
            if city.count > 0
        }
        country_of = (
            dict(City.objects.filter(pk__in=named).values_list("pk", "country_code")) if named else {}
        )
        rows = [*self.statuses.values(), *self.country_statuses]
        for row in rows:
            entry = self.current.get(row.service_id)
            incident = entry.incident if entry is not None else None
            countries = (
                {country_of[c.city_id] for c in entry.cities.values() if c.city_id in country_of}
                if entry is not None
                else set()
            )
            status_apply(row, incident, countries)
        ServiceStatus.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["service", "scope"],
            update_fields=[
                "status",
                "reason",
                "evidence",
                "regional",
                "flood",
                "operator",
                "incident",
                "score",
                "count",
                "baseline",
                "minute",
            ],
            batch_size=1000,
        )
        stale = ServiceStatus.objects.exclude(scope=WORLD).exclude(minute=self.status_minute)
        if self.service_ids is not None:
            stale = stale.filter(service_id__in=self.service_ids)
        stale.delete()


def _process_minutes(state: _PassState, first: int, last: int, *, final: bool) -> None:
    """Evaluate epoch minutes first..last (inclusive) for every service that needs it."""
    origin = first - LOOKBACK_MINUTES  # index 0 of every array
    n = last - origin + 1
    window_start, window_end = from_epoch_minute(origin), from_epoch_minute(last + 1)
    active_ids = list(state.timezones)
    national_rows = bucket_rows(
        ServiceMinute,
        ["service_id"],
        service_ids=active_ids,
        start=window_start,
        end=window_end,
    )
    city_rows = bucket_rows(
        CityMinute,
        ["service_id", "city_id"],
        service_ids=active_ids,
        start=window_start,
        end=window_end,
    )
    wanted = {row[0] for row in national_rows} | set(state.current) | state.not_ok
    services = sorted(s for s in wanted if s in state.timezones)
    state.evaluated.update(services)
    if not services:
        return
    row_of = {service_id: i for i, service_id in enumerate(services)}
    counts = np.zeros((len(services), n))
    for service_id, minute, value in national_rows:
        counts[row_of[service_id], minute - origin] += value
    pairs = sorted({(s, c) for s, c, _, _ in city_rows if s in row_of})
    pair_of = {pair: i for i, pair in enumerate(pairs)}
    city_counts = np.zeros((len(pairs), n))
    for service_id, city_id, minute, value in city_rows:
        if service_id in row_of:
            city_counts[pair_of[(service_id, city_id)], minute - origin] += value
    pair_service = np.fromiter((row_of[s] for s, _ in pairs), dtype=np.int64, count=len(pairs))

    # Only a series with min_excess reports within the detector's longest window (an hour)
    # can score above zero: the others are not scored at all, and their profiles not read.
    last_hour = detection.trailing_sum(city_counts, LOOKBACK_MINUTES)
    in_incident = {(s, c) for s, entry in state.current.items() for c in entry.cities}
    city_scored = (last_hour[:, LOOKBACK_MINUTES:] >= _DETECT_PARAMS.min_excess).any(axis=1)
    city_needed = city_scored | np.fromiter(
        (pair in in_incident for pair in pairs), dtype=bool, count=len(pairs)
    )
    national_scored = (
        detection.trailing_sum(counts, LOOKBACK_MINUTES)[:, LOOKBACK_MINUTES:] >= _DETECT_PARAMS.min_excess
    ).any(axis=1)

    # Expected reports per minute: the profile's 5-minute slot value spread over its minutes.
    profiles = profiles_load(
        [(service_id, 0) for service_id in services] + [pairs[i] for i in np.flatnonzero(city_needed)]
    )
    minutes = origin + np.arange(n)
    expected, alpha, beta = _expected_of(
        [(service_id, 0) for service_id in services], profiles, state.timezones, minutes, floor=None
    )
    # No history yet: scored from the next baseline rebuild on, and so are its cities.
    state.without_baseline.update(s for s in services if (s, 0) not in profiles)
    city_rows = [i for i in np.flatnonzero(city_needed) if pairs[i][0] not in state.without_baseline]
    city_expected = np.full(city_counts.shape, np.nan)
    city_alpha = np.full(len(pairs), _BASELINE_PARAMS.alpha_prior)
    city_beta = np.full(len(pairs), _BASELINE_PARAMS.beta_prior)
    (city_expected[city_rows], city_alpha[city_rows], city_beta[city_rows]) = _expected_of(
        [pairs[i] for i in city_rows], profiles, state.timezones, minutes, floor=_FLOOR_PER_MINUTE
    )
    expected = np.where(np.isfinite(expected), np.maximum(expected, 0.0), np.nan)

    panel = detection.panel_detect(
        counts,
        expected,
        alpha,
        beta,
        city_counts,
        city_expected,
        city_alpha,
        city_beta,
        pair_service,
        first_minute=origin,
        scored_from=LOOKBACK_MINUTES,
        bucket_minutes=BUCKET_MINUTES,
        hold_minutes=SPIKE_HOLD_MINUTES,
        national_rows=national_scored,
        city_rows=city_scored,
        params=_DETECT_PARAMS,
    )
    evaluated = slice(LOOKBACK_MINUTES, n)
    interesting = [
        row_of[service_id]
        for service_id in services
        if service_id in state.current or panel.flagged[row_of[service_id], evaluated].any()
    ]
    # Problems from the lookback on: an incident opened now counts the minutes of its evidence.
    problems = _problem_counts([services[row] for row in interesting], origin, last)
    tracked = incidents_track(
        state.current,
        panel,
        services=services,
        pairs=pairs,
        first_minute=origin,
        evaluate_from=LOOKBACK_MINUTES,
        problems=problems,
        is_flood=lambda service_id, minute: state.verdict(service_id, minute).flood,
        warning=_DETECT_PARAMS.warning,
        rows=interesting,
    )
    state.retired.extend(tracked.retired)
    state.resolved_incidents.extend(tracked.resolved_incidents)
    state.opened += tracked.opened
    state.resolved += tracked.resolved

    if final:
        j = n - 1
        minute = from_epoch_minute(last)
        world = _evidence_rows(
            [(service_id, WORLD) for service_id in services], counts, expected, panel.score, last
        )
        verdicts: dict[int, detection.FloodVerdict] = {}
        for service_id in services:
            row = row_of[service_id]
            evidence = detection.status_tier(float(panel.score[row, j]))
            regional = bool(panel.any_city[row, j])
            entry = state.current.get(service_id)
            if (
                evidence != ServiceStatus.Tier.OK
                or regional
                or (entry is not None and entry.incident.ongoing)
            ):
                verdicts[service_id] = state.verdict(service_id, minute)
        isp_services = Counter(v.isp.name for v in verdicts.values() if v.isp is not None and not v.flood)
        for service_id, row in zip(services, world, strict=True):
            regional = bool(panel.any_city[row_of[service_id], j])
            verdict = verdicts.get(service_id, detection.FloodVerdict())
            # The flood verdict comes before any status is published: a spike from a few
            # networks never shows as an outage, not even for the pass that first sees it.
            flood = service_id in tracked.flooded_last or (
                (row.evidence != ServiceStatus.Tier.OK or regional) and verdict.flood
            )
            operator = None
            if verdict.isp is not None and not flood:
                operator = operator_public(verdict.isp, services=isp_services[verdict.isp.name])
                entry = state.current.get(service_id)
                if entry is not None and entry.incident.ongoing:
                    entry.incident.operator = operator
                    entry.touched = True
            row.regional, row.flood, row.operator = regional, flood, operator
            state.statuses[service_id] = row
        state.country_statuses = _country_evidence(state, services, last=last)
        state.status_minute = minute


def _country_evidence(state: _PassState, services: list[int], *, last: int) -> list[ServiceStatus]:
    """The status evidence of each service in each country with reports in the detector's
    longest window ending at epoch minute `last`: the country's minute counts scored against
    its own profile (a floor, as for a city, where it has none yet) by the same maths as the
    worldwide series. Only the last minute is scored, so the cost follows the countries
    reporting, not the minutes caught up."""
    origin = last - LOOKBACK_MINUTES
    n = last - origin + 1
    scored = [service_id for service_id in services if service_id in state.statuses]
    rows = bucket_rows(
        CountryMinute,
        ["service_id", "country_code"],
        service_ids=scored,
        start=from_epoch_minute(origin),
        end=from_epoch_minute(last + 1),
    )
    pairs = sorted({(service_id, code) for service_id, code, _, _ in rows})
    if not pairs:
        return []
    pair_of = {pair: i for i, pair in enumerate(pairs)}
    counts = np.zeros((len(pairs), n))
    for service_id, code, minute, value in rows:
        counts[pair_of[(service_id, code)], minute - origin] += value
    profiles = profiles_load(pairs)
    # A service is not scored before its first baseline, nor its countries.
    scored = [i for i, (service_id, _) in enumerate(pairs) if service_id not in state.without_baseline]
    expected = np.full(counts.shape, np.nan)
    alpha = np.full(len(pairs), _BASELINE_PARAMS.alpha_prior)
    beta = np.full(len(pairs), _BASELINE_PARAMS.beta_prior)
    (expected[scored], alpha[scored], beta[scored]) = _expected_of(
        [pairs[i] for i in scored], profiles, state.timezones, origin + np.arange(n), floor=_FLOOR_PER_MINUTE
    )
    expected = np.maximum(expected, 0.0)
    panel = detection.panel_detect(
        counts,
        expected,
        alpha,
        beta,
        np.zeros((0, n)),
        np.zeros((0, n)),
        np.zeros(0),
        np.zeros(0),
        np.zeros(0, dtype=np.int64),
        first_minute=origin,
        scored_from=LOOKBACK_MINUTES,
        bucket_minutes=BUCKET_MINUTES,
        hold_minutes=SPIKE_HOLD_MINUTES,
        national_rows=np.isfinite(expected[:, -1]),
        params=_DETECT_PARAMS,
    )
    rows = _evidence_rows(pairs, counts, expected, panel.score, last)
    for row in rows:
        row.flood = state.statuses[row.service_id].flood
    return rows


def _expected_of(
    keys: list[ProfileKey],
    profiles: dict,
    timezones: dict[int, str],
    minutes: np.ndarray,
    *,
    floor: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected reports in each of these epoch minutes, and the dispersion, of each series
    (a service worldwide, in a city or in a country) from its stored profile, through the
    one conversion (detection.expected_per_minute), one call per time zone. A series without
    a profile is read against `floor` reports a minute (None: NaN, not scored) and the priors."""
    expected = np.full((len(keys), len(minutes)), np.nan)
    alpha = np.full(len(keys), _BASELINE_PARAMS.alpha_prior)
    beta = np.full(len(keys), _BASELINE_PARAMS.beta_prior)
    by_zone: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        stored = profiles.get(key)
        if stored is None:
            if floor is not None:
                expected[i] = floor
            continue
        by_zone[timezones[key[0]]].append(i)
        alpha[i], beta[i] = stored.alpha, stored.beta
    for zone, rows in by_zone.items():
        stack = np.stack([profiles[keys[i]].expected for i in rows])
        expected[rows] = detection.expected_per_minute(
            stack, minutes, timezone=zone, bucket_minutes=BUCKET_MINUTES
        )
    return expected, alpha, beta


def _evidence_rows(
    keys: list[tuple[int, str]],
    counts: np.ndarray,
    expected: np.ndarray,
    score: np.ndarray,
    last: int,
) -> list[ServiceStatus]:
    """The status evidence of each (service, scope) series at its last minute, epoch minute
    `last`: the tier its score gives, and its reports and baseline in the clock-aligned
    quarter-hour holding that minute, up to it: the window the charts draw and the peak is
    measured in (outages.peak), so the status line never shows more than the peak. The one
    place that turns a scored series into a status row, for the world and for each country."""
    first = last - counts.shape[1] + 1
    count15 = detection.aligned_running_sum(counts, first, PEAK_MINUTES)[0][:, -1]
    expected15 = detection.aligned_running_sum(expected, first, PEAK_MINUTES)[0][:, -1]
    minute = from_epoch_minute(last)
    return [
        ServiceStatus(
            service_id=service_id,
            scope=scope,
            evidence=detection.status_tier(float(score[i, -1])),
            score=float(score[i, -1]),
            count=int(count15[i]),
            baseline=float(expected15[i]) if math.isfinite(expected15[i]) else None,
            minute=minute,
        )
        for i, (service_id, scope) in enumerate(keys)
    ]


def _problem_counts(service_ids: list[int], first: int, last: int) -> dict[tuple[int, int], dict[str, int]]:
    found: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    for service_id, problem, minute, value in bucket_rows(
        ProblemMinute,
        ["service_id", "problem"],
        service_ids=service_ids,
        start=from_epoch_minute(first),
        end=from_epoch_minute(last + 1),
    ):
        found[(service_id, minute)][problem] = value
    return found


def spike_reports(service_id: int, minute: dt.datetime) -> list[detection.SpikeReport]:
    """The counted reports of the FLOOD_MINUTES up to `minute`, as the flood verdict takes
    them. Read from the report rows (reports_report_service_time); none there (counts loaded
    without rows, or past retention) means no evidence of a flood."""
    rows = (
        Report.objects.counted()
        .filter(
            service_id=service_id,
            created_at__gte=minute - dt.timedelta(minutes=FLOOD_MINUTES - 1),
            created_at__lt=minute + _MINUTE,
        )
        .values_list("network_hash", "network48_hash", "prefix_hash", "asn_name", "asn")
    )
    return [
        detection.SpikeReport(network=network, site=site, prefix=prefix, operator=operator, asn=asn)
        for network, site, prefix, operator, asn in rows
    ]


def usual_mixes(service_id: int) -> tuple[dict[str, float], dict[str, float]]:
    """The service's usual operator and prefix shares (NetworkMix), empty before the first
    rebuild that had reports with operators."""
    operators: dict[str, float] = {}
    prefixes: dict[str, float] = {}
    for level, key, share in NetworkMix.objects.filter(service_id=service_id).values_list(
        "level", "key", "share"
    ):
        (operators if level == NetworkMix.Level.OPERATOR else prefixes)[key] = share
    return operators, prefixes


def flood_verdict_at(service_id: int, minute: dt.datetime) -> detection.FloodVerdict:
    """The flood verdict on the reports behind a service's spike at `minute`."""
    operators, prefixes = usual_mixes(service_id)
    return detection.flood_verdict(
        spike_reports(service_id, minute), usual_operators=operators, usual_prefixes=prefixes
    )


def operator_public(share: detection.OperatorShare, *, services: int = 1) -> dict:
    """The operator as the API, the incident and the pages name it (field names: a contract)."""
    return {
        "asn": share.asn,
        "name": display_name(share.name),
        "share": round(share.share, 3),
        "usual_share": None if share.usual_share is None else round(share.usual_share, 3),
        "services": services,
    }
