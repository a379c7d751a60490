"""The live detector replayed on a per-minute series, with no database: `manage.py backtest`
and bench/detection_quality.py call this, and it calls what the live pass calls.

- Profiles are rebuilt at every local midnight from the days before it only, as the nightly
  rebuild does (detection.replay_profiles); a city gets a profile of its own under the live
  rule (detection.city_profile_min_reports), otherwise it is scored against the floor.
- Every minute the sliding 5-minute bucket ending then is scored, spikes are held, cities
  are tested against their bar (detection.panel_detect).
- Spikes become incidents through outages.incidents.incidents_track, the live lifecycle,
  escalations included (outages.escalations); each minute's public status comes from
  outages.status.public_status.

What the replay cannot know: the networks behind the reports (a file has no addresses), so
the flood verdict reads only how many reports there are (detection.counts_verdict): fewer
than a crowd's sites are a handful of reporters, as live, and more are never a flood; and
reviewers, so every incident stays suspected, and in the replayed history, as an unreviewed
incident stays in the nightly rebuild's (outages.baselines: only confirmed outages are left out).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from outages import detection
from outages.evidence import FLOOR_PER_MINUTE
from outages.flood import window_start
from outages.incidents import Tracked, incidents_track
from outages.minutes import epoch_minute, from_epoch_minute
from outages.models import Incident
from outages.status import held_back_as, public_status, status_verdict_since

_BASELINE = detection.BaselineParams()
_DETECT = detection.DetectParams()


@dataclass(frozen=True)
class ReplayedIncident:
    number: int
    started_at: int  # epoch minute
    opened_at: int  # epoch minute the live pass would have opened it (after the hold)
    resolved_at: int | None  # epoch minute, None if still ongoing at the end
    peak_count: int
    peak_at: int  # epoch minute
    # Its escalations (outages.escalations): (epoch minute, count, baseline, previous peak).
    escalations: tuple[tuple[int, int, float, int], ...] = ()
    # Its re-openings: (epoch minute it re-opened, after the hold: when subscribers are told;
    # the first minute of the rise, IncidentReopening.at; the resolution it undid).
    reopenings: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True)
class Replay:
    first_minute: int
    expected: np.ndarray  # (n,) expected reports per minute, NaN without a profile
    # (n,) the profile's dispersion in force each minute: alpha, one bucket's; beta, the part
    # neighbouring buckets share (docs/detection.md, section 2)
    alpha: np.ndarray
    beta: np.ndarray
    panel: detection.Panel
    status: list[str]  # (n,) the public status each minute
    incident: list[int | None]  # (n,) the number of the incident holding each minute
    opened: np.ndarray  # (n,) bool: an incident opens at this minute
    incidents: list[ReplayedIncident]
    city_names: list[str]


def replay_minutes(
    first_minute: int,
    counts: np.ndarray | Sequence[float],
    *,
    timezone: str,
    city_counts: np.ndarray | None = None,
    city_names: Sequence[str] = (),
    hold_minutes: int = detection.SPIKE_HOLD_MINUTES,
) -> Replay:
    """Replay n minutes from epoch minute `first_minute` (counts (n,), city_counts (C, n))."""
    x = np.asarray(counts, dtype=float)
    n = x.size
    city_x = np.zeros((0, n)) if city_counts is None else np.atleast_2d(np.asarray(city_counts, dtype=float))
    bucket = detection.BUCKET_MINUTES
    expected, alpha, beta, bars, city_expected, city_alpha, city_beta, city_bars = _minute_profiles(
        first_minute, x, city_x, timezone=timezone, bucket=bucket
    )
    panel = detection.panel_detect(
        x[None, :],
        expected[None, :],
        alpha[None, :],
        beta[None, :],
        city_x,
        city_expected,
        city_alpha,
        city_beta,
        np.zeros(city_x.shape[0], dtype=np.int64),
        first_minute=first_minute,
        scored_from=0,
        bucket_minutes=bucket,
        hold_minutes=hold_minutes,
        bars=bars[None],
        city_bars=city_bars,
        params=_DETECT,
    )
    tiers = detection.evidence_tiers(panel.score[0], hold_minutes=hold_minutes, params=_DETECT)
    reports_before = np.concatenate(([0.0], np.cumsum(x)))
    city_reports_before = np.concatenate((np.zeros((city_x.shape[0], 1)), np.cumsum(city_x, axis=1)), axis=1)

    def verdict_of(
        service_id: int, minute: dt.datetime, since: dt.datetime | None, cities: frozenset[int] | None = None
    ) -> detection.FloodVerdict:
        """The verdict on the reports the live verdict reads at `minute` (with `cities`, those
        placed in these cities): on their number only."""
        last = epoch_minute(minute) - first_minute
        first = max(epoch_minute(window_start(minute, since)) - first_minute, 0)
        if cities is None:
            return detection.counts_verdict(reports_before[last + 1] - reports_before[first])
        rows = sorted(cities)
        return detection.counts_verdict(
            float((city_reports_before[rows, last + 1] - city_reports_before[rows, first]).sum())
        )

    status: list[str] = [""] * n
    opened = np.zeros(n, dtype=bool)
    seen: list[Incident] = []

    def on_minute(
        row: int, j: int, entry: Tracked | None, is_open: bool, flooded: detection.FloodVerdict | None
    ) -> None:
        incident = entry.incident if entry is not None else None
        if incident is not None and (not seen or seen[-1] is not incident):
            seen.append(incident)
        opened[j] = is_open
        at = from_epoch_minute(first_minute + j)
        regional = bool(panel.any_city[0, j])
        up = tiers[j] > 0 or regional
        # Asked only where it can matter, as the live pass asks it (_world_statuses).
        asked = flooded is not None or up
        verdict = verdict_of(row, at, status_verdict_since(at)) if asked else detection.FloodVerdict()
        flood, few_reporters = held_back_as(flooded=flooded, up=up, verdict=verdict)
        status[j] = public_status(
            evidence=detection.TIERS[tiers[j]],
            regional=regional,
            flood=flood,
            few_reporters=few_reporters,
            incident=incident,
            at=at,
        ).status

    tracked: dict[int, Tracked] = {}
    result = incidents_track(
        tracked,
        panel,
        services=[0],
        pairs=[(0, i) for i in range(city_x.shape[0])],
        first_minute=first_minute,
        evaluate_from=0,
        problems={},
        verdict_of=verdict_of,
        warning=_DETECT.warning,
        on_minute=on_minute,
    )
    escalations: dict[int, list[tuple[int, int, float, int]]] = {}
    for escalation in result.escalations:
        escalations.setdefault(id(escalation.incident), []).append(
            (epoch_minute(escalation.at), escalation.count, escalation.baseline, escalation.previous_peak)
        )
    reopenings: dict[int, list[tuple[int, int, int]]] = {}
    for reopened_at, reopening in result.reopenings:
        reopenings.setdefault(id(reopening.incident), []).append(
            (epoch_minute(reopened_at), epoch_minute(reopening.at), epoch_minute(reopening.resolved_at))
        )
    number_of: list[int | None] = [None] * n
    found = []
    for number, incident in enumerate(seen, start=1):
        start = epoch_minute(incident.started_at) - first_minute
        end = n if incident.resolved_at is None else epoch_minute(incident.resolved_at) - first_minute
        for j in range(max(start, 0), min(end, n)):
            number_of[j] = number
        found.append(
            ReplayedIncident(
                number=number,
                started_at=epoch_minute(incident.started_at),
                opened_at=first_minute + int(np.flatnonzero(opened[max(start, 0) :])[0]) + max(start, 0),
                resolved_at=None if incident.resolved_at is None else epoch_minute(incident.resolved_at),
                peak_count=incident.peak_count,
                peak_at=epoch_minute(incident.peak_at),
                escalations=tuple(escalations.get(id(incident), ())),
                reopenings=tuple(reopenings.get(id(incident), ())),
            )
        )
    return Replay(
        first_minute=first_minute,
        expected=expected,
        alpha=alpha,
        beta=beta,
        panel=panel,
        status=status,
        incident=number_of,
        opened=opened,
        incidents=found,
        city_names=list(city_names),
    )


def _minute_profiles(
    first_minute: int, x: np.ndarray, cities: np.ndarray, *, timezone: str, bucket: int
) -> tuple[np.ndarray, ...]:
    """Per-minute expected counts, alpha, beta and calibrated bars of the series, then of
    its cities, from profiles of aligned `bucket`-minute slots rebuilt at every local
    midnight."""
    n = x.size
    first_bucket = first_minute // bucket
    index = (first_minute + np.arange(n)) // bucket - first_bucket
    n_buckets = int(index[-1]) + 1 if n else 0
    series = np.vstack([x[None, :], cities])
    sums = np.zeros((series.shape[0], n_buckets))
    # numpy's stub types ufunc.at's indices as an integer array only; numpy takes a tuple of
    # slices and arrays for a 2-D operand, as documented.
    np.add.at(sums, (slice(None), index), series)  # type: ignore[arg-type]
    timestamps = (first_bucket + np.arange(n_buckets)) * bucket * 60
    expected, alpha, beta, bars = detection.replay_profiles(
        timestamps,
        sums,
        bucket_minutes=bucket,
        timezone=timezone,
        params=_BASELINE,
        beside=[-1] + [0] * cities.shape[0],  # every city is the national series' (row 0)
    )
    # A city without enough history for a profile of its own is scored against the floor,
    # as the live pass does (outages.baselines._baselines_build decides the same way), judged
    # at each rebuild (local midnight) on the history the rebuild reads.
    day, _, _ = detection.local_fields(timestamps, timezone=timezone, bucket_minutes=bucket)
    day_start = np.searchsorted(day, day)  # index of the first bucket of each bucket's day
    history_from = np.searchsorted(day, day - _BASELINE.history_days)
    history_hours = (day_start - history_from) * bucket / 60
    needed = np.array([detection.city_profile_min_reports(h, _BASELINE) for h in history_hours])
    # Read as the live pass reads a stored profile: float32 (Baseline.encode), spread over its
    # minutes in float32 (detection.expected_per_minute); so a count at its expected is at it
    # in both, not a hair above it in one.
    per_minute = (expected.astype("<f4")[:, index] / bucket).astype(float)
    for row in range(1, series.shape[0]):
        cumulative = np.concatenate([[0.0], np.cumsum(sums[row])])
        eligible = cumulative[day_start] - cumulative[history_from] >= needed
        per_minute[row] = np.where(eligible[index], per_minute[row], FLOOR_PER_MINUTE)
        alpha[row] = np.where(eligible, alpha[row], _BASELINE.alpha_prior)
        beta[row] = np.where(eligible, beta[row], _BASELINE.beta_prior)
        # ...and, without a calibration of its own, read with its service's bars.
        bars[row] = np.where(eligible[:, None], bars[row], bars[0])
    per_minute = np.where(np.isfinite(per_minute), np.maximum(per_minute, 0.0), np.nan)
    # Without a national profile (no history yet) the live pass scores none of the cities.
    per_minute[1:, ~np.isfinite(per_minute[0])] = np.nan
    return (
        per_minute[0],
        alpha[0, index],
        beta[0, index],
        bars[0, index],
        per_minute[1:],
        alpha[1:, index],
        beta[1:, index],
        bars[1:, index],
    )
