"""Detection quality: our detector against well-known peers on the same synthetic series.

    .venv/bin/python -m bench.detection_quality [--services 40] [--seed 20260324]

The adtk peer runs when adtk is importable (pip install -r bench/requirements.txt in a separate
venv, see docs/benchmarks.md); otherwise it is skipped with a note.

Every detector sees the national series and the eight city series of each service and raises an
alarm when the national series or any city is flagged (that is when an incident would open).
The first week is history only: events in it test robustness of the baseline, and nothing in it
is scored. Definitions are in docs/benchmarks.md, "Detection quality".
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bench.series import CITIES, Series, generate
from outages import detection

BUCKET = 5
TIMEZONE = "Europe/Rome"
WARMUP_DAYS = 7
OBSERVABLE_EXCESS = 20  # reports an outage adds before anyone could call it one
CITY_TRUTH_EXCESS = 10  # a city is affected by a national outage if it gained this many reports
MERGE_GAP = 6  # alarms closer than 30 minutes are one alarm
TAIL = 12  # alarms up to an hour after an outage ends still belong to it

Flags = tuple[np.ndarray, np.ndarray]  # (national (T,), cities (C, T)) booleans


def ours(series: Series) -> Flags:
    result = detection.backtest(
        series.timestamps,
        series.counts,
        bucket_minutes=BUCKET,
        timezone=TIMEZONE,
        city_counts=series.city_counts,
        city_names=CITIES,
    )
    cities = np.zeros(series.city_counts.shape, dtype=bool)
    for t, names in enumerate(result.cities):
        for name in names:
            cities[CITIES.index(name), t] = True
    return result.is_spike, cities


def _trailing_mean_std(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the `window` buckets before each bucket (the bucket itself excluded)."""
    c1 = np.cumsum(np.pad(x, ((0, 0), (window + 1, 0))), axis=1)
    c2 = np.cumsum(np.pad(x**2, ((0, 0), (window + 1, 0))), axis=1)
    n = np.minimum(np.arange(x.shape[1]), window)
    s1 = c1[:, window:-1] - c1[:, : -window - 1]
    s2 = c2[:, window:-1] - c2[:, : -window - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        std = np.sqrt(np.maximum(s2 / n - mean**2, 0))
    return mean, std


def _both(rule: Callable[[np.ndarray], np.ndarray]) -> Callable[[Series], Flags]:
    def run(series: Series) -> Flags:
        flags = rule(np.vstack([series.counts[None, :], series.city_counts]))
        return flags[0], flags[1:]

    return run


@_both
def fixed_threshold(x: np.ndarray) -> np.ndarray:
    """Three times the trailing 7-day mean, and at least 5 reports."""
    mean, _ = _trailing_mean_std(x, 7 * 288)
    return (x >= 3 * mean) & (x >= 5)


@_both
def rolling_zscore(x: np.ndarray) -> np.ndarray:
    """z > 4 against the trailing 2 hours, and at least 5 reports above their mean."""
    mean, std = _trailing_mean_std(x, 24)
    z = (x - mean) / np.maximum(std, 1.0)
    return (z > 4) & (x - mean >= 5)


def adtk_seasonal(series: Series) -> Flags:
    """adtk SeasonalAD (daily period, c=3, rises only), refitted weekly on the last two weeks."""
    import pandas as pd
    from adtk.detector import SeasonalAD

    x = np.vstack([series.counts[None, :], series.city_counts])
    index = pd.to_datetime(series.timestamps, unit="s", utc=True).tz_localize(None)
    flags = np.zeros(x.shape, dtype=bool)
    week = 7 * 288
    for start in range(WARMUP_DAYS * 288, x.shape[1], week):
        fit_from = max(0, start - 2 * week)
        for row in range(x.shape[0]):
            s = pd.Series(x[row], index=index).asfreq("5min")
            model = SeasonalAD(freq=288, c=3.0, side="positive")
            try:
                model.fit(s.iloc[fit_from:start])
                found = model.detect(s.iloc[fit_from : start + week])
            except (RuntimeError, ValueError):
                continue
            found = found.iloc[start - fit_from :].fillna(False).to_numpy(dtype=bool)
            flags[row, start : start + found.size] = found
    return flags[0], flags[1:]


@dataclass
class Score:
    detected: list[bool] = field(default_factory=list)
    observable: list[bool] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)  # true start minute -> flagged bucket closes
    bucket_delays: list[float] = field(default_factory=list)  # outage's first bucket -> flagged one
    jaccard: list[float] = field(default_factory=list)
    false_alarms: int = 0
    false_by_cause: dict[str, int] = field(default_factory=dict)
    weeks: float = 0.0
    seconds: float = 0.0


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    idx = np.flatnonzero(flags)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > MERGE_GAP + 1)
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def evaluate(series: Series, national: np.ndarray, cities: np.ndarray, score: Score) -> None:
    first = WARMUP_DAYS * 1440 // BUCKET
    alarm = national | cities.any(axis=0)
    score.weeks += (alarm.size - first) * BUCKET / (7 * 1440)
    outages = [e for e in series.events if e.kind in ("outage", "regional")]
    for event in outages:
        if event.start_minute < first * BUCKET:
            continue
        lo, hi = event.start_minute // BUCKET, (event.end_minute - 1) // BUCKET
        hits = np.flatnonzero(alarm[lo : hi + 1])
        score.detected.append(hits.size > 0)
        observable = event.expected_excess >= OBSERVABLE_EXCESS
        score.observable.append(observable)
        if hits.size == 0 or not observable:
            continue
        score.delays.append((lo + hits[0] + 1) * BUCKET - event.start_minute)
        score.bucket_delays.append(hits[0] * BUCKET)
        if event.kind == "regional":
            truth = set(event.cities)
        else:
            truth = {i for i, gain in enumerate(event.city_excess) if gain >= CITY_TRUTH_EXCESS}
        named = set(np.flatnonzero(cities[:, lo : hi + 1].any(axis=1)).tolist())
        if truth or named:
            score.jaccard.append(len(truth & named) / len(truth | named))
    for start, end in _runs(alarm):
        if start < first:
            continue
        near = [
            e
            for e in outages
            if start <= (e.end_minute - 1) // BUCKET + TAIL and end >= e.start_minute // BUCKET
        ]
        if near:
            continue
        score.false_alarms += 1
        cause = "other"
        for e in series.events:
            if e.kind in ("media", "blip") and (
                start <= (e.end_minute - 1) // BUCKET + TAIL and end >= e.start_minute // BUCKET
            ):
                cause = e.kind
        score.false_by_cause[cause] = score.false_by_cause.get(cause, 0) + 1


def _row(name: str, s: Score) -> str:
    detected = np.asarray(s.detected)
    observable = np.asarray(s.observable, dtype=bool)
    recall = detected[observable].mean() if observable.any() else float("nan")
    recall_all = detected.mean() if detected.size else float("nan")
    fa = s.false_alarms / s.weeks
    delays = np.asarray(s.delays)
    med = np.median(delays) if delays.size else float("nan")
    p90 = np.percentile(delays, 90) if delays.size else float("nan")
    in_buckets = np.median(s.bucket_delays) if s.bucket_delays else float("nan")
    jac = np.mean(s.jaccard) if s.jaccard else float("nan")
    causes = ", ".join(f"{k} {v}" for k, v in sorted(s.false_by_cause.items())) or "-"
    return (
        f"| {name} | {recall:.3f} | {recall_all:.3f} | {fa:.3f} | {med:.1f} | {p90:.1f} | {in_buckets:.0f} "
        f"| {jac:.3f} | {causes} | {s.seconds:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20260324)
    args = parser.parse_args()

    all_series = generate(seed=args.seed, services=args.services)
    detectors: dict[str, Callable[[Series], Flags]] = {
        "downradar": ours,
        "fixed threshold (3x 7-day mean)": fixed_threshold,
        "rolling z-score (2 h, z>4)": rolling_zscore,
    }
    try:
        import adtk  # noqa: F401

        detectors["adtk SeasonalAD (daily, c=3)"] = adtk_seasonal
    except ImportError:
        print("adtk is not installed: its row is skipped (pip install -r bench/requirements.txt)")

    events = [e for s in all_series for e in s.events if e.kind in ("outage", "regional")]
    scored = [e for e in events if e.start_minute >= WARMUP_DAYS * 1440]
    print(
        f"{len(all_series)} services x 35 days of {BUCKET}-minute buckets ({TIMEZONE}, DST on "
        f"29 March), seed {args.seed}: {len(scored)} scored outages "
        f"({sum(e.expected_excess >= OBSERVABLE_EXCESS for e in scored)} observable), "
        f"{len(events) - len(scored)} more inside the first week's history, "
        f"{sum(e.kind == 'media' for s in all_series for e in s.events)} media bumps, "
        f"{sum(e.kind == 'blip' for s in all_series for e in s.events)} stray blips"
    )
    print()
    print(
        "| detector | recall (observable) | recall (all >=3x) | false alarms / series-week "
        "| median delay min | p90 delay min | median delay, buckets x 5 min | city Jaccard "
        "| false alarms by cause | CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, run in detectors.items():
        score = Score()
        started = time.process_time()
        for series in all_series:
            national, cities = run(series)
            evaluate(series, national, cities, score)
        score.seconds = time.process_time() - started
        print(_row(name, score), flush=True)


if __name__ == "__main__":
    main()
