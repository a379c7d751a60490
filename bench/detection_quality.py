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
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import django
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
    """Ours on fixed 5-minute buckets, a reference for the bucket grid (the live pass scores
    sliding buckets: `ours_live`): profiles rebuilt at every local midnight from the days
    before it, every bucket scored by `detection.detect`, each city against the city bar for
    all eight cities (the warning level while the national series spikes)."""
    rows = np.vstack([series.counts[None, :], series.city_counts])
    expected, alpha, beta, bars = detection.replay_profiles(
        series.timestamps, rows, bucket_minutes=BUCKET, timezone=TIMEZONE
    )
    national = detection.detect(
        rows[0], expected[0], alpha[0], beta[0], bucket_minutes=BUCKET, bars=list(np.moveaxis(bars[0], -1, 0))
    )
    bar = detection.city_bar(float(len(CITIES)), national.is_spike[None, :])
    cities = detection.detect(
        rows[1:],
        expected[1:],
        alpha[1:],
        beta[1:],
        bucket_minutes=BUCKET,
        threshold=bar,
        bars=list(np.moveaxis(bars[1:], -1, 0)),
    )
    return national.is_spike, cities.is_spike


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


Rule = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rows, T) counts, bucket starts -> flags


def _both(rule: Rule) -> Callable[[Series], Flags]:
    """A peer on the fixed buckets of the national row and the city rows."""

    def run(series: Series) -> Flags:
        flags = rule(np.vstack([series.counts[None, :], series.city_counts]), series.timestamps)
        return flags[0], flags[1:]

    return run


def _sliding(rule: Rule) -> Callable[[Series], Flags]:
    """A peer as the live pass would run it: every minute, on the 5-minute sums ending then.

    The sums of one phase (minute mod 5) are a regular series of 5-minute buckets shifted by
    that many minutes; the rule runs on each phase and the flags are interleaved per minute.
    """

    def run(series: Series) -> Flags:
        x = np.vstack([series.minute_counts[None, :], series.minute_city_counts])
        sums = detection.trailing_sum(x, BUCKET)
        starts = series.timestamps[0] + (np.arange(x.shape[1]) - BUCKET + 1) * 60
        flags = np.zeros(x.shape, dtype=bool)
        for phase in range(BUCKET):
            flags[:, phase::BUCKET] = rule(sums[:, phase::BUCKET], starts[phase::BUCKET])
        flags[:, : BUCKET - 1] = False  # no full bucket yet
        return flags[0], flags[1:]

    return run


def fixed_threshold(x: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """Three times the trailing 7-day mean, and at least 5 reports."""
    mean, _ = _trailing_mean_std(x, 7 * 288)
    return (x >= 3 * mean) & (x >= 5)


def rolling_zscore(x: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """z > 4 against the trailing 2 hours, and at least 5 reports above their mean."""
    mean, std = _trailing_mean_std(x, 24)
    z = (x - mean) / np.maximum(std, 1.0)
    return (z > 4) & (x - mean >= 5)


def adtk_seasonal(x: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """adtk SeasonalAD (daily period, c=3, rises only), refitted weekly on the last two weeks."""
    import pandas as pd
    from adtk.detector import SeasonalAD

    index = pd.to_datetime(timestamps, unit="s", utc=True).tz_localize(None)
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
    return flags


def ours_live(series: Series) -> Flags:
    """Ours as the live pass runs it, through the code it runs (outages.replay, which `manage.py
    backtest` calls too): profiles rebuilt at every local midnight, every minute the sliding
    5-minute bucket scored, cities against their live bar. Flags unheld: the table holds them."""
    from outages import replay  # needs Django set up (main does it): it builds model instances

    found = replay.replay_minutes(
        int(series.timestamps[0]) // 60,
        series.minute_counts,
        timezone=TIMEZONE,
        city_counts=series.minute_city_counts,
        city_names=list(CITIES),
        hold_minutes=1,
    )
    return found.panel.national_spike[0], found.panel.city_spike


@dataclass
class Score:
    detected: list[bool] = field(default_factory=list)
    observable: list[bool] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)  # true start minute -> flagged bucket closes
    bucket_delays: list[float] = field(default_factory=list)  # outage's first bucket -> flagged one
    jaccard: list[float] = field(default_factory=list)
    missed: list = field(default_factory=list)  # (service, event): observable, never flagged
    false_alarms: int = 0
    false_by_cause: dict[str, int] = field(default_factory=dict)
    weeks: float = 0.0
    seconds: float = 0.0


def _runs(flags: np.ndarray, gap: int) -> list[tuple[int, int]]:
    idx = np.flatnonzero(flags)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap + 1)
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _span(event, step: int) -> tuple[int, int]:
    """First and last flag index whose 5-minute bucket overlaps the event.

    Flag i covers minutes [i * step + step - 5, i * step + step): fixed buckets (step 5) or
    the sliding bucket ending at minute i (step 1).
    """
    return event.start_minute // step, (event.end_minute - 1 + BUCKET - step) // step


def evaluate(
    series: Series, national: np.ndarray, cities: np.ndarray, score: Score, step: int = BUCKET
) -> None:
    """Score one series' flags; one flag per `step` minutes (5: fixed buckets, 1: live)."""
    first = WARMUP_DAYS * 1440 // step
    alarm = national | cities.any(axis=0)
    score.weeks += (alarm.size - first) * step / (7 * 1440)
    outages = [e for e in series.events if e.kind in ("outage", "regional")]
    for event in outages:
        if event.start_minute < first * step:
            continue
        lo, hi = _span(event, step)
        hits = np.flatnonzero(alarm[lo : hi + 1])
        score.detected.append(hits.size > 0)
        observable = event.expected_excess >= OBSERVABLE_EXCESS
        score.observable.append(observable)
        if hits.size == 0 or not observable:
            if observable:
                score.missed.append((series.name, event))
            continue
        score.delays.append((lo + hits[0] + 1) * step - event.start_minute)
        score.bucket_delays.append(hits[0] * step)
        if event.kind == "regional":
            truth = set(event.cities)
        else:
            truth = {i for i, gain in enumerate(event.city_excess) if gain >= CITY_TRUTH_EXCESS}
        named = set(np.flatnonzero(cities[:, lo : hi + 1].any(axis=1)).tolist())
        if truth or named:
            score.jaccard.append(len(truth & named) / len(truth | named))
    tail = TAIL * BUCKET // step
    for start, end in _runs(alarm, MERGE_GAP * BUCKET // step):
        if start < first:
            continue
        near = [e for e in outages if start <= _span(e, step)[1] + tail and end >= _span(e, step)[0]]
        if near:
            continue
        score.false_alarms += 1
        cause = "other"
        for e in series.events:
            if e.kind in ("media", "blip") and start <= _span(e, step)[1] + tail and end >= _span(e, step)[0]:
                cause = e.kind
        score.false_by_cause[cause] = score.false_by_cause.get(cause, 0) + 1


def _row(name: str, s: Score, *, live: bool = False) -> str:
    detected = np.asarray(s.detected)
    observable = np.asarray(s.observable, dtype=bool)
    recall = detected[observable].mean() if observable.any() else float("nan")
    recall_all = detected.mean() if detected.size else float("nan")
    fa = s.false_alarms / s.weeks
    delays = np.asarray(s.delays)
    med = np.median(delays) if delays.size else float("nan")
    p90 = np.percentile(delays, 90) if delays.size else float("nan")
    in_buckets = np.median(s.bucket_delays) if s.bucket_delays else float("nan")
    in_buckets_text = "-" if live else f"{in_buckets:.0f}"
    jac = np.mean(s.jaccard) if s.jaccard else float("nan")
    causes = ", ".join(f"{k} {v}" for k, v in sorted(s.false_by_cause.items())) or "-"
    return (
        f"| {name} | {recall:.3f} | {recall_all:.3f} | {fa:.3f} | {med:.1f} | {p90:.1f} | {in_buckets_text} "
        f"| {jac:.3f} | {causes} | {s.seconds:.1f} |"
    )


HEADER = (
    "| detector | recall (observable) | recall (all >=3x) | false alarms / series-week "
    "| median delay min | p90 delay min | median delay, buckets x 5 min | city Jaccard "
    "| false alarms by cause | CPU s |\n|---|---|---|---|---|---|---|---|---|---|"
)


def _table(
    all_series: list[Series],
    detectors: dict[str, Callable[[Series], Flags]],
    step: int,
    holds: tuple[int, ...] = (1,),
) -> None:
    """One row per detector (and per hold, in minutes: flags held that many steps, live only)."""
    print(HEADER)
    for name, run in detectors.items():
        scores = {k: Score() for k in holds}
        started = time.process_time()
        for series in all_series:
            national, cities = run(series)
            for k, score in scores.items():
                evaluate(series, detection.hold(national, k), detection.hold(cities, k), score, step=step)
        seconds = time.process_time() - started
        for k, score in scores.items():
            score.seconds = seconds
            label = name if k == 1 else f"{name}, held {k} min"
            print(_row(label, score, live=step == 1), flush=True)
            if name == "downradar":
                for service, e in score.missed:
                    where = ", ".join(CITIES[i] for i in e.cities) or "national"
                    print(
                        f"  missed: {service} {e.kind} ({where}) {e.multiplier:.1f}x "
                        f"{e.end_minute - e.start_minute} min, +{e.expected_excess:.0f} reports expected"
                    )


def _minute_buckets(series: Series) -> Series:
    """The per-minute data summed into fixed 5-minute buckets."""
    return replace(
        series,
        counts=series.minute_counts.reshape(-1, BUCKET).sum(axis=1),
        city_counts=series.minute_city_counts.reshape(len(CITIES), -1, BUCKET).sum(axis=2),
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20260324)
    parser.add_argument(
        "--mode",
        choices=("fixed", "live", "both"),
        default="both",
        help="fixed: 5-minute series, fixed buckets (the original table); live: per-minute data, "
        "fixed buckets and sliding buckets every minute, as the live pass (default: both)",
    )
    parser.add_argument("--no-adtk", action="store_true", help="skip the adtk rows (the slowest)")
    parser.add_argument(
        "--holds",
        default="1,2",
        help="live table: also rows with flags held this many minutes (comma-separated; 1 = as is)",
    )
    args = parser.parse_args()

    live = args.mode in ("live", "both")
    all_series = generate(seed=args.seed, services=args.services, minutes=live)
    peers: dict[str, Rule] = {
        "fixed threshold (3x 7-day mean)": fixed_threshold,
        "rolling z-score (2 h, z>4)": rolling_zscore,
    }
    if not args.no_adtk:
        try:
            import adtk  # noqa: F401

            peers["adtk SeasonalAD (daily, c=3)"] = adtk_seasonal
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
    fixed = {"downradar": ours} | {name: _both(rule) for name, rule in peers.items()}
    if args.mode in ("fixed", "both"):
        print("\nFixed 5-minute buckets (the 5-minute series):\n")
        _table(all_series, fixed, BUCKET)
    if live:
        print("\nPer-minute data, fixed 5-minute buckets (aligned sums of the minutes):\n")
        _table([_minute_buckets(s) for s in all_series], fixed, BUCKET)
        print("\nPer-minute data, live: every minute the 5-minute bucket ending then (sliding):\n")
        sliding = {"downradar": ours_live} | {name: _sliding(rule) for name, rule in peers.items()}
        _table(all_series, sliding, 1, tuple(int(k) for k in args.holds.split(",")))


if __name__ == "__main__":
    main()
