"""Series of counts per scope, and their evidence: what the detection pass reads and
computes in the same way for the world, each country and each city.

A series is keyed as outages.baselines.profiles_load keys profiles: (service id, 0)
worldwide, (service id, city id), (service id, country code). `expected_of` turns the
series' stored profiles into expected reports per minute (through the one conversion,
outages.detection.expected_per_minute); `evidence_rows` turns a scored series into the
status row of its scope.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from outages import detection
from outages.baselines import ProfileKey
from outages.minutes import from_epoch_minute
from outages.models import ServiceStatus
from outages.peak import PEAK_MINUTES
from reports.counts import bucket_rows
from reports.models import MinuteCount

BUCKET_MINUTES = detection.BUCKET_MINUTES
# Minutes of counts read before the first minute evaluated: the detector's longest
# window (60 minutes) ending at the first minute the status remembers
# (detection.evidence_tiers), which is STATUS_HISTORY_MINUTES before it.
STATUS_HISTORY_MINUTES = detection.STATUS_MEMORY_MINUTES + detection.SPIKE_HOLD_MINUTES
LOOKBACK_MINUTES = 60 + STATUS_HISTORY_MINUTES
# The first column of a pass's arrays that is scored (the ones before only feed windows).
SCORED_FROM = LOOKBACK_MINUTES - STATUS_HISTORY_MINUTES
BASELINE_PARAMS = detection.BaselineParams()
DETECT_PARAMS = detection.DetectParams()
# The detector's windows, in buckets, in the order of a profile's bars.
WINDOWS = detection.window_buckets(BUCKET_MINUTES, DETECT_PARAMS)
# What a city or country without a profile of its own is read against.
FLOOR_PER_MINUTE = BASELINE_PARAMS.floor_per_hour / 60


@dataclass
class Series:
    """Per-minute counts of a set of series from epoch minute `origin` (column 0): one row
    per key, a key being (service id, 0 | city id | country code), as profiles_load keys them."""

    origin: int
    keys: list[ProfileKey]
    counts: np.ndarray

    @classmethod
    def read(
        cls, model: type[MinuteCount], column: str | None, service_ids: list[int], *, origin: int, last: int
    ) -> Series:
        """The closed minutes origin..last of `model` for these services, one series per
        service (column None) or per (service, `column`)."""
        rows = bucket_rows(
            model,
            ["service_id"] if column is None else ["service_id", column],
            service_ids=service_ids,
            start=from_epoch_minute(origin),
            end=from_epoch_minute(last + 1),
        )
        keyed = [((row[0], 0 if column is None else row[1]), row[-2], row[-1]) for row in rows]
        keys = sorted({key for key, _, _ in keyed})
        index = {key: i for i, key in enumerate(keys)}
        counts = np.zeros((len(keys), last - origin + 1))
        for key, minute, value in keyed:
            counts[index[key], minute - origin] += value
        return cls(origin, keys, counts)

    def scored(self, params: detection.DetectParams) -> np.ndarray:
        """Which series can score above zero in the minutes the status reads (the last
        STATUS_HISTORY_MINUTES, detection.evidence_tiers): only those with min_excess reports
        within the detector's longest window (an hour) ending in one of them. The others
        are not scored at all, and their profiles not read."""
        last_hour = detection.trailing_sum(self.counts, LOOKBACK_MINUTES)
        return np.asarray((last_hour[:, LOOKBACK_MINUTES:] >= params.min_excess).any(axis=1))


def uncalibrated_bars(n: int) -> np.ndarray:
    """The bars (n, windows) of n series without a calibration of their own: the threshold."""
    return np.full((n, len(WINDOWS)), DETECT_PARAMS.threshold)


def expected_of(
    keys: list[ProfileKey],
    profiles: dict,
    timezones: dict[int, str],
    minutes: np.ndarray,
    *,
    floor: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Expected reports in each of these epoch minutes, the dispersion and the calibrated
    bars (one per window, detection.calibration) of each series (a service worldwide, in a
    city or in a country) from its stored profile, through the one conversion
    (detection.expected_per_minute), one call per time zone. A series without a profile is
    read against `floor` reports a minute (None: NaN, not scored), the priors and the
    threshold as every bar."""
    expected = np.full((len(keys), len(minutes)), np.nan)
    alpha = np.full(len(keys), BASELINE_PARAMS.alpha_prior)
    beta = np.full(len(keys), BASELINE_PARAMS.beta_prior)
    bars = uncalibrated_bars(len(keys))
    by_zone: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        stored = profiles.get(key)
        if stored is None:
            if floor is not None:
                expected[i] = floor
            continue
        by_zone[timezones[key[0]]].append(i)
        alpha[i], beta[i] = stored.alpha, stored.beta
        if len(stored.bars) == len(WINDOWS):
            bars[i] = stored.bars
    for zone, rows in by_zone.items():
        stack = np.stack([profiles[keys[i]].expected for i in rows])
        expected[rows] = detection.expected_per_minute(
            stack, minutes, timezone=zone, bucket_minutes=BUCKET_MINUTES
        )
    return expected, alpha, beta, bars


def evidence_rows(
    keys: list[tuple[int, str]],
    counts: np.ndarray,
    expected: np.ndarray,
    score: np.ndarray,
    last: int,
) -> list[ServiceStatus]:
    """The status evidence of each (service, scope) series at its last minute, epoch minute
    `last`: the tier its scores give (with hysteresis, detection.evidence_tiers: `score`
    holds the STATUS_HISTORY_MINUTES before it), and its reports and baseline in the clock-aligned
    quarter-hour holding that minute, up to it: the window the charts draw and the peak is
    measured in (outages.peak), so the status line never shows more than the peak; and whether
    the reports of its last 5 minutes are well above their usual (`raised_now`). The one
    place that turns a scored series into a status row, for the world and for each country."""
    first = last - counts.shape[1] + 1
    count15 = detection.aligned_running_sum(counts, first, PEAK_MINUTES)[0][:, -1]
    expected15 = detection.aligned_running_sum(expected, first, PEAK_MINUTES)[0][:, -1]
    count_now = counts[:, -BUCKET_MINUTES:].sum(axis=1)
    expected_now = expected[:, -BUCKET_MINUTES:].sum(axis=1)
    raised_now = np.isfinite(expected_now) & detection.window_raised(
        count_now, np.where(np.isfinite(expected_now), expected_now, 0.0)
    )
    minute = from_epoch_minute(last)
    tiers = detection.evidence_tiers(score, hold_minutes=detection.SPIKE_HOLD_MINUTES)[:, -1]
    return [
        ServiceStatus(
            service_id=service_id,
            scope=scope,
            evidence=detection.TIERS[tiers[i]],
            score=float(score[i, -1]),
            count=int(count15[i]),
            baseline=float(expected15[i]) if math.isfinite(expected15[i]) else None,
            raised_now=bool(raised_now[i]),
            minute=minute,
        )
        for i, (service_id, scope) in enumerate(keys)
    ]
