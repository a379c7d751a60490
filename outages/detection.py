"""Spike detection for report counts: seasonal baselines and a multi-window surprise score.

Pure functions over numpy arrays: no ORM, no settings, no clock. Time is always an argument
(UTC bucket starts as ``datetime64`` or integer epoch seconds, or epoch minutes). The live
Celery pass (outages.detection_pass), the replay behind ``manage.py backtest``
(outages.replay) and the quality benchmark all call these functions. The statistic is
explained for users in ``docs/detection.md``.

How the live path uses it
-------------------------
Nightly, per service (outages.baselines): ``profile_build`` on the last six weeks of
``BUCKET_MINUTES`` (5-minute) bucket counts, national row first and one row per city and
country (zero-filled: a missing bucket is "no data", not zero); each row's ``Profile`` is
stored. ``replay_profiles`` does the same at every local midnight of a replayed file.

Every minute (outages.detection_pass), for all active services and their cities at once: the
per-minute counts of the last hours and the stored profiles spread over their minutes go to
``panel_detect``. It scores the sliding 5-minute bucket ending at every minute
(``detect_sliding``, which is ``detect`` per phase), holds a spike for
``SPIKE_HOLD_MINUTES`` (``hold``), tests each city against its bar (``city_bar``), and
returns a ``Panel``: scores, held spikes, the first minute of the evidence behind each, and
the clock-aligned 15-minute counts an incident's peak is read from
(``aligned_running_sum``). outages.incidents turns a ``Panel`` into incidents;
``status_tier`` turns a score into ``ok`` / ``warning`` / ``outage``. Before a spike opens
an incident, ``flood_verdict`` judges the networks and operators behind it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from scipy import special

DAY = 86_400
TIERS = ("ok", "warning", "outage")
# The detector as the live pass and backtest run it: profiles of 5-minute slots, a sliding
# 5-minute bucket scored every minute, and a spike counted once it has cleared the bar two
# minutes running (one overlapping bucket over the bar is noise far more often than two:
# bench/detection_quality.py, live table: 0.131 -> 0.094 false alarms per series-week for
# one minute more delay).
BUCKET_MINUTES = 5
SPIKE_HOLD_MINUTES = 2


@dataclass(frozen=True)
class BaselineParams:
    # Pool each slot with its neighbours up to this many minutes away: five weeks give only five
    # observations per weekday slot, too few for a robust mean.
    smooth_minutes: int = 30
    # Older weeks count less (half weight after this many days) so slow growth is followed.
    half_life_days: float = 14.0
    # Only this much history is read; older data has negligible weight anyway.
    history_days: int = 42
    # The level is re-scaled on the last days so growth does not lag by the weighted age.
    level_days: int = 4
    # Observations above outlier_ratio times the slot median are treated as outages and left out.
    outlier_ratio: float = 1.8
    # Weight (in days) of the all-weekdays shape when a weekday has little history (cold start).
    prior_days: float = 1.0
    # The expected count never falls below this, so sparse services do not divide by ~0.
    floor_per_hour: float = 0.25
    # Sparse series cannot estimate their dispersion: they lean on these priors.
    alpha_prior: float = 0.1
    beta_prior: float = 0.02
    alpha_min: float = 0.04
    beta_min: float = 0.01
    alpha_max: float = 2.0


@dataclass(frozen=True)
class DetectParams:
    # Windows in minutes, rounded to whole buckets: one bucket for sudden jumps, longer ones
    # for moderate rises that only become certain when they last.
    windows_minutes: tuple[int, ...] = (1, 15, 30, 60)
    # Score = -log10 of the tail probability. 5 means "one in 100,000 under the baseline".
    threshold: float = 5.0
    warning: float = 3.0
    # A window only counts with at least this many reports above baseline ...
    min_excess: float = 10.0
    # ... and at least this multiple of the baseline: news-driven bumps are 1.3-1.5x.
    min_ratio: float = 1.8


@dataclass(frozen=True)
class Profile:
    bucket_minutes: int
    timezone: str
    # (..., 7, slots_per_day): expected reports per bucket, weekday 0 = Monday, local time.
    # NaN where the series has no history at all.
    expected: np.ndarray
    # (...,): one bucket's negative binomial overdispersion, variance = mu + alpha * mu**2.
    alpha: np.ndarray
    # (...,): the part of alpha shared by neighbouring buckets (level uncertainty).
    beta: np.ndarray

    @property
    def slots_per_day(self) -> int:
        return 1440 // self.bucket_minutes

    def rows(self) -> Iterator[tuple[int, int, float, float, float]]:
        """(weekday, slot, expected, alpha, beta) for a single series, ready to store."""
        if self.expected.ndim != 2:
            raise ValueError("rows() needs a single-series profile: use .series(i)")
        alpha, beta = float(self.alpha), float(self.beta)
        for weekday in range(7):
            for slot in range(self.slots_per_day):
                value = float(self.expected[weekday, slot])
                if not math.isnan(value):
                    yield weekday, slot, value, alpha, beta

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[int, int, float, float, float]],
        *,
        bucket_minutes: int,
        timezone: str,
    ) -> Profile:
        expected = np.full((7, 1440 // bucket_minutes), np.nan)
        alpha, beta = BaselineParams.alpha_prior, BaselineParams.beta_prior
        for weekday, slot, value, row_alpha, row_beta in rows:
            expected[weekday, slot] = value
            alpha, beta = row_alpha, row_beta
        return cls(bucket_minutes, timezone, expected, np.asarray(alpha), np.asarray(beta))

    def series(self, index: int) -> Profile:
        """The profile of one row of a multi-series build."""
        return Profile(
            self.bucket_minutes,
            self.timezone,
            self.expected[index],
            self.alpha[index],
            self.beta[index],
        )


@dataclass(frozen=True)
class Detection:
    score: np.ndarray  # (..., T) float, >= 0
    is_spike: np.ndarray  # (..., T) bool
    excess: np.ndarray  # (..., T) reports above baseline over the longest window, >= 0
    window: np.ndarray = field(repr=False)  # (..., T) buckets in the deciding window, 0 if none


# --- time ---------------------------------------------------------------------------------


def epoch_seconds(timestamps: np.ndarray | Sequence[int]) -> np.ndarray:
    ts = np.asarray(timestamps)
    if np.issubdtype(ts.dtype, np.datetime64):
        return ts.astype("datetime64[s]").astype(np.int64)
    return ts.astype(np.int64)


def _offset(second: int, tz: ZoneInfo) -> int:
    return int(datetime.fromtimestamp(int(second), tz).utcoffset().total_seconds())


def utc_offsets(ts: np.ndarray, timezone: str) -> np.ndarray:
    """UTC offset in seconds at each epoch second, vectorised.

    Offsets change only at transitions, at most one a day in every real zone, so the zone is
    probed once a day and bisected to the minute on days where the offset changes.
    """
    tz = ZoneInfo(timezone)
    if ts.size == 0:
        return np.zeros(0, dtype=np.int64)
    first = int(ts.min()) // DAY * DAY
    probes = np.arange(first, int(ts.max()) + DAY + 1, DAY)
    offsets = [_offset(p, tz) for p in probes]
    starts, values = [int(probes[0])], [offsets[0]]
    for i in range(len(probes) - 1):
        if offsets[i] == offsets[i + 1]:
            continue
        lo, hi = int(probes[i]), int(probes[i + 1])
        while hi - lo > 60:
            mid = lo + (hi - lo) // 120 * 60
            if _offset(mid, tz) == offsets[i]:
                lo = mid
            else:
                hi = mid
        starts.append(hi)
        values.append(offsets[i + 1])
    idx = np.searchsorted(np.asarray(starts), ts, side="right") - 1
    return np.asarray(values, dtype=np.int64)[idx]


def local_fields(
    timestamps: np.ndarray | Sequence[int], *, timezone: str, bucket_minutes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local day number, weekday with Monday = 0, local slot of the day) for UTC buckets."""
    if 1440 % bucket_minutes:
        raise ValueError(f"bucket_minutes must divide a day, got {bucket_minutes}")
    ts = epoch_seconds(timestamps)
    local = ts + utc_offsets(ts, timezone)
    day = local // DAY
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    slot = (local % DAY) // (bucket_minutes * 60)
    return day, weekday, slot


# --- baseline -----------------------------------------------------------------------------

# A city gets its own profile when it has at least this many reports in the history and
# averages at least the floor (floor_per_hour): below that its profile would be the floor
# almost everywhere, which is what a city without a profile is scored against.
CITY_MIN_REPORTS = 30


def city_profile_min_reports(history_hours: float, params: BaselineParams = BaselineParams()) -> float:
    """Reports a city needs over `history_hours` of history to get a profile of its own."""
    return max(CITY_MIN_REPORTS, params.floor_per_hour * history_hours)


def profile_build(
    timestamps: np.ndarray | Sequence[int],
    counts: np.ndarray | Sequence[float],
    *,
    bucket_minutes: int,
    timezone: str,
    exclude: np.ndarray | None = None,
    params: BaselineParams = BaselineParams(),
) -> Profile:
    """Seasonal profile from history. ``exclude`` (bool, like ``counts``) drops known incidents.

    Missing buckets in the history mean "no data", not zero: pass zero counts explicitly.
    """
    day, weekday, slot = local_fields(timestamps, timezone=timezone, bucket_minutes=bucket_minutes)
    return _profile_from_fields(
        day,
        weekday,
        slot,
        np.asarray(counts, dtype=float),
        exclude,
        bucket_minutes,
        timezone,
        params,
    )


def profile_expected(
    profile: Profile, timestamps: np.ndarray | Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected count (..., T), alpha (...,) and beta (...,) for UTC bucket starts."""
    _, weekday, slot = local_fields(
        timestamps, timezone=profile.timezone, bucket_minutes=profile.bucket_minutes
    )
    return profile.expected[..., weekday, slot], np.asarray(profile.alpha), np.asarray(profile.beta)


def _profile_from_fields(
    day: np.ndarray,
    weekday: np.ndarray,
    slot: np.ndarray,
    counts: np.ndarray,
    exclude: np.ndarray | None,
    bucket_minutes: int,
    timezone: str,
    params: BaselineParams,
) -> Profile:
    single = counts.ndim == 1
    x = np.atleast_2d(counts)
    n_series = x.shape[0]
    n_slots = 1440 // bucket_minutes
    floor = params.floor_per_hour * bucket_minutes / 60
    if day.size == 0:
        expected = np.full((n_series, 7, n_slots), np.nan)
        alpha = np.full(n_series, params.alpha_prior)
        beta = np.full(n_series, params.beta_prior)
        return _squeeze(Profile(bucket_minutes, timezone, expected, alpha, beta), single)

    keep_time = day > day.max() - params.history_days
    day, weekday, slot, x = (
        day[keep_time],
        weekday[keep_time],
        slot[keep_time],
        x[:, keep_time],
    )
    valid = np.isfinite(x)
    if exclude is not None:
        valid &= ~np.atleast_2d(np.asarray(exclude, dtype=bool))[:, keep_time]
    d = day - day.min()
    n_days = int(d.max()) + 1

    # Grid (series, local day, local slot). A DST fall-back hour lands twice in one cell: average.
    cell = (np.arange(n_series)[:, None] * n_days + d[None, :]) * n_slots + slot[None, :]
    size = n_series * n_days * n_slots
    sums = np.bincount(cell[valid], weights=x[valid], minlength=size)
    hits = np.bincount(cell[valid], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        grid = (sums / hits).reshape(n_series, n_days, n_slots)

    day_weekday = (np.arange(n_days) + day.min() + 3) % 7
    age = n_days - 1 - np.arange(n_days)
    day_weight = (0.5 ** (age / params.half_life_days))[None, :, None]
    h = max(1, round(params.smooth_minutes / bucket_minutes))
    finite = np.isfinite(grid)
    values = np.where(finite, grid, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        smooth = _slot_window_sum(values, h) / _slot_window_sum(finite.astype(float), h)

    # The median over same-weekday days of the smoothed curve sets the bar: an outage, even a
    # four-hour one, is one day in five and cannot move it. Observations above the bar are
    # dropped before the (unbiased) weighted mean is taken. The median of two days is their
    # mean, so a weekday seen fewer than three times uses the median over all days.
    median_all = _nanmedian_days(smooth)
    bar = np.empty_like(grid)
    for wd in range(7):
        days = day_weekday == wd
        median = _nanmedian_days(smooth[:, days, :])
        median = np.where(np.isfinite(smooth[:, days, :]).sum(axis=1) >= 3, median, median_all)
        bar[:, days, :] = (params.outlier_ratio * median + 3 * np.sqrt(median) + 2)[:, None, :]
    kept = finite & (values <= np.nan_to_num(bar, nan=np.inf))
    weight_sum = _slot_window_sum(np.where(kept, day_weight, 0.0), h)
    value_sum = _slot_window_sum(np.where(kept, day_weight * values, 0.0), h)

    # Cold start: with a day or two of history the time-of-day shape is mostly noise, so it
    # leans on the series' overall level; a slot nobody has seen yet gets that level outright.
    with np.errstate(invalid="ignore", divide="ignore"):
        level = (np.where(kept, values, 0).sum(axis=(1, 2))) / kept.sum(axis=(1, 2))

    def shape(use: np.ndarray) -> np.ndarray:
        return _weekly_shape(value_sum, weight_sum, finite, day_weekday, use, level, params)

    # Growth: the shape comes from the days before the last few, and its level is scaled to
    # those last days. Measured in-sample the ratio would be diluted by the recent days' own
    # weight in the shape, and the baseline would lag behind a growing service.
    recent_day = np.arange(n_days) > n_days - 1 - params.level_days
    older = shape(~recent_day)
    # The older part must hold every weekday, or the ratio mixes growth with the weekly rhythm.
    older_weekdays = [
        np.unique(day_weekday[~recent_day & finite[i].any(axis=1)]).size for i in range(n_series)
    ]
    has_older = np.asarray(older_weekdays) == 7
    fitted_older = older[:, weekday, slot]
    recent = valid & recent_day[d][None, :]
    recent &= np.nan_to_num(x) <= params.outlier_ratio * fitted_older + 3 * np.sqrt(fitted_older) + 2
    prior_mass = n_slots / 4  # six hours' worth of buckets damps the ratio on sparse series
    with np.errstate(invalid="ignore", divide="ignore"):
        level_ratio = (np.where(recent, x, 0).sum(axis=1) + prior_mass * floor) / (
            np.where(recent, fitted_older, 0).sum(axis=1) + prior_mass * floor
        )
    level_ratio = np.where(np.isfinite(level_ratio), np.clip(level_ratio, 0.5, 2.0), 1.0)
    expected = np.where(
        has_older[:, None, None], older * level_ratio[:, None, None], shape(np.ones(n_days, dtype=bool))
    )
    expected = np.maximum(expected, floor)

    # Dispersion is measured out of sample: each day against its weekday's profile built without
    # it. In sample, a day that ran 30% high has pulled its own baseline up and looks tame.
    left_out = np.full(grid.shape, np.nan)
    for wd in range(7):
        days = day_weekday == wd
        total_v = value_sum[:, days].sum(axis=1, keepdims=True)
        total_w = weight_sum[:, days].sum(axis=1, keepdims=True)
        rest = total_w - weight_sum[:, days]
        with np.errstate(invalid="ignore", divide="ignore"):
            left_out[:, days] = np.where(rest > 1e-6, (total_v - value_sum[:, days]) / rest, np.nan)
    usable = kept & np.isfinite(left_out)
    alpha, beta = _dispersion(
        values.reshape(n_series, -1),
        np.maximum(np.nan_to_num(left_out), floor).reshape(n_series, -1),
        usable.reshape(n_series, -1),
        bucket_minutes,
        params,
    )
    no_history = ~np.isfinite(level)
    expected[no_history] = np.nan
    return _squeeze(Profile(bucket_minutes, timezone, expected, alpha, beta), single)


def _weekly_shape(
    value_sum: np.ndarray,
    weight_sum: np.ndarray,
    finite: np.ndarray,
    day_weekday: np.ndarray,
    use: np.ndarray,
    level: np.ndarray,
    params: BaselineParams,
) -> np.ndarray:
    """(N, 7, S) expected counts from the days selected by ``use``, blended for cold start."""
    with np.errstate(invalid="ignore", divide="ignore"):
        shape_all = value_sum[:, use].sum(axis=1) / weight_sum[:, use].sum(axis=1)
    n_days_seen = finite[:, use].any(axis=2).sum(axis=1)[:, None].astype(float)
    shape_all = np.where(
        np.isfinite(shape_all),
        (n_days_seen * shape_all + params.prior_days * level[:, None]) / (n_days_seen + params.prior_days),
        level[:, None],
    )
    expected = np.empty((value_sum.shape[0], 7, value_sum.shape[2]))
    for wd in range(7):
        days = (day_weekday == wd) & use
        has_data = finite[:, days, :].any(axis=2).sum(axis=1)  # (N,)
        with np.errstate(invalid="ignore", divide="ignore"):
            shape_wd = value_sum[:, days].sum(axis=1) / weight_sum[:, days].sum(axis=1)
            factor = np.nansum(shape_wd, axis=1) / np.nansum(
                np.where(np.isfinite(shape_wd), shape_all, np.nan), axis=1
            )
        factor = np.where(np.isfinite(factor) & (factor > 0), factor, 1.0)[:, None]
        n = has_data[:, None].astype(float)
        prior = shape_all * factor
        blended = (n * shape_wd + params.prior_days * prior) / (n + params.prior_days)
        expected[:, wd, :] = np.where(np.isfinite(shape_wd), blended, prior)
    return np.where(np.isfinite(expected), expected, level[:, None, None])


def _dispersion(
    x: np.ndarray, mu: np.ndarray, ok: np.ndarray, bucket_minutes: int, params: BaselineParams
) -> tuple[np.ndarray, np.ndarray]:
    """Method-of-moments alpha (single buckets) and beta (hour sums), shrunk to the priors.

    E[(x - mu)^2 - mu] = alpha mu^2 for one bucket; for an hour's sum X of buckets with means
    mu_i, E[(X - M)^2 - M] = (alpha - beta) sum(mu_i^2) + beta M^2.
    """
    pseudo = 50.0
    a_num = np.where(ok, (x - mu) ** 2 - mu, 0).sum(axis=1)
    a_den = np.where(ok, mu**2, 0).sum(axis=1)
    alpha = (a_num + params.alpha_prior * pseudo) / (a_den + pseudo)
    alpha = np.clip(alpha, params.alpha_min, params.alpha_max)

    block = max(2, round(60 / bucket_minutes))
    usable = x.shape[1] // block * block
    shape = (x.shape[0], usable // block, block)
    whole = ok[:, :usable].reshape(shape).all(axis=2)
    big_x = x[:, :usable].reshape(shape).sum(axis=2)
    big_mu = mu[:, :usable].reshape(shape).sum(axis=2)
    sq_mu = (mu[:, :usable] ** 2).reshape(shape).sum(axis=2)
    b_num = np.where(whole, (big_x - big_mu) ** 2 - big_mu - alpha[:, None] * sq_mu, 0).sum(axis=1)
    b_den = np.where(whole, big_mu**2 - sq_mu, 0).sum(axis=1)
    beta = (b_num + params.beta_prior * pseudo) / (b_den + pseudo)
    return alpha, np.clip(beta, params.beta_min, alpha)


def _slot_window_sum(a: np.ndarray, h: int) -> np.ndarray:
    """Sum over slots s-h..s+h along the last axis (clipped at the day's edges)."""
    c = np.cumsum(np.pad(a, ((0, 0), (0, 0), (h + 1, h))), axis=2)
    return c[..., 2 * h + 1 :] - c[..., : -2 * h - 1]


def _nanmedian_days(a: np.ndarray) -> np.ndarray:
    """Median over axis 1 ignoring NaN; np.nanmedian is far slower on these small axes."""
    if a.shape[1] == 0:
        return np.full((a.shape[0], a.shape[2]), np.nan)
    ordered = np.sort(a, axis=1)  # NaN sorts last
    n = np.isfinite(a).sum(axis=1, keepdims=True)
    lo = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0), axis=1)
    hi = np.take_along_axis(ordered, np.minimum(n // 2, a.shape[1] - 1), axis=1)
    return np.where(n > 0, (lo + hi) / 2, np.nan)[:, 0, :]


def _squeeze(profile: Profile, single: bool) -> Profile:
    if not single:
        return profile
    return profile.series(0)


# --- score --------------------------------------------------------------------------------


def window_buckets(bucket_minutes: int, params: DetectParams = DetectParams()) -> tuple[int, ...]:
    return tuple(sorted({max(1, round(m / bucket_minutes)) for m in params.windows_minutes}))


def _trailing_sum(a: np.ndarray, w: int) -> np.ndarray:
    c = np.cumsum(a, axis=-1)
    out = c.copy()
    out[..., w:] = c[..., w:] - c[..., :-w]
    return out


# The smallest tail probability a score reports: scores are capped at 300.
MIN_TAIL = 1e-300


def _log10_tail(x: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """-log10 P(X >= x) for X negative binomial with this mean and variance."""
    n = mean**2 / np.maximum(var - mean, 1e-9 * mean**2)
    p = n / (n + mean)
    k = np.floor(x)
    # P(X >= k) = I_{1-p}(k, n): the regularised incomplete beta, computed in one call.
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = special.betainc(np.maximum(k, 1e-12), n, 1 - p)
        # A tail below what a float holds underflows to 0: the most surprising counts of all
        # (hundreds of reports on a baseline of one) must score high, not fall to 0 as inf.
        score = -np.log10(np.maximum(tail, MIN_TAIL))
    return np.where((k > 0) & np.isfinite(score), np.maximum(score, 0.0), 0.0)


def detect(
    counts: np.ndarray | Sequence[float],
    expected: np.ndarray | Sequence[float],
    alpha: np.ndarray | float,
    beta: np.ndarray | float | None = None,
    *,
    bucket_minutes: int,
    params: DetectParams = DetectParams(),
    threshold: np.ndarray | float | None = None,
) -> Detection:
    """Score every bucket against its baseline, causally, over the last axis.

    ``counts`` and ``expected`` are (..., T); ``alpha`` and ``beta`` are (...,) or (..., T)
    (``beta=None`` takes all dispersion as shared, the cautious choice). Pass at least the
    longest window (12 buckets of 5 minutes): the score at bucket t reads t and the buckets
    before it, nothing after. NaN ``expected`` (no baseline yet) scores 0.
    """
    x = np.asarray(counts, dtype=float)
    mu = np.asarray(expected, dtype=float)
    a = _per_bucket(alpha, x)
    b = a if beta is None else np.minimum(_per_bucket(beta, x), a)
    known = np.isfinite(mu)
    mu = np.where(known, mu, 0.0)
    x = np.where(known & np.isfinite(x), x, 0.0)
    rising_now = x > mu

    score = np.zeros(x.shape)
    window = np.zeros(x.shape, dtype=np.int64)
    windows = window_buckets(bucket_minutes, params)
    for w in windows:
        big_x, big_mu = _trailing_sum(x, w), _trailing_sum(mu, w)
        big_mu_safe = np.maximum(big_mu, 1e-9)
        var = big_mu_safe + _trailing_sum((a - b) * mu**2, w) + _trailing_sum(b, w) / w * big_mu**2
        s = _log10_tail(big_x, big_mu_safe, var)
        excess = big_x - big_mu
        # Longer windows only speak while the rise is still going on, or a finished outage
        # would keep the status red for an hour.
        ok = (excess >= params.min_excess) & (big_x >= params.min_ratio * big_mu)
        if w > 1:
            ok &= rising_now
        s = np.where(ok & known, s, 0.0)
        better = s > score
        score = np.where(better, s, score)
        window = np.where(better, w, window)
    longest = max(windows)
    excess = np.maximum(_trailing_sum(x, longest) - _trailing_sum(mu, longest), 0.0)
    bar = params.threshold if threshold is None else np.asarray(threshold)
    return Detection(score=score, is_spike=score >= bar, excess=excess, window=window)


def detect_sliding(
    counts: np.ndarray | Sequence[float],
    expected: np.ndarray | Sequence[float],
    alpha: np.ndarray | float,
    beta: np.ndarray | float | None = None,
    *,
    bucket_minutes: int,
    params: DetectParams = DetectParams(),
    threshold: np.ndarray | float | None = None,
) -> Detection:
    """``detect`` on sliding buckets, as the live pass runs it every minute.

    ``counts`` and ``expected`` are per minute, (..., T). The result at minute t is the score of
    the bucket of ``bucket_minutes`` ending at t (minutes t-b+1..t), with the buckets ending b,
    2b, ... minutes earlier as its longer windows: one ``detect`` call per phase (t mod b).
    ``alpha``, ``beta`` and ``threshold`` are (...,) or per minute (..., T). A bucket holding a
    minute with NaN ``expected``, and the first b-1 minutes (no full bucket yet), score 0.
    """
    b = bucket_minutes
    x = np.asarray(counts, dtype=float)
    mu = np.asarray(expected, dtype=float)
    known = np.isfinite(mu)
    sums = _trailing_sum(np.where(np.isfinite(x), x, 0.0), b)
    means = _trailing_sum(np.where(known, mu, 0.0), b)
    unknown = _trailing_sum((~known).astype(float), b) > 0
    unknown[..., : b - 1] = True
    means = np.where(unknown, np.nan, means)

    def phase_of(value, phase):
        if value is None:
            return None
        v = np.asarray(value)
        return v[..., phase::b] if v.ndim == x.ndim else v

    out = Detection(
        score=np.zeros(x.shape),
        is_spike=np.zeros(x.shape, dtype=bool),
        excess=np.zeros(x.shape),
        window=np.zeros(x.shape, dtype=np.int64),
    )
    for phase in range(min(b, x.shape[-1])):
        found = detect(
            sums[..., phase::b],
            means[..., phase::b],
            phase_of(alpha, phase),
            phase_of(beta, phase),
            bucket_minutes=b,
            params=params,
            threshold=phase_of(threshold, phase),
        )
        out.score[..., phase::b] = found.score
        out.is_spike[..., phase::b] = found.is_spike
        out.excess[..., phase::b] = found.excess
        out.window[..., phase::b] = found.window
    return out


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


def _per_bucket(value: np.ndarray | float, like: np.ndarray) -> np.ndarray:
    v = np.asarray(value, dtype=float)
    if v.ndim and v.ndim < like.ndim:
        v = v[..., None]
    return np.broadcast_to(np.clip(v, 1e-4, None), like.shape)


def status_tier(score: float, params: DetectParams = DetectParams()) -> str:
    if score >= params.threshold:
        return "outage"
    if score >= params.warning:
        return "warning"
    return "ok"


# --- replay -------------------------------------------------------------------------------


def replay_profiles(
    timestamps: np.ndarray | Sequence[int],
    series: np.ndarray,
    *,
    bucket_minutes: int,
    timezone: str,
    params: BaselineParams = BaselineParams(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected count, alpha and beta, each (N, T), for the rows of ``series`` (N, T), with the
    profiles rebuilt at every local midnight from the days before it only (NaN on the first day).
    """
    series = np.atleast_2d(np.asarray(series, dtype=float))
    day, weekday, slot = local_fields(timestamps, timezone=timezone, bucket_minutes=bucket_minutes)
    expected = np.full(series.shape, np.nan)
    alpha = np.full(series.shape, params.alpha_prior)
    beta = np.full(series.shape, params.beta_prior)
    day_starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    day_ends = np.r_[day_starts[1:], day.size]
    for start, end in zip(day_starts, day_ends, strict=True):
        if start == 0:
            continue
        lo = np.searchsorted(day, day[start] - params.history_days)
        profile = _profile_from_fields(
            day[lo:start],
            weekday[lo:start],
            slot[lo:start],
            series[:, lo:start],
            None,
            bucket_minutes,
            timezone,
            params,
        )
        expected[:, start:end] = profile.expected[:, weekday[start:end], slot[start:end]]
        alpha[:, start:end] = profile.alpha[:, None]
        beta[:, start:end] = profile.beta[:, None]
    return expected, alpha, beta


# --- the panel: every minute of a set of services, as the live pass and backtest see it ----


@dataclass(frozen=True)
class Panel:
    """What the detector says about S services and P (service, city) pairs over n minutes.

    Pure arrays: the live pass fills them from the count tables, `backtest` from a file, and
    outages.incidents turns them into incidents the same way for both.
    """

    score: np.ndarray  # (S, n) national score of the sliding bucket ending at each minute
    national_spike: np.ndarray  # (S, n) a held national spike
    flagged: np.ndarray  # (S, n) a held national spike, or a held spike in any city
    evidence_from: np.ndarray  # (S, n) index of the first minute of the window behind the score
    city_spike: np.ndarray  # (P, n) a held city spike (over its bar) in a city reporting this hour
    any_city: np.ndarray  # (S, n) some city of the service has a held spike
    aligned15: np.ndarray  # (S, n) reports since the start of the aligned 15-minute bucket
    bucket15_first: np.ndarray  # (n,) index of that bucket's first minute (may be < 0)
    excess: np.ndarray  # (S, n) reports above the baseline in each minute
    city_counts: np.ndarray  # (P, n) reports in each minute
    city_excess: np.ndarray  # (P, n)


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


def trailing_sum(a: np.ndarray, w: int) -> np.ndarray:
    """Sum of the last w values at each position of the last axis (fewer at the start)."""
    return _trailing_sum(np.asarray(a, dtype=float), w)


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
    params: DetectParams = DetectParams(),
) -> Panel:
    """Score per-minute series of services and their cities on sliding buckets.

    ``counts``/``expected`` are (S, n) per minute (expected NaN without a profile), the city
    arrays (P, n) with ``pair_service`` (P,) naming each pair's row. ``first_minute`` is the
    epoch minute of column 0 (the 15-minute buckets are aligned on the clock). Columns before
    ``scored_from`` are history only: they feed the windows but never score. Rows with
    ``national_rows``/``city_rows`` False are not scored (they cannot clear the bar).

    A city is one test of many: its bar rises with the cities of its service reporting in the
    last hour, and drops to the warning level where the national series already spikes.
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
    )
    recent = _trailing_sum(np.asarray(city_counts, dtype=float), 60) > 0
    n_cities = np.zeros((s, n))
    np.add.at(n_cities, pair_service, recent.astype(float))
    bar = city_bar(n_cities[pair_service], nat.is_spike[pair_service], params)
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
    )
    city_spike = hold(cit.is_spike, hold_minutes) & recent
    any_city = np.zeros((s, n), dtype=bool)
    np.logical_or.at(any_city, pair_service, city_spike)
    national_spike = hold(nat.is_spike, hold_minutes)
    flagged = national_spike | any_city

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
    evidence_from = np.where(flagged, np.clip(np.minimum(national_from, earliest_city), 0, idx), idx)

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
        city_counts=np.where(np.isfinite(city_counts), city_counts, 0.0),
        city_excess=np.where(np.isfinite(city_counts), city_counts, 0.0) - np.nan_to_num(city_expected),
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
    )
    first = max(scored_from - (hold - 1), 0)
    score[picked, first:] = found.score[:, first:]
    spike[picked, first:] = found.is_spike[:, first:]
    excess[picked, first:] = found.excess[:, first:]
    window[picked, first:] = found.window[:, first:]
    return Detection(score, spike, excess, window)


# --- the flood verdict: who is behind a spike -------------------------------------------------


@dataclass(frozen=True)
class FloodParams:
    # A spike whose three busiest sites (IPv6 /48, IPv4 /24) sent this share of its reports
    # comes from a few places (bots, one office, one /60 split into /64s), not a crowd.
    top_sites: int = 3
    site_share: float = 0.5
    # Operators the service hardly ever hears from (each below this usual share, hosting
    # networks typically) sending this share of a spike: bots on rented servers.
    rare_usual_share: float = 0.02
    rare_share: float = 0.5
    # One operator this concentrated, and this far above its usual share, is an ISP's
    # problem, not the service's...
    operator_share: float = 0.6
    operator_above_usual: float = 0.35
    operator_ratio: float = 2.0
    # ...unless one announced prefix of it is as concentrated against its own usual share:
    # one block of addresses (300 /24s of one /16) is far fewer networks than a crowd.
    prefix_share: float = 0.8
    prefix_above_usual: float = 0.5


@dataclass(frozen=True)
class SpikeReport:
    """One counted report behind a spike: its network hashes and operator ("" unknown)."""

    network: str  # /24 or /64
    site: str  # /48, or the /24 again
    prefix: str  # announced prefix hash, "" unknown
    operator: str  # operator name, "" unknown
    asn: int | None = None


@dataclass(frozen=True)
class OperatorShare:
    name: str
    asn: int | None
    share: float  # of the spike's reports
    usual_share: float | None  # of the service's usual reports; None without a learned mix
    reports: int = 0


@dataclass(frozen=True)
class FloodVerdict:
    """Whether a spike is an outage of the service (`holds` False), a flood, or an ISP's."""

    flood: bool = False
    why: str = ""  # "few_sites", "rare_operators", "one_prefix", "" (not a flood)
    isp: OperatorShare | None = None  # the operator a concentrated spike comes from
    reports: int = 0
    networks: int = 0
    sites: int = 0
    prefixes: int = 0
    operators: int = 0
    top_operators: tuple[OperatorShare, ...] = ()

    @property
    def holds(self) -> bool:
        """True when the spike must not open an incident or show as the service's outage."""
        return self.flood or self.isp is not None


def usual_mix(counts: Mapping[str, float]) -> dict[str, float]:
    """Shares from counts per key (operator or prefix) over a service's history."""
    total = float(sum(counts.values()))
    return {key: value / total for key, value in counts.items()} if total > 0 else {}


def flood_verdict(
    reports: Sequence[SpikeReport],
    *,
    usual_operators: Mapping[str, float],
    usual_prefixes: Mapping[str, float],
    params: FloodParams = FloodParams(),
) -> FloodVerdict:
    """The verdict on the counted reports behind a spike, from the distinct sites, prefixes
    and operators behind it and how its operator mix compares with the service's usual mix.

    With no reports (a replayed file has no networks) there is no evidence: not a flood.
    Without a learned mix (`usual_operators` empty) only the site rule can hold a spike.
    """
    n = len(reports)
    if n == 0:
        return FloodVerdict()
    sites = Counter(report.site or report.network for report in reports)
    operators = Counter(report.operator for report in reports)
    prefixes = Counter(report.prefix for report in reports if report.prefix)
    asn_of = {report.operator: report.asn for report in reports}
    learned = bool(usual_operators)

    def share_of(name: str, count: int) -> OperatorShare:
        usual = usual_operators.get(name, 0.0) if learned else None
        return OperatorShare(
            name=name, asn=asn_of.get(name), share=count / n, usual_share=usual, reports=count
        )

    top = tuple(share_of(name, count) for name, count in operators.most_common(5) if name)
    found = {
        "reports": n,
        "networks": len({report.network for report in reports}),
        "sites": len(sites),
        "prefixes": len(prefixes),
        "operators": len([name for name in operators if name]),
        "top_operators": top,
    }
    if sum(count for _, count in sites.most_common(params.top_sites)) >= params.site_share * n:
        return FloodVerdict(flood=True, why="few_sites", **found)
    if not learned:
        return FloodVerdict(**found)
    rare = sum(
        count for name, count in operators.items() if usual_operators.get(name, 0.0) < params.rare_usual_share
    )
    if rare >= params.rare_share * n:
        return FloodVerdict(flood=True, why="rare_operators", **found)
    if top:
        lead = top[0]
        usual = lead.usual_share or 0.0
        if (
            lead.share >= params.operator_share
            and lead.share >= usual + params.operator_above_usual
            and lead.share >= params.operator_ratio * usual
        ):
            if prefixes:
                prefix, count = prefixes.most_common(1)[0]
                share = count / n
                if (
                    share >= params.prefix_share
                    and share >= usual_prefixes.get(prefix, 0.0) + params.prefix_above_usual
                ):
                    return FloodVerdict(flood=True, why="one_prefix", **found)
            return FloodVerdict(isp=lead, **found)
    return FloodVerdict(**found)
