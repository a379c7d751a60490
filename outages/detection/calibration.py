"""Evidence calibration: what a score means on this series, judged by its own recent days.

The negative binomial score (``scoring``) is calibrated only for the noise it models. Real
series also burst: a single 5-minute bucket at six times the usual, a 30-minute block at a
hundred times a quiet level, busy days. On such a series a raw score of 5 ("one in 100,000")
comes every few days, not once in a year. Fitting the dispersion on every observation is not
the answer (one past outage then inflates it for weeks, and smooth series lose their
sensitivity), so the profile keeps its noise model and this layer sits on top of it.

For each series and each window of the detector, over the last ``days`` days of its history
scored against its new profile:

- ``M_d``: the day's largest raw score in that window (one number per day: a burst that
  lasts an hour is one excursion, not twelve);
- ``n``: the days whose ``M_d`` reached the threshold (5), and ``lam = (n - 1) / days`` their
  rate per day, one day discounted. Fewer than ``habit_days`` such days (two a week) are
  what outages look like, not the series' habit: the bars stay at the threshold, so that a
  few past outages never blind a series (a real service has far fewer; the bench has about
  four per series in four weeks). A series with fewer than ``days`` days of history is
  judged on the days it has: both the rate and the floor (two a week, and never under two
  days) are counted over them;
- ``m``: the scale of how far such days went past the threshold, from the lower median of
  their excesses ``M_d - 5`` (robust: the one outage among them does not set it), as the
  mean of an exponential tail (median / ln 2), and never below the nominal scale 1 / ln 10
  (one decimal digit of surprise per tenfold rarity);
- the bar: with excursions at rate ``lam`` per day whose sizes fall off as ``exp(-x / m)``,
  evidence above ``5 + m ln(lam * alarm_days)`` comes once in ``alarm_days`` days.

The one-bucket window learns sooner from *lone* excursions: one-bucket evidence over the
threshold with no 15-minute evidence at the warning level within ``lone_reach_minutes``
either side. Such a burst was over before it could last, so it is never an outage, and
``lone_days`` days with one (two) are a habit already; the one-bucket bar is the larger of
the two bars. A series that bursts for five minutes at a time then needs a rise to last a
quarter of an hour, or to be larger than its bursts, before it opens an incident.

The detector then reads a window's raw score in the series' own units, ``raw - (bar - 5)``:
a score of 5 is as rare on a bursty series as on a calm one, and a calm series keeps its full
sensitivity. The history includes earlier incidents on purpose: left out, the false alarms
this layer must learn from would never be seen. Robust counting (days, the habit floor, the
lower median) is what stops past outages from blinding the series for weeks, while they are
fewer than its other excursions; the outages a reviewer confirmed are left out of the history
(``profile_build(exclude=...)``, by the nightly rebuild), since they are not the habit.

Pure: no ORM, no clock. The nightly rebuild (outages.baselines) stores the bars with each
profile and ``replay_profiles`` recomputes them at every local midnight, from the same days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from outages.detection.scoring import DetectParams, window_buckets, window_scores


@dataclass(frozen=True)
class CalibrationParams:
    # The recent days whose evidence sets the bars.
    days: int = 28
    # A bar is set where the series' own evidence would cross it once in this many days.
    alarm_days: float = 60.0
    # Fewer days than this with evidence over the threshold are events, not a habit.
    habit_days: int = 8
    # A one-bucket excursion is lone when nothing lasting (the 15-minute window at the
    # warning level) came within this long either side of it; two days with one are a habit.
    lone_reach_minutes: int = 30
    lone_days: int = 2


def evidence_bars(
    counts: np.ndarray,
    expected: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    day: np.ndarray,
    *,
    bucket_minutes: int,
    detect: DetectParams = DetectParams(),
    params: CalibrationParams = CalibrationParams(),
) -> np.ndarray:
    """The bars (N, W) of N series, one per window of ``window_buckets`` (shortest first),
    from their bucket counts and expected counts (N, T) over consecutive buckets, their
    dispersions (N,) and each bucket's local day (T,). Missing counts (NaN) score 0."""
    x = np.atleast_2d(np.asarray(counts, dtype=float))
    mu = np.atleast_2d(np.asarray(expected, dtype=float))
    n_windows = len(window_buckets(bucket_minutes, detect))
    bars = np.full((x.shape[0], n_windows), detect.threshold)
    if x.shape[1] == 0:
        return bars
    recent = day > day.max() - params.days
    x, mu, day = x[:, recent], mu[:, recent], day[recent]
    d = day - day.min()
    n_days = int(d.max()) + 1
    a = np.broadcast_to(np.asarray(alpha, dtype=float), x.shape[:1])
    b = np.broadcast_to(np.asarray(beta, dtype=float), x.shape[:1])
    # A few series at a time: the windows' scores over weeks of buckets are large.
    for rows in np.array_split(np.arange(x.shape[0]), max(1, x.shape[0] // 64)):
        scores = [
            score
            for _, score in window_scores(
                x[rows], mu[rows], a[rows], b[rows], bucket_minutes=bucket_minutes, params=detect
            )
        ]
        for k, score in enumerate(scores):
            daily = np.zeros((rows.size, n_days))
            np.maximum.at(daily, (slice(None), d), score)  # type: ignore[arg-type]
            bars[rows, k] = [_bar(row, detect.threshold, params) for row in daily]
        if len(scores) > 1:  # scores[0] is the one-bucket window, scores[1] the next (15 minutes)
            lone = _lone(
                scores[0], scores[1], detect, reach=max(1, params.lone_reach_minutes // bucket_minutes)
            )
            daily = np.zeros((rows.size, n_days))
            np.maximum.at(daily, (slice(None), d), lone)  # type: ignore[arg-type]
            bars[rows, 0] = np.maximum(
                bars[rows, 0], [_bar(row, detect.threshold, params, habit=params.lone_days) for row in daily]
            )
    return bars


def _lone(short: np.ndarray, longer: np.ndarray, detect: DetectParams, reach: int) -> np.ndarray:
    """The one-bucket scores of lone excursions: over the threshold, with the next longer
    window under the warning level for ``reach`` buckets either side (nothing lasted around
    it: a burst, never an outage, nor an outage's first or last bucket)."""
    n = short.shape[-1]
    around = longer.copy()
    for step in range(1, reach + 1):
        around[..., : n - step] = np.maximum(around[..., : n - step], longer[..., step:])
        around[..., step:] = np.maximum(around[..., step:], longer[..., : n - step])
    return np.where((short >= detect.threshold) & (around < detect.warning), short, 0.0)


def _bar(
    daily_max: np.ndarray, threshold: float, params: CalibrationParams, habit: int | None = None
) -> float:
    """The bar for one series' daily largest scores (one per day of its history seen)."""
    # A young series (a new service; a replay's first weeks) is judged by the days it has:
    # the habit floor is a rate (``habit_days`` in ``days``), and so is ``lam``. Never fewer
    # than two days, since the first day over the threshold is discounted from the rate.
    seen = min(daily_max.size, params.days)
    floor = max(2, math.ceil((params.habit_days if habit is None else habit) * seen / params.days))
    over = np.sort(daily_max[daily_max >= threshold] - threshold)
    if over.size < floor:
        return threshold
    rate = (over.size - 1) / seen
    scale = max(float(over[(over.size - 1) // 2]) / math.log(2), 1 / math.log(10))
    return threshold + scale * math.log(rate * params.alarm_days)
