"""Seasonal profiles: the expected reports per local weekday and time-of-day slot of a series,
with its two dispersions, fitted on the history (``profile_build``, ``replay_profiles``) and
looked up for given moments (``profile_expected`` per bucket, ``expected_per_minute`` per
minute). Pure: no ORM, no clock.

A profile holds, per (local weekday, local slot), the expected count of one bucket, and two
dispersions: ``alpha``, the overdispersion of one bucket (negative binomial, variance =
mu + alpha * mu**2), and ``beta <= alpha``, the part of it that neighbouring buckets share (a
whole afternoon running 10% high), which is what limits long windows. ``counts`` may be 1-D
(one series) or 2-D ``(n_series, n_buckets)`` sharing the timestamps (all cities of a service
in one call). ``Profile.rows()`` / ``Profile.from_rows()`` turn it into plain numbers for the
database and back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from outages.detection.calendar import local_fields
from outages.detection.calibration import CalibrationParams, evidence_bars
from outages.detection.scoring import DetectParams, rest_ratio, window_buckets


@dataclass(frozen=True)
class BaselineParams:
    # Pool each slot with its neighbours up to this many minutes away: five weeks give only five
    # observations per weekday slot, too few for a robust mean.
    smooth_minutes: int = 30
    # Older weeks count less (half weight after this many days) so slow growth is followed.
    half_life_days: float = 14.0
    # Only this much history is read; older data has negligible weight anyway.
    history_days: int = 42
    # The level follows a robust (Theil-Sen) trend through each day's level over the whole
    # history, so growth does not lag by the weighted age, and a ramp an attacker builds over
    # a few days is a handful of outlying days, not the new normal. With fewer days seen than
    # this the trend is flat (the level is their median).
    trend_min_days: int = 14
    # The trend never moves the level by more than this per day (growth or decline): a noisy
    # slope carried a few weeks ahead stays bounded.
    trend_max: float = 0.01
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
class Profile:
    bucket_minutes: int
    timezone: str
    # (..., 7, slots_per_day): expected reports per bucket, weekday 0 = Monday, local time.
    # NaN where the series has no history at all.
    expected: NDArray[np.float64]
    # (...,): one bucket's negative binomial overdispersion, variance = mu + alpha * mu**2.
    alpha: NDArray[np.float64]
    # (...,): the part of alpha shared by neighbouring buckets (level uncertainty).
    beta: NDArray[np.float64]
    # (..., W): the series' calibrated bar for each window of the detector
    # (detection.calibration); None: uncalibrated, every bar is the threshold.
    bars: NDArray[np.float64] | None = None

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

    def expected_per_minute(self, epoch_minutes: np.ndarray | Sequence[int]) -> np.ndarray:
        """Expected reports in each of these epoch minutes, in the profile's own time zone:
        ``expected_per_minute`` on this profile."""
        return expected_per_minute(
            self.expected, epoch_minutes, timezone=self.timezone, bucket_minutes=self.bucket_minutes
        )

    def series(self, index: int) -> Profile:
        """The profile of one row of a multi-series build."""
        return Profile(
            self.bucket_minutes,
            self.timezone,
            self.expected[index],
            self.alpha[index],
            self.beta[index],
            None if self.bars is None else self.bars[index],
        )


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
    beside: np.ndarray | Sequence[int] | None = None,
) -> Profile:
    """Seasonal profile from history. ``exclude`` (bool, like ``counts``) drops known outages
    (live, those a reviewer confirmed) from everything it learns: the profile, its noise model
    and its calibrated bars.

    Missing buckets in the history mean "no data", not zero: pass zero counts explicitly.
    ``beside`` (N,) names, for each row that is a city, the row of its service (-1 for the
    others): a city's bars are learned from its rise beyond its service's (``rest_ratio``).
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
        beside,
    )


def profile_expected(
    profile: Profile, timestamps: np.ndarray | Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected count (..., T), alpha (...,) and beta (...,) for UTC bucket starts."""
    expected = _slot_values(
        profile.expected, timestamps, timezone=profile.timezone, bucket_minutes=profile.bucket_minutes
    )
    return expected, np.asarray(profile.alpha), np.asarray(profile.beta)


def expected_per_minute(
    expected: np.ndarray,
    epoch_minutes: np.ndarray | Sequence[int],
    *,
    timezone: str,
    bucket_minutes: int,
) -> np.ndarray:
    """Expected reports in each epoch minute (..., T), from a profile's expected bucket counts
    (..., 7, slots) in local time: the count of the local slot holding the minute, spread
    evenly over its ``bucket_minutes``. NaN where the profile has no history.

    ``expected`` is a ``Profile.expected`` or a stored profile as decoded (7, slots). The
    division stays in its dtype: a stored float32 profile gives float32 values, which is what
    the detection pass has always scored.
    """
    seconds = np.asarray(epoch_minutes, dtype=np.int64) * 60
    return _slot_values(expected, seconds, timezone=timezone, bucket_minutes=bucket_minutes) / bucket_minutes


def _slot_values(
    expected: np.ndarray, timestamps: np.ndarray | Sequence[int], *, timezone: str, bucket_minutes: int
) -> np.ndarray:
    """The (..., 7, slots) profile's value at the local (weekday, slot) of each UTC moment."""
    _, weekday, slot = local_fields(timestamps, timezone=timezone, bucket_minutes=bucket_minutes)
    return np.asarray(expected)[..., weekday, slot]


def _profile_from_fields(
    day: np.ndarray,
    weekday: np.ndarray,
    slot: np.ndarray,
    counts: np.ndarray,
    exclude: np.ndarray | None,
    bucket_minutes: int,
    timezone: str,
    params: BaselineParams,
    beside: np.ndarray | Sequence[int] | None = None,
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

    # Growth: each day's level against the whole history's shape (each day's reports over what
    # the shape expected for them; three hours' worth of buckets at the floor damp a day's
    # ratio on sparse series), and a robust trend through those levels, carried to the day
    # the profile is for. The shape's own level, which lags (recent days weigh more, but not
    # all), cancels out: only the days' ratios to it and their trend set the level.
    reference = shape(np.ones(n_days, dtype=bool))
    fitted_ref = reference[:, weekday, slot]
    countable = valid & (np.nan_to_num(x) <= params.outlier_ratio * fitted_ref + 3 * np.sqrt(fitted_ref) + 2)
    prior_mass = n_slots / 8
    day_cell = np.arange(n_series)[:, None] * n_days + d[None, :]
    observed = np.bincount(day_cell[countable], weights=x[countable], minlength=n_series * n_days)
    fitted = np.bincount(day_cell[countable], weights=fitted_ref[countable], minlength=n_series * n_days)
    seen = np.bincount(day_cell[countable], minlength=n_series * n_days).reshape(n_series, n_days) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        day_ratio = (observed.reshape(n_series, n_days) + prior_mass * floor) / (
            fitted.reshape(n_series, n_days) + prior_mass * floor
        )
    log_ratio = np.where(seen & np.isfinite(day_ratio) & (day_ratio > 0), np.log(day_ratio), np.nan)
    level_ratio = np.exp(_robust_trend_at(log_ratio, n_days, params))
    level_ratio = np.where(np.isfinite(level_ratio), np.clip(level_ratio, 0.5, 2.0), 1.0)
    expected = reference * level_ratio[:, None, None]
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
    # The bars are set on every observation of the recent days but the known outages, bursts
    # and false alarms included (see detection.calibration), against the profile just built.
    recent_cells = slice(max(n_days - CalibrationParams().days, 0), n_days)
    history = grid[:, recent_cells].reshape(n_series, -1)
    usual = expected[:, day_weekday[recent_cells], :].reshape(n_series, -1)
    if beside is not None:
        usual = _usual_beside_rest(usual, history, np.asarray(beside, dtype=np.int64))
    bars = evidence_bars(
        history,
        usual,
        alpha,
        beta,
        np.repeat(np.arange(n_days)[recent_cells], n_slots),
        bucket_minutes=bucket_minutes,
    )
    no_history = ~np.isfinite(level)
    expected[no_history] = np.nan
    return _squeeze(Profile(bucket_minutes, timezone, expected, alpha, beta, bars), single)


def _usual_beside_rest(usual: np.ndarray, history: np.ndarray, beside: np.ndarray) -> np.ndarray:
    """The usual counts (N, T) a calibration reads: a city's (a row whose ``beside`` names
    its service's row) times the rest of its service's ratio in each bucket, as the city is
    scored (``panel_detect``); so the bursts of the whole service, which its own bars
    absorb, do not teach the city's bars too. Other rows as they are."""
    cities = np.flatnonzero(beside >= 0)
    if not cities.size:
        return usual
    out = usual.copy()
    service = beside[cities]
    out[cities] *= rest_ratio(history[service] - history[cities], usual[service] - usual[cities])
    return out


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


def _robust_trend_at(y: np.ndarray, at: float, params: BaselineParams) -> np.ndarray:
    """Theil-Sen line through y (N, D) over days 0..D-1 (NaN: unseen), evaluated at day `at`:
    the median of the slopes between every pair of seen days (clipped to params.trend_max;
    flat with fewer than params.trend_min_days seen), then the median intercept."""
    n_days = y.shape[1]
    i, j = np.triu_indices(n_days, k=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slopes = (y[:, j] - y[:, i]) / (j - i)
    slope = _nanmedian_days(slopes[:, :, None])[:, 0]
    enough = np.isfinite(y).sum(axis=1) >= params.trend_min_days
    slope = np.where(enough & np.isfinite(slope), np.clip(slope, -params.trend_max, params.trend_max), 0.0)
    days = np.arange(n_days)[None, :]
    intercept = _nanmedian_days((y - slope[:, None] * days)[:, :, None])[:, 0]
    return intercept + slope * at


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


def replay_profiles(
    timestamps: np.ndarray | Sequence[int],
    series: np.ndarray,
    *,
    bucket_minutes: int,
    timezone: str,
    params: BaselineParams = BaselineParams(),
    beside: np.ndarray | Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Expected count, alpha and beta, each (N, T), and the calibrated bars (N, T, W), for
    the rows of ``series`` (N, T), with the profiles rebuilt at every local midnight from the
    days before it only (NaN expected and uncalibrated bars on the first day). ``beside`` as
    for ``profile_build``.
    """
    series = np.atleast_2d(np.asarray(series, dtype=float))
    day, weekday, slot = local_fields(timestamps, timezone=timezone, bucket_minutes=bucket_minutes)
    expected = np.full(series.shape, np.nan)
    alpha = np.full(series.shape, params.alpha_prior)
    beta = np.full(series.shape, params.beta_prior)
    n_windows = len(window_buckets(bucket_minutes))
    bars = np.full((*series.shape, n_windows), DetectParams().threshold)
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
            beside,
        )
        expected[:, start:end] = profile.expected[:, weekday[start:end], slot[start:end]]
        alpha[:, start:end] = profile.alpha[:, None]
        beta[:, start:end] = profile.beta[:, None]
        if profile.bars is not None:
            bars[:, start:end] = profile.bars[:, None, :]
    return expected, alpha, beta, bars
