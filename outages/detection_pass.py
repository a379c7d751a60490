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
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from django.db import transaction
from django.db.models import Max, Q

from catalogue.models import Service
from geo.models import City
from outages import detection
from outages.baselines import profiles_load
from outages.evidence import (
    BASELINE_PARAMS,
    DETECT_PARAMS,
    FLOOR_PER_MINUTE,
    LOOKBACK_MINUTES,
    SCORED_FROM,
    Series,
    evidence_rows,
    expected_of,
    uncalibrated_bars,
)
from outages.flood import (
    UsualMixes,
    evidence_reports,
    evidence_reports_of,
    operator_public,
    usual_mixes,
    usual_mixes_of,
    window_start,
    window_verdict,
)
from outages.incidents import Tracked, incidents_track
from outages.minutes import epoch_minute, from_epoch_minute
from outages.models import (
    REARM_MINUTES,
    REOPEN_MINUTES,
    WORLD,
    DetectionWatermark,
    Incident,
    IncidentCity,
    IncidentEscalation,
    IncidentReopening,
    ServiceStatus,
)
from outages.status import held_back_as, status_apply, status_verdict_since
from outages.watermark import WATERMARK, watermark_share
from reports.aggregation import reports_aggregate_all
from reports.counts import bucket_rows
from reports.minutes import floor_minute
from reports.models import CityMinute, CountryMinute, ProblemMinute, ServiceMinute

logger = logging.getLogger(__name__)

BUCKET_MINUTES = detection.BUCKET_MINUTES
SPIKE_HOLD_MINUTES = detection.SPIKE_HOLD_MINUTES
# A live pass after a long stop catches up at most this far back.
MAX_CATCHUP_MINUTES = 24 * 60
# Reports are stamped when the request arrives; give in-flight requests this long to land.
GRACE_SECONDS = 5
# Replays are processed a day at a time to bound memory.
CHUNK_MINUTES = 1440

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
    # The escalations this pass recorded (outages.escalations), for the same caller.
    escalation_ids: list[int] = field(default_factory=list)
    # The re-openings this pass recorded of incidents whose resolution an earlier pass had
    # stored (and announced), for the same caller.
    reopening_ids: list[int] = field(default_factory=list)
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
        result.escalation_ids = state.escalation_ids
        result.reopening_ids = state.reopening_ids
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


class _Noise(NamedTuple):
    """A service's expected reports per minute over the pass's panel, its dispersion and its
    calibrated bars (one per detector window)."""

    expected: np.ndarray
    alpha: float
    beta: float
    bars: np.ndarray


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
        self.escalation_ids: list[int] = []
        self.reopening_ids: list[int] = []
        self.resolved_incidents: list[Incident] = []
        # The flood verdict's reads: one per (service, minute) serves every window ending
        # then (a spike's evidence, the longest window, the escalation window); only each
        # service's latest is kept. The usual mixes: one read per service.
        self.verdicts: dict[
            tuple[int, dt.datetime, dt.datetime, frozenset[int] | None, str | None], detection.FloodVerdict
        ] = {}
        self.evidence: dict[int, tuple[dt.datetime, list[tuple[dt.datetime, detection.SpikeReport]]]] = {}
        self.mixes: dict[int, UsualMixes] = {}
        # Each service's expected reports per minute from `noise_origin` on, its noise and its
        # bars (from the pass's panel): whether the crowd beside a flood would spike alone.
        self.noise_origin = 0
        self.noise: dict[int, _Noise] = {}

    def verdict(
        self,
        service_id: int,
        minute: dt.datetime,
        since: dt.datetime | None = None,
        cities: frozenset[int] | None = None,
        country: str | None = None,
    ) -> detection.FloodVerdict:
        """The flood verdict on the service's counted reports from `since` (by default the
        detector's longest window) up to `minute`; with `cities`, on those placed in them (a
        spike of those cities only); with `country`, on those from that country."""
        first = window_start(minute, since)
        key = (service_id, minute, first, cities, country)
        found = self.verdicts.get(key)
        if found is None:
            read_at, rows = self.evidence.get(service_id, (None, []))
            if read_at != minute:
                rows = evidence_reports(service_id, minute)
                self.evidence[service_id] = (minute, rows)
            if service_id not in self.mixes:
                self.mixes[service_id] = usual_mixes(service_id)
            # The crowd beside a flood is weighed against the service's own expected counts:
            # a city's or a country's spike has none here, and keeps its flood.
            whole = cities is None and country is None
            crowd_spikes = self._crowd_spikes(service_id, first, minute) if whole else None
            found = self.verdicts[key] = window_verdict(
                rows,
                first,
                self.mixes[service_id],
                crowd_spikes,
                cities=cities,
                country=country,
            )
        return found

    def _crowd_spikes(
        self, service_id: int, first: dt.datetime, minute: dt.datetime
    ) -> Callable[[int], bool] | None:
        """Whether that many reports from `first` to `minute` would be a spike of the service
        by themselves, against its expected counts and noise; None where they are not known."""
        noise = self.noise.get(service_id)
        lo, hi = epoch_minute(first) - self.noise_origin, epoch_minute(minute) - self.noise_origin + 1
        if noise is None or lo < 0 or hi > noise.expected.size:
            return None
        expected = noise.expected[lo:hi]
        return lambda count: detection.count_spikes(
            count,
            expected,
            noise.alpha,
            noise.beta,
            bucket_minutes=BUCKET_MINUTES,
            params=DETECT_PARAMS,
            bars=noise.bars.tolist(),
        )

    def has_ongoing(self, service_id: int) -> bool:
        """Whether the service's latest incident is ongoing."""
        entry = self.current.get(service_id)
        return entry is not None and entry.incident.ongoing

    def verdicts_prefetch(self, service_ids: Collection[int], minute: dt.datetime) -> None:
        """Read, in two queries, what the verdicts of these services at `minute` need (their
        evidence and usual mixes), instead of two queries per service when asked."""
        missing = [pk for pk in service_ids if self.evidence.get(pk, (None, []))[0] != minute]
        if missing:
            for service_id, rows in evidence_reports_of(missing, minute).items():
                self.evidence[service_id] = (minute, rows)
        unmixed = [pk for pk in service_ids if pk not in self.mixes]
        if unmixed:
            self.mixes.update(usual_mixes_of(unmixed))

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
            | Q(resolved_at__gte=first_minute - dt.timedelta(minutes=max(REOPEN_MINUTES, REARM_MINUTES)))
        ).order_by("service_id", "started_at")
        for incident in recent:
            state.current[incident.service_id] = Tracked(
                incident=incident, problems=incident.problem_counts(), stored_resolved_at=incident.resolved_at
            )
        ids = [entry.incident.pk for entry in state.current.values()]
        by_incident = {entry.incident.pk: entry for entry in state.current.values()}
        for city in IncidentCity.objects.filter(incident_id__in=ids):
            by_incident[city.incident_id].cities[city.city_id] = city
        # The escalation cooldown runs from each incident's latest one.
        latest = (
            IncidentEscalation.objects.filter(incident_id__in=ids)
            .values("incident_id")
            .annotate(at=Max("at"))
        )
        for found in latest:
            by_incident[found["incident_id"]].last_escalation_at = found["at"]
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
                "reopened_at",
                "peak_count",
                "peak_at",
                "settled_peak",
                "max_score",
                "excess_reports",
                "reports_since_resolved",
                "usual_since_resolved",
                "problems",
                "operator",
                "updated_at",
            ],
            batch_size=500,
        )
        Incident.objects.bulk_update(
            [
                entry.incident
                for entry in [*self.retired, *self.current.values()]
                if entry.counted and not entry.touched and entry.incident.pk is not None
            ],
            ["reports_since_resolved", "usual_since_resolved"],
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
        # After the incidents: a new incident's escalation takes its id from it here.
        escalations = IncidentEscalation.objects.bulk_create(
            [escalation for entry in entries for escalation in entry.escalations]
        )
        self.escalation_ids = [escalation.pk for escalation in escalations]
        IncidentReopening.objects.bulk_create(
            [reopening for entry in entries for reopening in entry.reopenings]
        )
        # A resolution and a re-opening within this pass were never seen apart: no news.
        self.reopening_ids = [
            reopening.pk
            for entry in entries
            for reopening in entry.reopenings
            if reopening.resolved_at == entry.stored_resolved_at
        ]
        if self.status_minute is not None:
            self._statuses_save(self.status_minute)
        return self.opened, self.resolved

    def _statuses_save(self, minute: dt.datetime) -> None:
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
                "few_reporters",
                "operator",
                "incident",
                "score",
                "count",
                "baseline",
                "raised_now",
                "minute",
            ],
            batch_size=1000,
        )
        stale = ServiceStatus.objects.exclude(scope=WORLD).exclude(minute=minute)
        if self.service_ids is not None:
            stale = stale.filter(service_id__in=self.service_ids)
        stale.delete()


def _process_minutes(state: _PassState, first: int, last: int, *, final: bool) -> None:
    """Evaluate epoch minutes first..last (inclusive) for every service that needs it:
    score them, follow their incidents, and after the last minute of the pass decide the
    status evidence of every scope."""
    origin = first - LOOKBACK_MINUTES  # index 0 of every array
    active = list(state.timezones)
    national = Series.read(ServiceMinute, None, active, origin=origin, last=last)
    wanted = {service_id for service_id, _ in national.keys} | set(state.current) | state.not_ok
    services = sorted(s for s in wanted if s in state.timezones)
    state.evaluated.update(services)
    if not services:
        return
    # Every service evaluated has a row, with or without reports in the window.
    row_of = {service_id: i for i, service_id in enumerate(services)}
    counts = np.zeros((len(services), national.counts.shape[1]))
    for i, (service_id, _) in enumerate(national.keys):
        counts[row_of[service_id]] = national.counts[i]
    national = Series(origin, [(service_id, 0) for service_id in services], counts)
    cities = Series.read(CityMinute, "city_id", services, origin=origin, last=last)
    panel, expected = _panel(state, national, cities)

    evaluated = slice(LOOKBACK_MINUTES, counts.shape[1])
    interesting = [
        row
        for row, service_id in enumerate(services)
        if service_id in state.current or panel.flagged[row, evaluated].any()
    ]
    # Problems from the lookback on: an incident opened now counts the minutes of its evidence.
    problems = _problem_counts([services[row] for row in interesting], origin, last)
    # The verdicts the tracker asks at the chunk's last minute (a spike, an elevated minute of
    # an ongoing incident, one still up), and most of those the statuses ask then, together.
    state.verdicts_prefetch(
        [
            services[row]
            for row in interesting
            if panel.flagged[row, -1]
            or panel.score[row, -1] >= DETECT_PARAMS.warning
            or state.has_ongoing(services[row])
        ],
        from_epoch_minute(last),
    )
    tracked = incidents_track(
        state.current,
        panel,
        services=services,
        pairs=[(service_id, int(city_id)) for service_id, city_id in cities.keys],
        first_minute=origin,
        evaluate_from=LOOKBACK_MINUTES,
        problems=problems,
        verdict_of=state.verdict,
        warning=DETECT_PARAMS.warning,
        rows=interesting,
    )
    state.retired.extend(tracked.retired)
    state.resolved_incidents.extend(tracked.resolved_incidents)
    state.opened += tracked.opened
    state.resolved += tracked.resolved
    if final:
        _world_statuses(state, services, national, expected, panel, flooded=tracked.flooded_last, last=last)
        state.country_statuses = _country_statuses(state, services, last=last)
        state.status_minute = from_epoch_minute(last)


def _panel(state: _PassState, national: Series, cities: Series) -> tuple[detection.Panel, np.ndarray]:
    """The panel of the services (national) and their cities, scored against their stored
    profiles, and the services' expected reports per minute."""
    in_incident = {(s, c) for s, entry in state.current.items() for c in entry.cities}
    city_scored = cities.scored(DETECT_PARAMS)
    city_needed = city_scored | np.fromiter(
        (key in in_incident for key in cities.keys), dtype=bool, count=len(cities.keys)
    )
    profiles = profiles_load(national.keys + [cities.keys[i] for i in np.flatnonzero(city_needed)])
    minutes = national.origin + np.arange(national.counts.shape[1])
    expected, alpha, beta, bars = expected_of(national.keys, profiles, state.timezones, minutes, floor=None)
    expected = np.where(np.isfinite(expected), np.maximum(expected, 0.0), np.nan)
    state.noise_origin = national.origin
    state.noise = {
        service_id: _Noise(expected[i], float(alpha[i]), float(beta[i]), bars[i])
        for i, (service_id, _) in enumerate(national.keys)
    }
    # No history yet: scored from the next baseline rebuild on, and so are its cities.
    state.without_baseline.update(s for s, _ in national.keys if (s, 0) not in profiles)
    city_rows = [i for i in np.flatnonzero(city_needed) if cities.keys[i][0] not in state.without_baseline]
    city_expected = np.full(cities.counts.shape, np.nan)
    city_alpha = np.full(len(cities.keys), BASELINE_PARAMS.alpha_prior)
    city_beta = np.full(len(cities.keys), BASELINE_PARAMS.beta_prior)
    city_bars = uncalibrated_bars(len(cities.keys))
    (city_expected[city_rows], city_alpha[city_rows], city_beta[city_rows], city_bars[city_rows]) = (
        expected_of(
            [cities.keys[i] for i in city_rows], profiles, state.timezones, minutes, floor=FLOOR_PER_MINUTE
        )
    )
    row_of = {key[0]: i for i, key in enumerate(national.keys)}
    # A city without a profile of its own is read with its service's bars, as in outages.replay.
    for i in city_rows:
        if cities.keys[i] not in profiles:
            city_bars[i] = bars[row_of[cities.keys[i][0]]]
    panel = detection.panel_detect(
        national.counts,
        expected,
        alpha,
        beta,
        cities.counts,
        city_expected,
        city_alpha,
        city_beta,
        np.fromiter((row_of[s] for s, _ in cities.keys), dtype=np.int64, count=len(cities.keys)),
        first_minute=national.origin,
        scored_from=SCORED_FROM,
        bucket_minutes=BUCKET_MINUTES,
        hold_minutes=SPIKE_HOLD_MINUTES,
        national_rows=national.scored(DETECT_PARAMS),
        city_rows=city_scored,
        bars=bars,
        city_bars=city_bars,
        params=DETECT_PARAMS,
    )
    _carrying_cities_usual(state, cities, panel, loaded=city_needed, row_of=row_of, minutes=minutes)
    return panel, expected


def _carrying_cities_usual(
    state: _PassState,
    cities: Series,
    panel: detection.Panel,
    *,
    loaded: np.ndarray,
    row_of: dict[int, int],
    minutes: np.ndarray,
) -> None:
    """The usual of the cities that could carry a flagged service's spike but were not scored
    (too few reports for a spike of their own), set on the panel in place: an incident names
    them as soon as they carry it (outages.incidents, detection.city_carries_spike), as the
    replay, which knows every city's usual, does. Nothing to read unless a flagged service
    has such a city: then one more profiles query."""
    flagged = np.asarray(panel.flagged.any(axis=1))
    wanted = [
        int(i)
        for i in np.flatnonzero(~loaded)
        if cities.keys[i][0] not in state.without_baseline
        and flagged[row_of[cities.keys[i][0]]]
        and panel.city_counts[i].sum() >= detection.CARRY_MIN_REPORTS
    ]
    if not wanted:
        return
    keys = [cities.keys[i] for i in wanted]
    expected, *_ = expected_of(keys, profiles_load(keys), state.timezones, minutes, floor=FLOOR_PER_MINUTE)
    panel.city_excess[wanted] = panel.city_counts[wanted] - expected
    panel.city_usual_known[wanted] = True


def _world_statuses(
    state: _PassState,
    services: list[int],
    national: Series,
    expected: np.ndarray,
    panel: detection.Panel,
    *,
    flooded: Mapping[int, detection.FloodVerdict],
    last: int,
) -> None:
    """The worldwide status rows of the pass's last minute: each service's evidence, then
    the flood verdict and the operator its spike is concentrated on."""
    minute = from_epoch_minute(last)
    rows = evidence_rows([(s, WORLD) for s in services], national.counts, expected, panel.score, last)
    regional = panel.any_city[:, -1]
    asked = [
        service_id
        for i, (service_id, row) in enumerate(zip(services, rows, strict=True))
        if row.evidence != ServiceStatus.Tier.OK
        or regional[i]
        or service_id in flooded
        or state.has_ongoing(service_id)
    ]
    state.verdicts_prefetch(asked, minute)
    verdicts = {
        service_id: state.verdict(service_id, minute, status_verdict_since(minute)) for service_id in asked
    }
    isp_services = Counter(v.isp.name for v in verdicts.values() if v.isp is not None and not v.flood)
    for i, (service_id, row) in enumerate(zip(services, rows, strict=True)):
        verdict = verdicts.get(service_id, detection.FloodVerdict())
        flood, few_reporters = held_back_as(
            flooded=flooded.get(service_id),
            up=row.evidence != ServiceStatus.Tier.OK or bool(regional[i]),
            verdict=verdict,
        )
        operator = None
        if verdict.isp is not None and not flood:
            operator = operator_public(verdict.isp, services=isp_services[verdict.isp.name])
            entry = state.current.get(service_id)
            if entry is not None and entry.incident.ongoing:
                entry.incident.operator = operator
                entry.touched = True
        row.regional, row.flood, row.operator = bool(regional[i]), flood, operator
        row.few_reporters = few_reporters
        state.statuses[service_id] = row


def _country_statuses(state: _PassState, services: list[int], *, last: int) -> list[ServiceStatus]:
    """The status evidence of each service in each country with reports in the detector's
    longest window ending at epoch minute `last`: the country's minute counts scored against
    its own profile (a floor, as for a city, where it has none yet) by the same maths as the
    worldwide series. Only the last minute is scored, so the cost follows the countries
    reporting, not the minutes caught up."""
    origin = last - LOOKBACK_MINUTES
    scored_services = [service_id for service_id in services if service_id in state.statuses]
    countries = Series.read(CountryMinute, "country_code", scored_services, origin=origin, last=last)
    if not countries.keys:
        return []
    n = countries.counts.shape[1]
    profiles = profiles_load(countries.keys)
    # A service is not scored before its first baseline, nor its countries.
    scored = [
        i for i, (service_id, _) in enumerate(countries.keys) if service_id not in state.without_baseline
    ]
    expected = np.full(countries.counts.shape, np.nan)
    alpha = np.full(len(countries.keys), BASELINE_PARAMS.alpha_prior)
    beta = np.full(len(countries.keys), BASELINE_PARAMS.beta_prior)
    bars = uncalibrated_bars(len(countries.keys))
    (expected[scored], alpha[scored], beta[scored], bars[scored]) = expected_of(
        [countries.keys[i] for i in scored],
        profiles,
        state.timezones,
        origin + np.arange(n),
        floor=FLOOR_PER_MINUTE,
    )
    expected = np.maximum(expected, 0.0)
    panel = detection.panel_detect(
        countries.counts,
        expected,
        alpha,
        beta,
        np.zeros((0, n)),
        np.zeros((0, n)),
        np.zeros(0),
        np.zeros(0),
        np.zeros(0, dtype=np.int64),
        first_minute=origin,
        scored_from=SCORED_FROM,
        bucket_minutes=BUCKET_MINUTES,
        hold_minutes=SPIKE_HOLD_MINUTES,
        national_rows=np.isfinite(expected[:, -1]),
        bars=bars,
        params=DETECT_PARAMS,
    )
    rows = evidence_rows(
        [(service_id, str(code)) for service_id, code in countries.keys],
        countries.counts,
        expected,
        panel.score,
        last,
    )
    minute = from_epoch_minute(last)
    for row in rows:
        # What holds the world's spike back holds the country's part of it too. Otherwise a
        # country whose counts are up is judged on its own reports: the rest of the world's
        # are no support for a rise in one country (15 households in France made
        # ?country=FR read `outage` while the world's reports came from Italy).
        world = state.statuses[row.service_id]
        row.flood, row.few_reporters, row.operator = world.flood, world.few_reporters, world.operator
        if row.evidence != ServiceStatus.Tier.OK and not (world.flood or world.few_reporters):
            since = status_verdict_since(minute)
            verdict = state.verdict(row.service_id, minute, since, country=row.scope)
            if verdict.flood and state.verdict(row.service_id, minute, since).flood_beside:
                continue  # the world's crowd beside a flood: the country keeps the world's story
            row.few_reporters = verdict.few_reporters
            row.flood = verdict.held_back and not verdict.few_reporters
            if verdict.isp is not None and not row.flood:
                row.operator = operator_public(verdict.isp)
    return rows


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
