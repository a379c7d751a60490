"""The score: how surprising recent counts are against their baseline, over several trailing
windows, as decimal digits of surprise (a negative binomial tail), and the status tier a score
gives. Pure: no ORM, no clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
    # Persistence: a window longer than one bucket speaks only while most of its buckets are
    # elevated (`persistent_buckets`), so a burst shorter than half the window cannot carry
    # it; an outage raises every bucket it covers.
    persistence: bool = True


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


def window_scores(
    counts: np.ndarray | Sequence[float],
    expected: np.ndarray | Sequence[float],
    alpha: np.ndarray | float,
    beta: np.ndarray | float | None = None,
    *,
    bucket_minutes: int,
    params: DetectParams = DetectParams(),
) -> Iterator[tuple[int, np.ndarray]]:
    """(window in buckets, raw score of that window at every bucket), shortest window first:
    the negative binomial tail of the trailing window's sum, kept only where the window's
    excess and ratio clear ``min_excess`` and ``min_ratio`` (and, for windows longer than
    one bucket, while the last bucket is still above its baseline). ``detect`` takes the
    best of them; ``detection.calibration`` reads them over a series' history.

    With ``persistence``, a window longer than one bucket also needs ``persistent_buckets``
    of its buckets elevated (``min_ratio`` times their expected count, and above it)."""
    x = np.asarray(counts, dtype=float)
    mu = np.asarray(expected, dtype=float)
    a = _per_bucket(alpha, x)
    b = a if beta is None else np.minimum(_per_bucket(beta, x), a)
    known = np.isfinite(mu)
    mu = np.where(known, mu, 0.0)
    x = np.where(known & np.isfinite(x), x, 0.0)
    rising_now = x > mu
    elevated = bucket_elevated(x, mu, params).astype(float)
    for w in window_buckets(bucket_minutes, params):
        big_x, big_mu = _trailing_sum(x, w), _trailing_sum(mu, w)
        # Longer windows only speak while the rise is still going on, or a finished outage
        # would keep the status red for an hour.
        ok = window_raised(big_x, big_mu, params) & known
        if w > 1:
            ok &= rising_now
            if params.persistence:
                ok &= _trailing_sum(elevated, w) >= persistent_buckets(w)
        # The tail is computed where the window can speak only: most buckets cannot.
        s = np.zeros(x.shape)
        s[ok] = _window_tail(
            big_x[ok], big_mu[ok], _trailing_sum((a - b) * mu**2, w)[ok], _trailing_sum(b, w)[ok] / w
        )
        yield w, s


def _window_tail(count: np.ndarray, big_mu: np.ndarray, own: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """The score (-log10 of the negative binomial tail) of `count` reports over a window
    expecting `big_mu`: its variance is Poisson, plus each bucket's own dispersion (`own`,
    the sum of (alpha - beta) mu^2 over its buckets), plus the dispersion its buckets share
    (`shared`, beta, times big_mu^2)."""
    mean = np.maximum(big_mu, 1e-9)
    return _log10_tail(count, mean, mean + own + shared * big_mu**2)


def window_raised(
    counts: np.ndarray | float, expected: np.ndarray | float, params: DetectParams = DetectParams()
) -> np.ndarray:
    """Whether a window's reports are up enough for it to speak at all: ``min_excess`` above
    its expected count and ``min_ratio`` times it. Element-wise (a 0-d array for one count)."""
    x, mu = np.asarray(counts, dtype=float), np.asarray(expected, dtype=float)
    return np.asarray((x - mu >= params.min_excess) & (x >= params.min_ratio * mu))


def rest_ratio(
    rest_counts: np.ndarray, rest_usual: np.ndarray, params: DetectParams = DetectParams()
) -> np.ndarray:
    """How many times its usual the rest of a city's service (its reports outside the city)
    runs in a bucket where it is raised (``window_raised``), else 1: what a city's usual is
    multiplied by before the city is scored, so that a rise of the whole service, seen in
    the city at its share, is no evidence of the city's own (docs/detection.md, section 5).
    A rest at its usual, noise included, leaves the city's usual as it is: a regional outage
    is tested as it always was. Unknown counts (NaN) leave it at 1."""
    x = np.asarray(rest_counts, dtype=float)
    mu = np.asarray(rest_usual, dtype=float)
    with np.errstate(invalid="ignore"):  # NaN compares False: not raised
        raised = window_raised(x, mu, params) & (mu > 0)
    return np.divide(x, mu, out=np.ones(np.broadcast_shapes(x.shape, mu.shape)), where=raised)


def count_spikes(
    count: float,
    expected: np.ndarray,
    alpha: float,
    beta: float | None = None,
    *,
    bucket_minutes: int,
    params: DetectParams = DetectParams(),
    bars: Sequence[float] | None = None,
) -> bool:
    """Whether `count` reports over a window whose expected reports per minute are `expected`
    would be a spike by themselves: raised (``window_raised``) and at the threshold, or at
    the series' calibrated bar (`bars`, one per detector window: the longest detector window
    that fits in this one), scored as ``window_scores`` scores a window of the window's
    buckets (the minutes cut into buckets from the end). Without a known expected count
    there is nothing to compare."""
    mu = np.asarray(expected, dtype=float)
    if mu.size == 0 or not np.isfinite(mu).all():
        return False
    big_mu = float(mu.sum())
    if not window_raised(count, big_mu, params):
        return False
    a = float(alpha)
    b = a if beta is None else min(float(beta), a)
    per_bucket = np.add.reduceat(mu[::-1], np.arange(0, mu.size, bucket_minutes))
    score = _window_tail(
        np.array([count]),
        np.array([big_mu]),
        np.array([(a - b) * float((per_bucket**2).sum())]),
        np.array([b]),
    )[0]
    needed = params.threshold
    if bars is not None:
        fits = [
            bar
            for w, bar in zip(window_buckets(bucket_minutes, params), bars, strict=True)
            if w <= per_bucket.size
        ]
        needed = max(needed, fits[-1])  # the one-bucket window always fits
    return bool(score >= needed)


def bucket_elevated(
    counts: np.ndarray, expected: np.ndarray, params: DetectParams = DetectParams()
) -> np.ndarray:
    """Which buckets are elevated: above their expected count and ``min_ratio`` times it.
    What persistence counts, and the run an incident's rise is read from."""
    return (counts > expected) & (counts >= params.min_ratio * expected)


def persistent_buckets(w: int) -> int:
    """How many of a window's w buckets must be elevated (``min_ratio`` times their expected
    count) for the window to speak: more than half, plus one, since on sliding buckets a
    five-minute burst straddles two of them (all three of a 15-minute window)."""
    return min(w, w // 2 + 2)


def detect(
    counts: np.ndarray | Sequence[float],
    expected: np.ndarray | Sequence[float],
    alpha: np.ndarray | float,
    beta: np.ndarray | float | None = None,
    *,
    bucket_minutes: int,
    params: DetectParams = DetectParams(),
    threshold: np.ndarray | float | None = None,
    bars: Sequence[np.ndarray | float] | None = None,
    one_bucket_void: np.ndarray | None = None,
) -> Detection:
    """Score every bucket against its baseline, causally, over the last axis.

    ``counts`` and ``expected`` are (..., T); ``alpha`` and ``beta`` are (...,) or (..., T)
    (``beta=None`` takes all dispersion as shared, the cautious choice). Pass at least the
    longest window (12 buckets of 5 minutes): the score at bucket t reads t and the buckets
    before it, nothing after. NaN ``expected`` (no baseline yet) scores 0.

    ``bars`` (one per window of ``window_buckets``, each (...,) or (..., T)) are the series'
    calibrated bars (``detection.calibration``): a window's raw score is read in the series'
    own units, ``raw - (bar - threshold)``, so that a score of 5 is as rare on a bursty series
    as on a calm one. None: every bar is the threshold (the raw score).

    ``one_bucket_void`` (..., T), where True, silences the one-bucket window at that bucket
    (a city while the rest of its service is raised: ``panel._rest_of_service``).
    """
    x = np.asarray(counts, dtype=float)
    score = np.zeros(x.shape)
    window = np.zeros(x.shape, dtype=np.int64)
    for k, (w, s) in enumerate(
        window_scores(counts, expected, alpha, beta, bucket_minutes=bucket_minutes, params=params)
    ):
        if bars is not None:
            s = np.maximum(s - (np.maximum(_broadcast(bars[k], x), params.threshold) - params.threshold), 0.0)
        if w == 1 and one_bucket_void is not None:
            s = np.where(one_bucket_void, 0.0, s)
        better = s > score
        score = np.where(better, s, score)
        window = np.where(better, w, window)
    longest = max(window_buckets(bucket_minutes, params))
    mu = np.asarray(expected, dtype=float)
    known = np.isfinite(mu)
    x0 = np.where(known & np.isfinite(x), x, 0.0)
    excess = np.maximum(_trailing_sum(x0, longest) - _trailing_sum(np.where(known, mu, 0.0), longest), 0.0)
    spike_bar = params.threshold if threshold is None else np.asarray(threshold)
    return Detection(score=score, is_spike=score >= spike_bar, excess=excess, window=window)


def detect_sliding(
    counts: np.ndarray | Sequence[float],
    expected: np.ndarray | Sequence[float],
    alpha: np.ndarray | float,
    beta: np.ndarray | float | None = None,
    *,
    bucket_minutes: int,
    params: DetectParams = DetectParams(),
    threshold: np.ndarray | float | None = None,
    bars: Sequence[np.ndarray | float] | None = None,
    one_bucket_void: np.ndarray | None = None,
    usual_scale: np.ndarray | None = None,
) -> Detection:
    """``detect`` on sliding buckets, as the live pass runs it every minute.

    ``counts`` and ``expected`` are per minute, (..., T). The result at minute t is the score of
    the bucket of ``bucket_minutes`` ending at t (minutes t-b+1..t), with the buckets ending b,
    2b, ... minutes earlier as its longer windows: one ``detect`` call per phase (t mod b).
    ``alpha``, ``beta``, ``threshold`` and each of ``bars`` are (...,) or per minute (..., T),
    ``one_bucket_void`` per minute (the bucket ending at it). A bucket holding a minute with
    NaN ``expected``, and the first b-1 minutes (no full bucket yet), score 0.
    ``usual_scale`` (..., T) multiplies the expected count of the bucket ending at each
    minute (a city's usual beside the rest of its service: ``rest_ratio``).
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
    if usual_scale is not None:
        means = means * usual_scale

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
            bars=None if bars is None else [phase_of(bar, phase) for bar in bars],
            one_bucket_void=None if one_bucket_void is None else phase_of(one_bucket_void, phase),
        )
        out.score[..., phase::b] = found.score
        out.is_spike[..., phase::b] = found.is_spike
        out.excess[..., phase::b] = found.excess
        out.window[..., phase::b] = found.window
    return out


def _broadcast(value: np.ndarray | float, like: np.ndarray) -> np.ndarray:
    """A per-series (...,) or per-bucket (..., T) value as (..., T)."""
    v = np.asarray(value, dtype=float)
    if v.ndim and v.ndim < like.ndim:
        v = v[..., None]
    return np.broadcast_to(v, like.shape)


def _per_bucket(value: np.ndarray | float, like: np.ndarray) -> np.ndarray:
    return np.clip(_broadcast(value, like), 1e-4, None)


# The status's memory: a tier the evidence reached (held for SPIKE_HOLD minutes) stays for
# this many minutes after it last held, so a steady event does not flap minute to minute.
STATUS_MEMORY_MINUTES = 10


def evidence_tiers(
    score: np.ndarray, *, hold_minutes: int, params: DetectParams = DetectParams()
) -> np.ndarray:
    """The status tier (an index into TIERS) the evidence gives at each minute of per-minute
    scores (..., T), with hysteresis both ways: a tier is reached once the score has been at
    its level ``hold_minutes`` minutes running, and left only when that has not been so for
    STATUS_MEMORY_MINUTES. The first STATUS_MEMORY_MINUTES + hold_minutes columns are read
    as history: pass that many minutes before the first tier needed."""
    s = np.asarray(score, dtype=float)
    tiers = np.zeros(s.shape, dtype=np.int64)
    for tier, level in ((1, params.warning), (2, params.threshold)):
        held = s >= level
        for back in range(1, hold_minutes):
            held[..., back:] &= s[..., :-back] >= level
            held[..., :back] = False
        remembered = held.copy()
        for back in range(1, STATUS_MEMORY_MINUTES):
            remembered[..., back:] |= held[..., :-back]
        tiers = np.where(remembered, tier, tiers)
    return tiers


def status_tier(score: float, params: DetectParams = DetectParams()) -> str:
    if score >= params.threshold:
        return "outage"
    if score >= params.warning:
        return "warning"
    return "ok"


def trailing_sum(a: np.ndarray, w: int) -> np.ndarray:
    """Sum of the last w values at each position of the last axis (fewer at the start)."""
    return _trailing_sum(np.asarray(a, dtype=float), w)
