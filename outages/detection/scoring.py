"""The score: how surprising recent counts are against their baseline, over several trailing
windows, as decimal digits of surprise (a negative binomial tail), and the status tier a score
gives. Pure: no ORM, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import special

TIERS = ("ok", "warning", "outage")


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
class Detection:
    score: NDArray[np.float64]  # (..., T), >= 0
    is_spike: NDArray[np.bool_]  # (..., T)
    excess: NDArray[np.float64]  # (..., T) reports above baseline over the longest window, >= 0
    window: NDArray[np.int64] = field(repr=False)  # (..., T) buckets in the deciding window, 0 if none


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

    def phase_of(value: np.ndarray | float, phase: int) -> np.ndarray:
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
            None if beta is None else phase_of(beta, phase),
            bucket_minutes=b,
            params=params,
            threshold=None if threshold is None else phase_of(threshold, phase),
        )
        out.score[..., phase::b] = found.score
        out.is_spike[..., phase::b] = found.is_spike
        out.excess[..., phase::b] = found.excess
        out.window[..., phase::b] = found.window
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


def trailing_sum(a: np.ndarray, w: int) -> np.ndarray:
    """Sum of the last w values at each position of the last axis (fewer at the start)."""
    return _trailing_sum(np.asarray(a, dtype=float), w)
