"""What any count-only detector must pay on the bursty bench: a lower bound on false incidents
per series-week for issue 20's delay and recall targets.

    .venv/bin/python -m bench.detection_bound [--seed 20261205] [--services 40]

On `bench/bursty_series.py`'s series an outage is a step of its usual level times a factor
(3 to 30, log-uniform). A single burst is the same step for 5 minutes (3 to 20, Pareto), a
block for 30 minutes (2 to 20). Over the first 5 minutes an outage and a burst of the same
factor on the same series are the same counts; over its first L <= 30 minutes a national
outage and a block of the same factor are. A detector that alerts on one alerts, with the
same probability, on the other.

The bound gives the detector an oracle's view: no noise (it reads each event's factor
exactly), regional outages for free (their cities set them apart), national outages longer
than 30 minutes for free (no block lasts that long), and a threshold of its own for every
series, set with hindsight. Since on this bench an outage's factor is log-uniform and a
burst's Pareto, the likelihood ratio "outage : burst" grows with the factor, so the best rule
on a series is a threshold on the factor (Neyman-Pearson). The hindsight column is loose:
with a threshold of its own for every series it sets none where no outage falls. The second column
knows each series' bursts (every one of them, exactly) but not where the outages will fall:
each series gains the outages it would catch in expectation, at the same rate everywhere,
and the thresholds are set to buy them at the least cost. The last column asks one factor
threshold of every series. Bursts that start within 90 minutes of the end of an event the
detector alerted on count as the same incident (30 quiet minutes and the 60-minute
re-opening), not as new false ones.

Two bounds, each on its own target:

- *median delay <= 5 minutes*: at least half of the observable outages are alerted within
  5 minutes of their start, from counts that single bursts and blocks share;
- *recall >= 0.97*: at most 3% of observable outages are missed, so the national outages of
  30 minutes or less must be alerted on, from counts that blocks share.

The cheapest set of thresholds is found by a Lagrangian sweep over the series; the figure
printed interpolates between the sweep's points, a lower bound for any choice of thresholds.
A real detector, which sees noisy counts and no hindsight, does worse than both.
"""

from __future__ import annotations

import argparse
import itertools
import math
from dataclasses import dataclass

import numpy as np

from bench.bursty_series import BURST_FLOOR, Event, generate

RECORDING_SEED = 20261205
WARMUP_DAYS = 7
EARLY_MINUTES = 5
BLOCK_MINUTES = 30
SAME_INCIDENT_MINUTES = 90
# The bench's outage factors (bench/bursty_series.py, outage_random): log-uniform.
OUTAGE_FACTORS = (3.0, 30.0)
# Per series: the outages a target needs alerted on, and the bursts that share their counts.
PerSeries = list[tuple[list[Event], list[Event]]]


@dataclass
class Choice:
    """One series' options: for each threshold, the outages it must alert on that it gets,
    and the false incidents it pays."""

    gains: list[int]
    costs: list[int]


def _false_incidents(events: list[Event], alerted: list[bool]) -> int:
    """Bursts alerted on, less those within SAME_INCIDENT_MINUTES of an alerted event's end."""
    last_end = -math.inf
    false = 0
    for event, alert in sorted(zip(events, alerted, strict=True), key=lambda pair: pair[0].start_minute):
        if not alert:
            continue
        if not event.is_outage and event.start_minute > last_end + SAME_INCIDENT_MINUTES:
            false += 1
        last_end = max(last_end, event.end_minute)
    return false


def _choice(needed: list[Event], competitors: list[Event]) -> Choice:
    """Thresholds at each needed outage's factor (and above all of them): what each gets and
    costs on this series."""
    thresholds = [*sorted({e.multiplier for e in needed}), math.inf]
    events = needed + competitors
    gains, costs = [], []
    for t in thresholds:
        alerted = [e.multiplier >= t for e in events]
        gains.append(sum(e.multiplier >= t for e in needed))
        costs.append(_false_incidents(events, alerted))
    return Choice(gains, costs)


def cheapest(choices: list[Choice], needed: int) -> float:
    """The least total cost with total gain >= needed, on the lower convex hull of the
    Lagrangian sweep (a lower bound for the integer choice)."""
    points = []
    for lam in np.concatenate([[0.0], np.logspace(-3, 4, 400)]):
        gain = cost = 0
        for c in choices:
            k = max(range(len(c.gains)), key=lambda i: (lam * c.gains[i] - c.costs[i], c.gains[i]))
            gain += c.gains[k]
            cost += c.costs[k]
        points.append((gain, cost))
    points = sorted(set(points))
    if needed <= points[0][0]:
        return float(points[0][1])
    for (g0, c0), (g1, c1) in itertools.pairwise(points):
        if g0 <= needed <= g1:
            return c0 + (c1 - c0) * (needed - g0) / max(g1 - g0, 1)
    return float("inf")


def cheapest_common(series_events: PerSeries, needed: int) -> float:
    """The least total cost with one factor threshold for every series: what a detector pays
    that cannot know in advance on which series the outages will fall."""
    factors = sorted({e.multiplier for outages, _ in series_events for e in outages}, reverse=True)
    for t in factors:
        if sum(e.multiplier >= t for outages, _ in series_events for e in outages) >= needed:
            return float(
                sum(
                    _false_incidents(outages + others, [e.multiplier >= t for e in outages + others])
                    for outages, others in series_events
                )
            )
    return 0.0 if needed <= 0 else float("inf")


def _outage_factor_survival(t: float) -> float:
    """P(factor >= t) for an outage of the bench (log-uniform over OUTAGE_FACTORS)."""
    lo, hi = OUTAGE_FACTORS
    if t >= hi:
        return 0.0
    return min(max(math.log(hi / t) / math.log(hi / lo), 0.0), 1.0)


def _adaptive_choice(outages_here: float, others: list[Event]) -> Choice:
    """A series' options when only its bursts are known: each threshold gains the outages it
    would catch in expectation (the same rate on every series, scaled by 1000 to stay
    integral) and pays the bursts over it."""
    grid = [*np.geomspace(*OUTAGE_FACTORS, 60), math.inf]
    return Choice(
        gains=[round(1000 * outages_here * _outage_factor_survival(t)) for t in grid],
        costs=[_false_incidents(others, [e.multiplier >= t for e in others]) for t in grid],
    )


def _target_bounds(per_series: PerSeries, needed: int, weeks: float) -> tuple[float, float, float]:
    """False incidents per series-week at least, to alert on `needed` of the outages: with
    a threshold per series set with hindsight, per series from its bursts only, and with one
    threshold for every series."""
    rate = sum(len(outages) for outages, _ in per_series) / len(per_series)
    return (
        cheapest([_choice(outages, others) for outages, others in per_series], needed) / weeks,
        cheapest([_adaptive_choice(rate, others) for _, others in per_series], 1000 * needed) / weeks,
        cheapest_common(per_series, needed) / weeks,
    )


def bounds(seed: int, services: int) -> dict:
    first = WARMUP_DAYS * 1440
    weeks = 0.0
    observable = 0
    early_free = 0
    recall_free = 0
    early: PerSeries = []
    recall: PerSeries = []
    for series in generate(seed=seed, services=services):
        weeks += (series.counts.size - first) / (7 * 1440)
        scored = [e for e in series.events if e.start_minute >= first]
        outages = [e for e in scored if e.observable]
        national = [e for e in outages if e.kind == "outage"]
        singles = [e for e in scored if e.kind == "single"]
        blocks = [e for e in scored if e.kind == "block"]
        observable += len(outages)
        early_free += len(outages) - len(national)
        short = [e for e in national if e.end_minute - e.start_minute <= BLOCK_MINUTES]
        recall_free += len(outages) - len(short)
        early.append((national, singles + blocks))
        recall.append((short, blocks))
    early_needed = max(math.ceil(0.5 * observable) - early_free, 0)
    recall_needed = max(math.ceil(0.97 * observable) - recall_free, 0)
    return {
        "weeks": weeks,
        "observable": observable,
        "early_needed": early_needed,
        "recall_needed": recall_needed,
        "early": _target_bounds(early, early_needed, weeks),
        "recall": _target_bounds(recall, recall_needed, weeks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=RECORDING_SEED)
    parser.add_argument("--services", type=int, default=40)
    args = parser.parse_args()
    b = bounds(args.seed, args.services)
    print(f"Command: .venv/bin/python -m bench.detection_bound --seed {args.seed} --services {args.services}")
    print(f"{b['weeks']:.0f} series-weeks, {b['observable']} observable outages (burst floor {BURST_FLOOR}).")
    print(
        "| target | outages to alert on | false incidents / series-week, at least: a threshold per "
        "series, with hindsight | per series, from its bursts only | one threshold for every series |"
    )
    print("|---|---|---|---|---|")
    for label, needed, figures in (
        (
            f"median delay <= {EARLY_MINUTES} min",
            f"{b['early_needed']} national, within {EARLY_MINUTES} min",
            b["early"],
        ),
        ("recall >= 0.97", f"{b['recall_needed']} national of {BLOCK_MINUTES} min or less", b["recall"]),
    ):
        print(f"| {label} | {needed} | " + " | ".join(f"{f:.2f}" for f in figures) + " |")


if __name__ == "__main__":
    main()
