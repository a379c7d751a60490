"""The panel: every minute of a set of services and their cities scored on sliding buckets, as
the live pass and the replay (``manage.py backtest``) see it; spikes held, cities tested
against their bar, the evidence behind each flag, and the clock-aligned 15-minute counts an
incident's peak is read from. Pure: no ORM, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outages.detection.scoring import (
    Detection,
    DetectParams,
    detect_sliding,
    rest_ratio,
    trailing_sum,
)

# The detector as the live pass and backtest run it: profiles of 5-minute slots, a sliding
# 5-minute bucket scored every minute, and a spike counted once it has cleared the bar two
# minutes running (one overlapping bucket over the bar is noise far more often than two:
# bench/detection_quality.py, live table: 0.131 -> 0.094 false alarms per series-week for
# one minute more delay).
BUCKET_MINUTES = 5
SPIKE_HOLD_MINUTES = 2


@dataclass(frozen=True)
class Panel:
    """What the detector says about S services and P (service, city) pairs over n minutes.

    Pure arrays: the live pass fills them from the count tables, `backtest` from a file, and
    outages.incidents turns them into incidents the same way for both.
    """

    score: np.ndarray  # (S, n) national score of the sliding bucket ending at each minute
    national_spike: np.ndarray  # (S, n) a held national spike
    flagged: np.ndarray  # (S, n) a held national spike, or a held spike in any city
    # (S, n) index of the first minute of the windows behind the score: over the held minutes
    # of a flag, else the window that decided the national score
    evidence_from: np.ndarray
    city_spike: np.ndarray  # (P, n) a held city spike (over its bar) in a city reporting this hour
    any_city: np.ndarray  # (S, n) some city of the service has a held spike
    aligned15: np.ndarray  # (S, n) reports since the start of the aligned 15-minute bucket
    bucket15_first: np.ndarray  # (n,) index of that bucket's first minute (may be < 0)
    excess: np.ndarray  # (S, n) reports above the baseline in each minute
    counts: np.ndarray  # (S, n) reports in each minute (escalations read their sliding window)
    city_counts: np.ndarray  # (P, n) reports in each minute
    city_excess: np.ndarray  # (P, n)
    # (P, n) the city's usual is known at that minute (its expected is not NaN): only then
    # can it carry its service's spike (city_carries_spike).
    city_usual_known: np.ndarray
    best_score: np.ndarray  # (S, n) the larger of the national score and its cities' scores


def hold(flags: np.ndarray, steps: int) -> np.ndarray:
    """True where ``flags`` is True at this step and the ``steps - 1`` before it (last axis).

    On sliding buckets a spike held for two minutes is two overlapping buckets that both clear
    the bar, which noise does far less often than once. Causal; the first steps are False.
    """
    f = np.asarray(flags, dtype=bool)
    out = f.copy()
    for j in range(1, steps):
        out[..., j:] &= f[..., :-j]
        out[..., :j] = False
    return out


def city_bar(
    n_cities: np.ndarray | float, national_spike: np.ndarray | bool, params: DetectParams = DetectParams()
) -> np.ndarray:
    """The score a city must reach, given how many cities of its service are reporting and
    whether the national series already spikes.

    Several cities are several tests: the bar rises by log10 of their number, so the chance
    that any of them alarms by accident stays about that of the national series alone
    (Bonferroni on the p-value). Where the national series already spikes the question is
    which cities are affected, and the warning level is enough.
    """
    bar = params.threshold + np.log10(np.maximum(n_cities, 1.0))
    return np.where(national_spike, params.warning, bar)


# While its service spikes, a city whose reports since the incident began are at least this
# many and this many times its usual carries the spike: the incident names it, though its
# own score need not clear a city's bar (a regional outage's smaller cities rarely do at
# first, and the incident would otherwise name no city, or only the biggest, for minutes).
CARRY_MIN_REPORTS = 3
CARRY_MIN_RATIO = 1.8


def city_carries_spike(count: float, usual: float) -> bool:
    """Whether a city with `count` reports since its service's incident began, against
    `usual` reports usual for those minutes, carries the spike (CARRY_MIN_REPORTS,
    CARRY_MIN_RATIO). Asked only while the service spikes."""
    return count >= CARRY_MIN_REPORTS and count >= CARRY_MIN_RATIO * usual


def panel_detect(
    counts: np.ndarray,
    expected: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    city_counts: np.ndarray,
    city_expected: np.ndarray,
    city_alpha: np.ndarray,
    city_beta: np.ndarray,
    pair_service: np.ndarray,
    *,
    first_minute: int,
    scored_from: int,
    bucket_minutes: int,
    hold_minutes: int,
    national_rows: np.ndarray | None = None,
    city_rows: np.ndarray | None = None,
    bars: np.ndarray | None = None,
    city_bars: np.ndarray | None = None,
    params: DetectParams = DetectParams(),
) -> Panel:
    """Score per-minute series of services and their cities on sliding buckets.

    ``counts``/``expected`` are (S, n) per minute (expected NaN without a profile), the city
    arrays (P, n) with ``pair_service`` (P,) naming each pair's row. ``first_minute`` is the
    epoch minute of column 0 (the 15-minute buckets are aligned on the clock). Columns before
    ``scored_from`` are history only: they feed the windows but never score. Rows with
    ``national_rows``/``city_rows`` False are not scored (they cannot clear the bar).
    ``bars``/``city_bars`` are the series' calibrated bars, (S, W) or per minute (S, n, W)
    (detection.calibration); None: uncalibrated.

    A city is one test of many: its bar rises with the cities of its service reporting in the
    last hour, and drops to the warning level where the national series already spikes.
    Where it does not, a city is scored against its usual times the rest of its service's
    (``scoring.rest_ratio``): its rise beyond its service's, not the service's rise seen
    there.
    """
    s, n = counts.shape
    if national_rows is None:
        national_rows = np.ones(s, dtype=bool)
    if city_rows is None:
        city_rows = np.ones(len(pair_service), dtype=bool)
    nat = _score_rows(
        counts,
        expected,
        alpha,
        beta,
        rows=national_rows,
        scored_from=scored_from,
        hold=hold_minutes,
        bucket_minutes=bucket_minutes,
        params=params,
        bars=bars,
    )
    recent = trailing_sum(city_counts, 60) > 0
    n_cities = np.zeros((s, n))
    np.add.at(n_cities, pair_service, recent.astype(float))
    bar = city_bar(n_cities[pair_service], nat.is_spike[pair_service], params)
    rest, rest_usual = _rest_of_service(
        counts, expected, city_counts, city_expected, pair_service, bucket_minutes=bucket_minutes
    )
    ratio = rest_ratio(rest, rest_usual, params)  # above 1 only where the rest is raised
    cit = _score_rows(
        city_counts,
        city_expected,
        city_alpha,
        city_beta,
        rows=city_rows,
        scored_from=scored_from,
        hold=hold_minutes,
        bucket_minutes=bucket_minutes,
        params=params,
        threshold=bar,
        bars=city_bars,
        one_bucket_void=ratio > 1.0,
        usual_scale=np.where(nat.is_spike[pair_service], 1.0, ratio),
    )
    city_spike = hold(cit.is_spike, hold_minutes) & recent
    any_city = np.zeros((s, n), dtype=bool)
    np.logical_or.at(any_city, pair_service, city_spike)
    national_spike = hold(nat.is_spike, hold_minutes)
    flagged = national_spike | any_city
    best_score = nat.score.copy()
    np.maximum.at(best_score, pair_service, np.where(recent, cit.score, 0.0))

    # The evidence behind a flag: the windows that scored over the held minutes, from the
    # first minute of the earliest one, so an incident holds the reports that opened it.
    idx = np.arange(n)
    national_from = np.where(
        national_spike,
        _rolling_min(idx - np.maximum(nat.window, 1) * bucket_minutes + 1, hold_minutes),
        n,
    )
    city_from = np.where(
        city_spike, _rolling_min(idx - np.maximum(cit.window, 1) * bucket_minutes + 1, hold_minutes), n
    )
    earliest_city = np.full((s, n), n, dtype=np.int64)
    np.minimum.at(earliest_city, pair_service, city_from)
    # Elsewhere the national window that decided the minute's score (what the flood verdict
    # of an elevated minute reads).
    scored_from = idx - np.maximum(nat.window, 1) * bucket_minutes + 1
    evidence_from = np.clip(np.where(flagged, np.minimum(national_from, earliest_city), scored_from), 0, idx)

    x = np.where(np.isfinite(counts), counts, 0.0)
    aligned15, bucket_first = aligned_running_sum(x, first_minute)
    return Panel(
        score=nat.score,
        national_spike=national_spike,
        flagged=flagged,
        evidence_from=evidence_from.astype(np.int64),
        city_spike=city_spike,
        any_city=any_city,
        aligned15=aligned15,
        bucket15_first=bucket_first,
        excess=x - np.nan_to_num(expected),
        counts=x,
        city_counts=np.where(np.isfinite(city_counts), city_counts, 0.0),
        city_excess=np.where(np.isfinite(city_counts), city_counts, 0.0) - np.nan_to_num(city_expected),
        city_usual_known=np.isfinite(city_expected),
        best_score=best_score,
    )


def aligned_running_sum(
    counts: np.ndarray, first_minute: int, minutes: int = 15
) -> tuple[np.ndarray, np.ndarray]:
    """Per-minute counts (..., n) from epoch minute `first_minute`: the reports since the
    start of the clock-aligned bucket of `minutes` holding each minute, and the index of that
    bucket's first minute (negative when it began before the series). An incident's peak is
    the largest of these (as Downdetector counts "1,251 reports at 17:00")."""
    x = np.asarray(counts, dtype=float)
    idx = np.arange(x.shape[-1])
    bucket_first = idx - (first_minute + idx) % minutes
    cumulative = np.cumsum(x, axis=-1)
    before = np.where(bucket_first > 0, cumulative[..., np.maximum(bucket_first - 1, 0)], 0.0)
    return cumulative - before, bucket_first


def _rolling_min(a: np.ndarray, w: int) -> np.ndarray:
    """Minimum of the last w values at each position of the last axis."""
    out = np.array(a, dtype=np.int64, copy=True)
    for back in range(1, w):
        out[..., back:] = np.minimum(out[..., back:], a[..., :-back])
    return out


def _rest_of_service(
    counts: np.ndarray,
    expected: np.ndarray,
    city_counts: np.ndarray,
    city_expected: np.ndarray,
    pair_service: np.ndarray,
    *,
    bucket_minutes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(P, n) each: the reports of each city's service outside the city, and their usual, in
    the sliding bucket ending at each minute.

    While the rest is raised (``window_raised``), a rise in the city's one bucket is the
    service's rise seen there (a nationwide burst reaches every city at its share), and the
    service's own test, with the bars it learned from its bursts, judges it: the city's
    one-bucket evidence says nothing, even while the service spikes. Its longer windows
    are read against its usual times the rest's ratio (``scoring.rest_ratio``) unless the
    service spikes (docs/detection.md, section 5)."""

    def known(a: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(a), a, 0.0)

    rest = trailing_sum(np.maximum(known(counts)[pair_service] - known(city_counts), 0.0), bucket_minutes)
    usual = trailing_sum(
        np.maximum(known(expected)[pair_service] - known(city_expected), 0.0), bucket_minutes
    )
    return rest, usual


def _score_rows(
    counts: np.ndarray,
    expected: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    *,
    rows: np.ndarray,
    scored_from: int,
    hold: int,
    bucket_minutes: int,
    params: DetectParams,
    threshold: np.ndarray | None = None,
    bars: np.ndarray | None = None,
    one_bucket_void: np.ndarray | None = None,
    usual_scale: np.ndarray | None = None,
) -> Detection:
    """detect_sliding on the rows that can score; other rows, and the columns before the
    held minutes ahead of ``scored_from`` (history only), stay zero."""
    score = np.zeros(counts.shape)
    spike = np.zeros(counts.shape, dtype=bool)
    excess = np.zeros(counts.shape)
    window = np.zeros(counts.shape, dtype=np.int64)
    picked = np.flatnonzero(rows)
    if picked.size == 0:
        return Detection(score, spike, excess, window)
    found = detect_sliding(
        counts[picked],
        expected[picked],
        alpha[picked],
        beta[picked],
        bucket_minutes=bucket_minutes,
        params=params,
        threshold=None if threshold is None else threshold[picked],
        bars=None if bars is None else list(np.moveaxis(bars[picked], -1, 0)),
        one_bucket_void=None if one_bucket_void is None else one_bucket_void[picked],
        usual_scale=None if usual_scale is None else usual_scale[picked],
    )
    first = max(scored_from - (hold - 1), 0)
    score[picked, first:] = found.score[:, first:]
    spike[picked, first:] = found.is_spike[:, first:]
    excess[picked, first:] = found.excess[:, first:]
    window[picked, first:] = found.window[:, first:]
    return Detection(score, spike, excess, window)
