"""Spikes become incidents here, and only here: the live pass and `backtest` both feed a
detection.Panel to `incidents_track`, which opens, extends, resolves and re-opens incidents
through the lifecycle methods of outages.models.Incident. No database access: the live pass
loads and saves the incidents around it, `backtest` keeps them unsaved.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from outages import detection
from outages.escalations import ESCALATION_FACTOR, ESCALATION_WINDOW_MINUTES, clearly_new, escalation_check
from outages.minutes import epoch_minute, from_epoch_minute
from outages.models import (
    REARM_FACTOR,
    RESOLVE_QUIET_MINUTES,
    Incident,
    IncidentCity,
    IncidentEscalation,
    IncidentReopening,
)

_MINUTE = dt.timedelta(minutes=1)


@dataclass
class Tracked:
    """A service's latest incident while the tracker updates it, with its cities and problems."""

    incident: Incident
    cities: dict[int, IncidentCity] = field(default_factory=dict)
    problems: Counter = field(default_factory=Counter)
    touched: bool = False
    # Only its sums since it resolved changed (Incident.record_since_resolved): minute after
    # minute for REARM_MINUTES, saved as those two columns, not as a change of the incident.
    counted: bool = False
    # Its latest escalation (the cooldown's start), and those this run recorded (unsaved).
    last_escalation_at: dt.datetime | None = None
    escalations: list[IncidentEscalation] = field(default_factory=list)
    # The re-openings this run recorded (unsaved), and the resolution stored before the run:
    # only a re-opening that undoes it undoes one the subscribers were told of.
    reopenings: list[IncidentReopening] = field(default_factory=list)
    stored_resolved_at: dt.datetime | None = None


@dataclass
class TrackResult:
    opened: int = 0
    resolved: int = 0
    # The incidents that resolved in this run (their events are mailed to subscribers).
    resolved_incidents: list[Incident] = field(default_factory=list)
    # Incidents this run changed and then replaced by a newer one of the same service.
    retired: list[Tracked] = field(default_factory=list)
    # Services whose spike at the last minute the flood rule held back, and the verdict that did.
    flooded_last: dict[int, detection.FloodVerdict] = field(default_factory=dict)
    # The escalations this run recorded, in order (also on their incidents' Tracked).
    escalations: list[IncidentEscalation] = field(default_factory=list)
    # The re-openings this run recorded, in order, each with the minute it re-opened the
    # incident at (the held spike, after its rise: IncidentReopening.at); also on their Tracked.
    reopenings: list[tuple[dt.datetime, IncidentReopening]] = field(default_factory=list)


# (service row, minute index, the service's latest incident or None, opened at this minute,
# the flood verdict that held this minute back or None): backtest's per-minute record.
MinuteHook = Callable[[int, int, "Tracked | None", bool, "detection.FloodVerdict | None"], None]


class VerdictOf(Protocol):
    """The flood verdict on a service's counted reports from a minute (None: over the
    detector's longest window) up to another, and with `cities` on those placed in these
    cities only (the pass's _PassState.verdict; a replay's reads counts alone)."""

    def __call__(
        self,
        service_id: int,
        minute: dt.datetime,
        since: dt.datetime | None,
        cities: frozenset[int] | None = None,
    ) -> detection.FloodVerdict: ...


def incidents_track(
    tracked: dict[int, Tracked],
    panel: detection.Panel,
    *,
    services: Sequence[int],
    pairs: Sequence[tuple[int, int]],
    first_minute: int,
    evaluate_from: int,
    problems: Mapping[tuple[int, int], Mapping[str, int]],
    verdict_of: VerdictOf,
    warning: float = detection.DetectParams().warning,
    threshold: float = detection.DetectParams().threshold,
    rows: Sequence[int] | None = None,
    on_minute: MinuteHook | None = None,
) -> TrackResult:
    """Walk minutes evaluate_from..n-1 of the panel for the given service rows (default all)
    and update `tracked` (service id -> latest incident) in place.

    A held spike extends the service's ongoing incident, re-opens one resolved less than
    REOPEN_MINUTES ago, or opens a new one whose window starts at the rise (`_rise_start`);
    its figures then count those minutes too. Within REARM_MINUTES of the last incident's
    resolution a new one needs clearly stronger evidence (Incident.opening_bar), and such a
    spike re-opens the last one instead while the service has stayed elevated since it
    resolved (Incident.episode_goes_on, from the minutes counted by `_since_resolved`); each
    re-opening is recorded (IncidentReopening). A clearly bigger event inside an ongoing
    incident is recorded as an escalation (outages.escalations).

    One flood verdict (`verdict_of`, over the minute's own evidence window) is taken for every
    spike, and for every elevated minute of an ongoing incident: a minute it holds back (a
    flood, or a handful of reporters) opens, extends and re-opens nothing, keeps no incident
    from resolving, and adds nothing to its figures; an incident opened later never starts
    at or before a minute the verdict judged a flood (`_open`).

    A dismissed incident absorbs the spikes of its own rise (Incident.dismissed_rise_at):
    they extend it while it is ongoing, so it resolves at the end of its rise, and never
    re-open it once resolved; it records no escalation. Only a clearly new rise (what would
    be its escalation, outages.escalations.clearly_new) opens another incident, which ends
    the dismissed one at its start.
    """
    result = TrackResult()
    n = panel.score.shape[1]
    pairs_of: dict[int, list[int]] = defaultdict(list)
    row_of = {service_id: row for row, service_id in enumerate(services)}
    for i, (service_id, _) in enumerate(pairs):
        pairs_of[row_of[service_id]].append(i)
    for row in range(len(services)) if rows is None else rows:
        service_id = services[row]
        for j in range(evaluate_from, n):
            minute = from_epoch_minute(first_minute + j)
            entry = tracked.get(service_id)
            spike = bool(panel.flagged[row, j])
            continues = entry is not None and entry.incident.spike_continues_it(minute)
            ongoing = entry is not None and entry.incident.ongoing
            raised = ongoing and panel.score[row, j] >= warning
            # Elevated minutes of an ongoing incident keep it from resolving: asked too, so a
            # flood's tail in the longer windows does not hold it open. Live, the pass asks the
            # verdict of its last minute for every ongoing incident anyway (cached).
            # A spike of some cities only is judged on their reports: the rest of the country's
            # ordinary reports are no support for a rise in one city.
            cities = (
                _spiking_cities(panel, j, pairs_of[row], pairs)
                if spike and not panel.national_spike[row, j]
                else None
            )
            verdict = (
                verdict_of(service_id, minute, _evidence_start(panel, row, j, first_minute), cities)
                if spike or raised
                else None
            )
            held = verdict if verdict is not None and verdict.held_back else None
            flood = held is not None
            # Under the warning level, an ongoing incident's minute is still elevated while the
            # service is up (`_still_up_since`), so it does not resolve between a busy day's
            # bursts; unless the flood verdict holds back the reports that keep it up.
            up_since = (
                _still_up_since(entry.incident, panel, row, j, first_minute)
                if ongoing and entry is not None and not spike and not raised
                else None
            )
            up = (
                up_since is not None
                and not verdict_of(service_id, minute, from_epoch_minute(first_minute + up_since)).held_back
            )
            if held is not None:
                if spike and j == n - 1:
                    result.flooded_last[service_id] = held
                spike = False
            if spike and continues and entry is not None and entry.incident.dismissed:
                if _clearly_new(entry.incident, row, j, panel, first_minute, threshold):
                    continues = False  # opens an incident of its own
                elif not entry.incident.ongoing:
                    # The dismissed rise going on: remembered, never re-opening it.
                    entry.incident.extend(at=minute, spike=True, elevated=True)
                    entry.touched = True
                    spike = False
            if (
                spike
                and entry is not None
                and (not continues or entry.incident.episode_goes_on(minute))
                and panel.best_score[row, j] < entry.incident.opening_bar(minute, threshold)
            ):
                spike = False  # hysteresis: too soon after the last incident for this little
            opened = False
            if spike and not continues:
                entry = _open(
                    tracked,
                    result,
                    service_id,
                    row,
                    j,
                    panel,
                    first_minute,
                    problems,
                    pairs_of,
                    pairs,
                    verdict_of,
                )
                opened = True
            if entry is None or (not spike and not entry.incident.ongoing):
                if entry is not None and not flood:
                    _since_resolved(entry, row, j, j, panel, first_minute)
                if on_minute is not None:
                    on_minute(row, j, entry, False, held)
                continue
            incident = entry.incident
            elevated = spike or (not flood and bool(raised or up))
            undone = incident.resolved_at
            incident.extend(at=minute, spike=spike, elevated=elevated)
            entry.touched = True
            if undone is not None and incident.ongoing:
                _reopen(
                    entry,
                    result,
                    undone,
                    row,
                    j,
                    panel,
                    first_minute,
                    problems,
                    pairs_of[row],
                    pairs,
                    verdict_of,
                )
            if not elevated and incident.resolve_if_quiet(minute):
                result.resolved += 1
                result.resolved_incidents.append(incident)
                # The quiet spell it waited for is the first part of what follows it.
                assert incident.resolved_at is not None
                _since_resolved(
                    entry, row, epoch_minute(incident.resolved_at) - first_minute, j, panel, first_minute
                )
            else:
                if not flood:
                    _record(entry, row, j, panel, first_minute, problems, pairs_of[row], pairs)
                _escalation_track(entry, result, row, j, panel, first_minute, verdict_of, opened=opened)
            if on_minute is not None:
                on_minute(row, j, entry, opened, held)
    return result


def _open(
    tracked: dict[int, Tracked],
    result: TrackResult,
    service_id: int,
    row: int,
    j: int,
    panel: detection.Panel,
    first_minute: int,
    problems: Mapping[tuple[int, int], Mapping[str, int]],
    pairs_of: Mapping[int, list[int]],
    pairs: Sequence[tuple[int, int]],
    verdict_of: VerdictOf,
) -> Tracked:
    previous = tracked.get(service_id)
    start = _crowd_rise_start(service_id, row, j, panel, first_minute, pairs_of[row], verdict_of)
    at = from_epoch_minute(first_minute + j)
    if previous is not None and previous.incident.dismissed_rise_at(at):
        # A clearly new rise during a dismissed one: it starts with the first minute of the
        # window that was clearly new at twice the dismissed rise's rate, never inside the
        # dismissed incident, and ends it there if it is still going on.
        dismissed = previous.incident
        peak = dismissed.settled_peak if dismissed.ongoing else dismissed.peak_count
        level = ESCALATION_FACTOR * peak / ESCALATION_WINDOW_MINUTES
        after = epoch_minute(dismissed.resolved_at or dismissed.started_at + _MINUTE) - first_minute
        first = max(start, j - ESCALATION_WINDOW_MINUTES + 1, min(after, j))
        start = next((k for k in range(first, j) if panel.counts[row, k] >= level), j)
        if dismissed.ongoing:
            dismissed.resolved_at = from_epoch_minute(first_minute + start)
            previous.touched = True
    elif previous is not None and previous.incident.resolved_at is not None:
        # Never reach back into the previous incident.
        after = epoch_minute(previous.incident.resolved_at) - first_minute
        start = max(start, min(after, j))
    incident = Incident.open(
        service_id=service_id,
        evidence_from=from_epoch_minute(first_minute + start),
        at=at,
    )
    entry = Tracked(incident=incident)
    if previous is not None and previous.touched:
        result.retired.append(previous)
    tracked[service_id] = entry
    result.opened += 1
    for k in range(start, j):
        _record(entry, row, k, panel, first_minute, problems, pairs_of[row], pairs)
    return entry


def _crowd_rise_start(
    service_id: int,
    row: int,
    j: int,
    panel: detection.Panel,
    first_minute: int,
    service_pairs: Sequence[int],
    verdict_of: VerdictOf,
) -> int:
    """The first minute of the rise behind a spike at minute j that opens or re-opens an
    incident (`_rise_start`), never at or before a minute of it that the verdict judged a
    flood.

    A flood's reports never date an incident: it starts after the last flagged minute of the
    rise that the verdict judged a flood, when what follows that minute is a crowd on its own
    (else the minute was the crowd's own beginning: its first reports can all be one
    operator's). Flagged minutes before j are rare (a genuine spike opens at its first one),
    so this asks the verdict a few times per opening at most."""
    start = _rise_start(panel, row, j, service_pairs)
    at = from_epoch_minute(first_minute + j)
    for k in range(j - 1, start - 1, -1):
        if (
            panel.flagged[row, k]
            and verdict_of(
                service_id, from_epoch_minute(first_minute + k), _evidence_start(panel, row, k, first_minute)
            ).flood
            and not verdict_of(service_id, at, from_epoch_minute(first_minute + k + 1)).held_back
        ):
            return k + 1
    return start


def _reopen(
    entry: Tracked,
    result: TrackResult,
    undone: dt.datetime,
    row: int,
    j: int,
    panel: detection.Panel,
    first_minute: int,
    problems: Mapping[tuple[int, int], Mapping[str, int]],
    service_pairs: Sequence[int],
    pairs: Sequence[tuple[int, int]],
    verdict_of: VerdictOf,
) -> None:
    """Record the re-opening, by a spike at minute j, of an incident that resolved at
    `undone`: it starts at the spike's rise (as an opening does, `_crowd_rise_start`), never
    before that resolution, and the rise's minutes before j count in the incident's figures."""
    incident = entry.incident
    resolved = epoch_minute(undone) - first_minute
    start = min(
        max(
            _crowd_rise_start(incident.service_id, row, j, panel, first_minute, service_pairs, verdict_of),
            resolved,
        ),
        j,
    )
    at = from_epoch_minute(first_minute + start)
    incident.reopened_at = at
    reopening = IncidentReopening(incident=incident, at=at, resolved_at=undone)
    entry.reopenings.append(reopening)
    result.reopenings.append((from_epoch_minute(first_minute + j), reopening))
    for k in range(max(start, 0), j):
        _record(entry, row, k, panel, first_minute, problems, service_pairs, pairs)


def _since_resolved(
    entry: Tracked, row: int, first: int, last: int, panel: detection.Panel, first_minute: int
) -> None:
    """Add minutes first..last (panel columns) to what followed the resolution of the
    entry's incident, while they may still be its episode (Incident.in_episode)."""
    incident = entry.incident
    if incident.dismissed or not incident.in_episode(from_epoch_minute(first_minute + last)):
        return
    columns = slice(max(first, 0), last + 1)
    reports, usual = _reports_and_usual(panel.counts[row, columns], panel.excess[row, columns])
    incident.record_since_resolved(reports=reports, usual=usual)
    entry.counted = True


# The fewest minutes after an ongoing incident's last spike that tell whether the service is
# still up (`_still_up_since`): three 5-minute buckets.
STILL_UP_MINUTES = 3 * detection.BUCKET_MINUTES


def _still_up_since(
    incident: Incident, panel: detection.Panel, row: int, j: int, first_minute: int
) -> int | None:
    """The first minute (panel column) of the window that finds the service still up at
    minute j, or None: hysteresis on the way down. The window is the last
    RESOLVE_QUIET_MINUTES, never reaching back to the incident's last spike, whose own reports
    would keep it open (the leftovers of a short rise), and at least STILL_UP_MINUTES long;
    the service is up while its reports there ran at EPISODE_RATIO times their usual or more
    (Incident.elevated_ratio). Such minutes are elevated, so an incident resolves only once
    the service is back near its usual level: a day that stays up between its bursts is one
    incident, not one that resolves and re-opens at each burst."""
    first = max(j - RESOLVE_QUIET_MINUTES + 1, epoch_minute(incident.last_spike_at) + 1 - first_minute, 0)
    if j - first + 1 < STILL_UP_MINUTES:
        return None
    window = slice(first, j + 1)
    reports, usual = _reports_and_usual(panel.counts[row, window], panel.excess[row, window])
    return first if Incident.elevated_ratio(reports=reports, usual=usual) else None


def _reports_and_usual(counts: np.ndarray, excess: np.ndarray) -> tuple[float, float]:
    """The reports of some minutes and their usual count (the reports less their excess)."""
    reports = float(counts.sum())
    return reports, reports - float(excess.sum())


def _spiking_cities(
    panel: detection.Panel, j: int, service_pairs: Sequence[int], pairs: Sequence[tuple[int, int]]
) -> frozenset[int]:
    """The cities of the service with a held spike at minute j."""
    return frozenset(pairs[i][1] for i in service_pairs if panel.city_spike[i, j])


def _evidence_start(panel: detection.Panel, row: int, j: int, first_minute: int) -> dt.datetime:
    """The first minute of the windows that scored minute j (a spike's, over its held
    minutes): what its flood verdict reads."""
    return from_epoch_minute(first_minute + int(panel.evidence_from[row, j]))


def _rise_start(panel: detection.Panel, row: int, j: int, service_pairs: Sequence[int]) -> int:
    """The minute an incident opened at minute j starts: the rise.

    The scoring window behind a spike may reach back an hour (`panel.evidence_from`), over
    minutes at the usual level or an earlier, separate burst. The rise is the most likely
    start of what is still going on at j (`_change_point`), nationally if the sliding
    5-minute bucket ending at j holds at least `min_ratio` times its baseline, and in each
    city flagged at j whose bucket does (the earliest of those); the incident starts at its
    first minute above the baseline. Without such a bucket it starts with the first minute
    of the evidence that is above the baseline.
    """
    lo = int(panel.evidence_from[row, j])
    series = [(panel.counts[row], panel.excess[row])] + [
        (panel.city_counts[i], panel.city_excess[i]) for i in service_pairs if panel.city_spike[i, j]
    ]
    start = min(
        (
            _change_point(counts, excess, lo, j)
            for counts, excess in series
            if _elevated_at(counts, excess, j)
        ),
        default=lo,
    )
    while start < j and panel.excess[row, start] <= 0:
        start += 1
    return start


def _elevated_at(counts: np.ndarray, excess: np.ndarray, j: int) -> bool:
    """Whether the sliding 5-minute bucket ending at minute j is elevated."""
    bucket = slice(max(j - detection.BUCKET_MINUTES + 1, 0), j + 1)
    reports, usual = _reports_and_usual(counts[bucket], excess[bucket])
    return bool(detection.bucket_elevated(np.array(reports), np.array(usual)))


def _change_point(counts: np.ndarray, excess: np.ndarray, lo: int, j: int) -> int:
    """The most likely first minute, in lo..j, of a rise still going on at j: the minute s
    whose minutes s..j, at a rate of their own, are likeliest against their usual (the
    Poisson likelihood ratio X log(X / M) - (X - M), X the reports and M the usual count from
    s to j, largest; a single change point). Minutes at the usual level before the rise
    lower the rate and the ratio, so an earlier burst is left out unless it outweighs the
    usual minutes between it and the rise; a minute of the rise that is quiet by chance is
    kept."""
    reports = counts[lo : j + 1].astype(float)
    usual = reports - excess[lo : j + 1]
    big_x = np.cumsum(reports[::-1])[::-1]
    big_m = np.maximum(np.cumsum(usual[::-1])[::-1], 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(big_x > big_m, big_x * np.log(big_x / big_m) - (big_x - big_m), 0.0)
    return lo + int(np.argmax(ratio))


def _record(
    entry: Tracked,
    row: int,
    k: int,
    panel: detection.Panel,
    first_minute: int,
    problems: Mapping[tuple[int, int], Mapping[str, int]],
    service_pairs: Sequence[int],
    pairs: Sequence[tuple[int, int]],
) -> None:
    """Add minute k to the incident's figures: score, excess, peak, problems and cities."""
    incident = entry.incident
    at = from_epoch_minute(first_minute + k)
    incident.record_minute(at=at, score=float(panel.score[row, k]), excess=float(panel.excess[row, k]))
    incident.record_peak(
        count=int(panel.aligned15[row, k]),
        bucket_start=from_epoch_minute(first_minute + int(panel.bucket15_first[k])),
    )
    entry.problems.update(problems.get((incident.service_id, first_minute + k), {}))
    since = max(epoch_minute(incident.started_at) - first_minute, 0)
    for i in service_pairs:
        city_id = pairs[i][1]
        city = entry.cities.get(city_id)
        if city is None:
            if not (panel.city_spike[i, k] or _carries(panel, row, i, since, k)):
                continue
            # A city flagged later still counts its reports since the incident began.
            city = entry.cities[city_id] = IncidentCity(
                city_id=city_id,
                first_flagged_at=at,
                count=int(np.sum(panel.city_counts[i, since:k])),
                excess=float(np.sum(panel.city_excess[i, since:k])),
            )
        city.count += int(panel.city_counts[i, k])
        city.excess = max(0.0, city.excess + float(panel.city_excess[i, k]))


def _carries(panel: detection.Panel, row: int, i: int, since: int, k: int) -> bool:
    """Whether city pair i carries its service's spike at minute k (detection.city_carries_spike):
    the service is flagged, and the city's reports from `since` (the incident's first
    minute) up to k are well above its usual for them."""
    if not panel.flagged[row, k] or not panel.city_usual_known[i, k]:
        return False
    count = float(np.sum(panel.city_counts[i, since : k + 1]))
    if count < detection.CARRY_MIN_REPORTS:
        return False
    usual = count - float(np.sum(panel.city_excess[i, since : k + 1]))
    return detection.city_carries_spike(count, usual)


def _window(panel: detection.Panel, row: int, j: int) -> tuple[float, float]:
    """The reports and the expected reports of the sliding ESCALATION_WINDOW_MINUTES ending
    at minute j: what an escalation and a clearly new rise are measured on."""
    window = slice(max(j - ESCALATION_WINDOW_MINUTES + 1, 0), j + 1)
    count = float(np.sum(panel.counts[row, window]))
    return count, count - float(np.sum(panel.excess[row, window]))


def _clearly_new(
    incident: Incident, row: int, j: int, panel: detection.Panel, first_minute: int, threshold: float
) -> bool:
    """Whether the spike at minute j, during the rise of dismissed `incident`, is clearly new.
    Once it resolved, its whole peak is the peak before the window."""
    count, baseline = _window(panel, row, j)
    return clearly_new(
        minute=first_minute + j,
        count=count,
        baseline=baseline,
        previous_peak=incident.settled_peak if incident.ongoing else incident.peak_count,
        spike=bool(panel.national_spike[row, j]),
        started=epoch_minute(incident.started_at),
        score=float(panel.best_score[row, j]),
        bar=REARM_FACTOR * threshold,
    )


def _escalation_track(
    entry: Tracked,
    result: TrackResult,
    row: int,
    j: int,
    panel: detection.Panel,
    first_minute: int,
    verdict_of: VerdictOf,
    *,
    opened: bool,
) -> None:
    """Minute j of an ongoing incident: fold the minute that has just left the escalation
    window into its settled peak (at opening, every minute of it before the window), then ask
    outages.escalations whether the window is an escalation."""
    incident = entry.incident
    started = epoch_minute(incident.started_at) - first_minute
    window_first = j - ESCALATION_WINDOW_MINUTES + 1
    # The minute that has just left the window; at opening, all of the incident's before it.
    fold_from = started if opened else window_first - 1
    for k in range(max(fold_from, started, 0), window_first):
        incident.record_settled_peak(int(panel.aligned15[row, k]))
    if opened or incident.dismissed:
        return  # a dismissed incident's escalation would be a clearly new rise: see _clearly_new
    count, baseline = _window(panel, row, j)
    minute = from_epoch_minute(first_minute + j)
    last = entry.last_escalation_at
    if not escalation_check(
        minute=first_minute + j,
        count=count,
        baseline=baseline,
        previous_peak=incident.settled_peak,
        spike=bool(panel.national_spike[row, j]),
        started=first_minute + started,
        last_escalation=None if last is None else epoch_minute(last),
    ):
        return
    # Checked last and only here: live it reads the window's reports from the database.
    if verdict_of(incident.service_id, minute, minute - (ESCALATION_WINDOW_MINUTES - 1) * _MINUTE).held_back:
        return
    escalation = IncidentEscalation(
        incident=incident,
        at=minute,
        count=round(count),
        baseline=max(baseline, 0.0),
        previous_peak=incident.settled_peak,
    )
    entry.escalations.append(escalation)
    entry.last_escalation_at = minute
    result.escalations.append(escalation)
