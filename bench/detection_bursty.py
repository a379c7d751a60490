"""The live detector on bursty, real-shaped series with the truth known (issue 20, item 1).

    .venv/bin/python -m bench.detection_bursty [--seed 20261205] [--services 40] [--tuning]
                                               [--input-bucket 5]

The series are `bench/bursty_series.py`'s: bursts, busy days, level shifts, holidays, news
days and attackers' ramps, none of them an outage, and national and regional outages, some
inside busy days. Each series is replayed through `outages.replay.replay_minutes`, the code
`manage.py backtest` runs and the live pass shares (spikes held as shipped, then
`outages.incidents.incidents_track`), as `bench.detection_quality --mode live` does; what is
scored is the incidents it opens. The first week is history only. Definitions are in
docs/benchmarks.md, "Bursty bench (issue 20)".

Seeds: the detector is tuned on TUNING_SEEDS (`--tuning` prints a row for each); the figures
recorded in docs/benchmarks.md are RECORDING_SEED's, the default.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

import django
import numpy as np

from bench.bursty_series import DAYS, TIMEZONE, Event, Series, generate, poisoning_pair
from bench.series import CITIES
from outages import detection
from outages.escalations import ESCALATION_WINDOW_MINUTES, wave_clearly_bigger

TUNING_SEEDS = (1, 2, 3)
RECORDING_SEED = 20261205
WARMUP_DAYS = 7
# An incident opened this many minutes after an outage's end still alerts for it (the sliding
# bucket that closes then still holds outage minutes, and spikes are held).
LATE = 5
# Openings up to an hour after an outage's end belong to it (its tail), as in today's bench.
TAIL = 60
# How long after its start an event can be blamed for an opening, per kind (minutes after the
# event's end; shifts and ramps: after their start, since the baseline takes days to adapt).
BLAME_AFTER_END = {"single": 15, "block": 15, "news": 60, "busy": 60, "holiday": 0}
BLAME_DAYS = {"ramp": 1, "shift": 7}
CAUSES = ("busy", "block", "single", "news", "holiday", "ramp", "shift", "noise")
POISON_REPLICATES = 5
# An outage this large (reports it adds, in expectation) is one nobody should miss.
LARGE_EXCESS = 1000
TIERS = ((0, 2, "quiet (< 2 per 5 min)"), (2, 50, "middle (2-50)"), (50, np.inf, "busy (> 50)"))


@dataclass(frozen=True)
class Opened:
    """One replayed incident in the series' minutes."""

    started: int
    opened: int
    resolved: int
    escalations: tuple[int, ...] = ()  # the minutes it escalated (outages.escalations)
    # Each re-opening: the minute it re-opened (subscribers are told then), its rise's start
    # and the resolution it undid.
    reopenings: tuple[tuple[int, int, int], ...] = ()

    def open_at(self, minute: int) -> bool:
        """Whether it was open at `minute`: after it opened, before it resolved, and not in a
        stretch between a resolution and the re-opening that undid it."""
        if not self.opened < minute < self.resolved:
            return False
        return not any(undone <= minute < reopened for reopened, _, undone in self.reopenings)


@dataclass
class OutageResult:
    event: Event
    covered: bool  # an incident was open during it (a new one, or one already open)
    alerted: bool  # an incident opened, or a resolved one re-opened, during it: an alert went out
    inside_open: bool  # not alerted: it began inside an incident already open
    escalated: bool = False  # inside_open, and that incident escalated during the outage
    # inside_open, and clearly bigger than what that incident had shown, in the escalation
    # rule's own terms (`clearly_bigger`): the cases an escalation is for.
    clearly_bigger: bool = False
    delay: float | None = None  # true start -> the minute the incident opened has closed
    start_error: float | None = None  # the incident's start - the true start


@dataclass
class Score:
    weeks: float = 0.0
    weeks_by_tier: Counter = field(default_factory=Counter)
    false_by_tier: Counter = field(default_factory=Counter)
    false_by_cause: Counter = field(default_factory=Counter)
    false_short: int = 0  # false incidents that resolved within an hour
    escalations: int = 0  # every escalation after the warm-up
    false_escalations: int = 0  # those outside every outage (and LATE minutes after it)
    reopenings: int = 0  # every re-opening after the warm-up (each one an alert)
    false_reopenings_by_cause: Counter = field(default_factory=Counter)  # those outside every outage
    outages: list[OutageResult] = field(default_factory=list)
    events: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def false_incidents(self) -> int:
        return sum(self.false_by_cause.values())


def replay_series(series: Series, input_bucket: int = 1):
    """The live detector on one series: outages.replay, as `backtest` and today's bench.

    With `input_bucket` > 1 the series is first summed into clock-aligned buckets of that
    many minutes and read back as `manage.py backtest` reads such a file (each bucket spread
    evenly over its minutes): the held-out real series are counts per 5 minutes."""
    # Both need Django set up (main does it): the replay builds model instances.
    from outages import replay
    from outages.management.commands import backtest

    first_minute, counts, city_counts = series.first_minute, series.counts, series.city_counts
    if input_bucket > 1:
        if first_minute % input_bucket or counts.size % input_bucket:
            raise ValueError(f"the series is not in whole {input_bucket}-minute buckets")
        file = backtest.Series(
            labels=[],
            timestamps=(first_minute + np.arange(0, counts.size, input_bucket)) * 60,
            counts=counts.reshape(-1, input_bucket).sum(axis=1),
            city_names=list(CITIES),
            city_counts=city_counts.reshape(city_counts.shape[0], -1, input_bucket).sum(axis=2),
            bucket_minutes=input_bucket,
        )
        first_minute, counts, city_counts = backtest.series_minutes(file)
    return replay.replay_minutes(
        first_minute, counts, timezone=TIMEZONE, city_counts=city_counts, city_names=list(CITIES)
    )


def incidents_of(series: Series, found) -> list[Opened]:
    n = series.counts.size
    return [
        Opened(
            started=i.started_at - series.first_minute,
            opened=i.opened_at - series.first_minute,
            resolved=n if i.resolved_at is None else i.resolved_at - series.first_minute,
            escalations=tuple(e[0] - series.first_minute for e in i.escalations),
            reopenings=tuple(tuple(m - series.first_minute for m in r) for r in i.reopenings),
        )
        for i in found.incidents
    ]


def cause_of(series: Series, minute: int) -> str:
    """The non-outage event an opening at `minute` is blamed on (the first in CAUSES)."""
    blamed = set()
    for e in series.events:
        if e.kind in BLAME_AFTER_END:
            if e.start_minute <= minute < e.end_minute + BLAME_AFTER_END[e.kind]:
                blamed.add(e.kind)
        elif e.kind in BLAME_DAYS:
            days = BLAME_DAYS[e.kind] * 1440
            ends = e.end_minute if e.end_minute < series.counts.size else None
            if e.start_minute <= minute < e.start_minute + days or (
                ends is not None and ends <= minute < ends + days
            ):
                blamed.add(e.kind)
    return next((c for c in CAUSES if c in blamed), "noise")


def clearly_bigger(counts: np.ndarray, first_minute: int, event: Event, incident: Opened) -> bool:
    """Whether an outage that began inside `incident` was clearly bigger than what the incident
    had shown, by the size half of the escalation rule (`outages.escalations.wave_clearly_bigger`):
    its busiest 15 minutes (sliding, from its start to LATE minutes after its end) against the
    incident's busiest clock-aligned quarter-hour completed before the outage, the peak an
    incident counts (`detection.aligned_running_sum`). The baseline is left at 0: inside an open
    incident the previous peak is already above it.

    Read on the counts, not on the detector: what an escalation should have found. Smaller
    waves inside an open incident are the incident going on, and no update is owed for them."""
    w = ESCALATION_WINDOW_MINUTES
    running, quarter_first = detection.aligned_running_sum(counts, first_minute, w)
    # The incident's quarter-hours that ended before the outage (the first from its own start).
    minute = np.arange(counts.size)
    before_outage = (minute >= incident.started) & (quarter_first + w <= event.start_minute)
    previous_peak = float(running[before_outage].max(initial=0.0))
    last_end = min(event.end_minute + LATE, counts.size)
    peak = float(detection.trailing_sum(counts[:last_end], w)[event.start_minute + w - 1 :].max())
    return wave_clearly_bigger(count=peak, baseline=0.0, previous_peak=previous_peak)


def outage_result(
    event: Event, incidents: list[Opened], counts: np.ndarray | None = None, first_minute: int = 0
) -> OutageResult:
    """How the incidents met an outage. With the series' national `counts` (per minute, from
    epoch minute `first_minute`), an outage inside an open incident is also judged
    `clearly_bigger` than what that incident had shown."""
    lo, hi = event.start_minute, event.end_minute + LATE
    # Every alert in the window: an opening, or a re-opening of a resolved incident (the
    # subscribers, told it had resolved, are told it is back), as (minute, start).
    alerts = sorted(
        [(i.opened, i.started) for i in incidents if lo <= i.opened <= hi]
        + [
            (reopened, start)
            for i in incidents
            for reopened, start, _ in i.reopenings
            if lo <= reopened <= hi
        ]
    )
    covering = [i for i in incidents if i.open_at(lo)]
    if alerts:
        minute, start = alerts[0]
        return OutageResult(
            event,
            covered=True,
            alerted=True,
            inside_open=False,
            delay=minute + 1 - lo,
            start_error=start - lo,
        )
    # An escalation "within the outage": from its start to LATE minutes after its end, as an
    # opening would count.
    escalated = any(lo <= minute <= hi for i in covering for minute in i.escalations)
    bigger = (
        bool(covering) and counts is not None and clearly_bigger(counts, first_minute, event, covering[0])
    )
    return OutageResult(
        event,
        covered=bool(covering),
        alerted=False,
        inside_open=bool(covering),
        escalated=escalated,
        clearly_bigger=bigger,
    )


def evaluate(series: Series, incidents: list[Opened], score: Score) -> None:
    first = WARMUP_DAYS * 1440
    weeks = (series.counts.size - first) / (7 * 1440)
    tier = next(name for lo, hi, name in TIERS if lo <= series.mean_per_bucket < hi)
    score.weeks += weeks
    score.weeks_by_tier[tier] += weeks
    score.events.update(e.kind for e in series.events if e.end_minute > first)
    for event in series.outages:
        if event.start_minute >= first:
            score.outages.append(outage_result(event, incidents, series.counts, series.first_minute))
    for minute in (m for i in incidents for m in i.escalations if m >= first):
        score.escalations += 1
        score.false_escalations += not any(
            e.start_minute <= minute <= e.end_minute + LATE for e in series.outages
        )
    for minute in (r[0] for i in incidents for r in i.reopenings if r[0] >= first):
        score.reopenings += 1
        if not any(e.start_minute <= minute < e.end_minute + TAIL for e in series.outages):
            score.false_reopenings_by_cause[cause_of(series, minute)] += 1
    for i in incidents:
        if i.opened < first:
            continue
        if any(e.start_minute <= i.opened < e.end_minute + TAIL for e in series.outages):
            continue
        score.false_by_cause[cause_of(series, i.opened)] += 1
        score.false_by_tier[tier] += 1
        score.false_short += i.resolved - i.started <= 60


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summary(score: Score) -> dict[str, float]:
    observable = [r for r in score.outages if r.event.observable]
    alerted = [r for r in observable if r.alerted]
    delays = [r.delay for r in alerted if r.delay is not None]
    errors = [abs(r.start_error) for r in alerted if r.start_error is not None]
    return {
        "observable": len(observable),
        "recall": sum(r.covered for r in observable) / len(observable) if observable else float("nan"),
        "recall_alerted": len(alerted) / len(observable) if observable else float("nan"),
        "false_per_week": score.false_incidents / score.weeks if score.weeks else float("nan"),
        "false": score.false_incidents,
        "delay_median": _pct(delays, 50),
        "delay_p90": _pct(delays, 90),
        "start_error_median": _pct(errors, 50),
        "start_error_p90": _pct(errors, 90),
        "start_error_signed_median": _pct([r.start_error for r in alerted if r.start_error is not None], 50),
        "inside_open": sum(r.inside_open for r in observable),
        "escalated": sum(r.escalated for r in observable),
        "clearly_bigger": sum(r.clearly_bigger for r in observable),
        "clearly_bigger_escalated": sum(r.clearly_bigger and r.escalated for r in observable),
        "in_busy_day": sum(r.event.in_busy_day for r in observable),
    }


HEADER = (
    "| seed | recall (observable, covered) | recall (observable, alerted) | false incidents / series-week "
    "| median delay min | p90 delay min | start error median min | start error p90 min "
    "| escalation cases | escalations found | CPU s |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(label: str, score: Score) -> str:
    s = summary(score)
    return (
        f"| {label} | {s['recall']:.3f} | {s['recall_alerted']:.3f} | {s['false_per_week']:.3f} "
        f"| {s['delay_median']:.1f} | {s['delay_p90']:.1f} | {s['start_error_median']:.1f} "
        f"| {s['start_error_p90']:.1f} | {s['inside_open']} | {s['escalated']} | {score.seconds:.0f} |"
    )


def run_seed(seed: int, services: int, input_bucket: int = 1) -> Score:
    score = Score()
    started = time.process_time()
    for series in generate(seed=seed, services=services):
        evaluate(series, incidents_of(series, replay_series(series, input_bucket)), score)
    score.seconds = time.process_time() - started
    return score


def details(score: Score) -> None:
    s = summary(score)
    kinds = ", ".join(
        f"{k} {score.events[k]}" for k in ("single", "block", "busy", "shift", "holiday", "news", "ramp")
    )
    outages = score.outages
    print(
        f"\nScored: {score.weeks:.0f} series-weeks; {len(outages)} outages "
        f"({s['observable']} observable, {s['in_busy_day']} of them inside busy days); "
        f"not outages: {kinds}."
    )
    print(
        f"Observable outages that began inside an incident already open (escalation cases): "
        f"{s['inside_open']}; escalations found: {s['escalated']} (an escalation of that incident "
        f"between the outage's start and {LATE} minutes after its end); of them clearly bigger "
        f"than what the incident had shown (the escalation rule's terms): {s['clearly_bigger']}, "
        f"escalated: {s['clearly_bigger_escalated']}. Start error, "
        f"signed median: {s['start_error_signed_median']:+.1f} min (negative: dated before the true start)."
    )
    print(
        f"Escalations: {score.escalations}, of which {score.false_escalations} outside every outage "
        f"({score.false_escalations / score.weeks:.2f} per series-week: updates nobody needed)."
    )
    false_reopenings = sum(score.false_reopenings_by_cause.values())
    reopening_causes = ", ".join(
        f"{c} {score.false_reopenings_by_cause[c]}" for c in CAUSES if score.false_reopenings_by_cause[c]
    )
    print(
        f"Re-openings: {score.reopenings}, of which {false_reopenings} outside every outage "
        f"({reopening_causes}; {false_reopenings / score.weeks:.2f} per series-week: alerts nobody "
        f"needed; with the false incidents, {(false_reopenings + score.false_incidents) / score.weeks:.2f} "
        "false alerts per series-week)."
    )
    total = score.false_incidents
    causes = ", ".join(f"{c} {score.false_by_cause[c]}" for c in CAUSES if score.false_by_cause[c])
    print(f"False incidents: {total} ({causes}); {score.false_short} of them lasted an hour or less.")
    tiers = ", ".join(
        f"{name} {score.false_by_tier[name] / score.weeks_by_tier[name]:.2f}"
        for _, _, name in TIERS
        if score.weeks_by_tier[name]
    )
    print(f"False incidents per series-week by volume: {tiers}.")
    missed = [r for r in score.outages if r.event.observable and not r.covered]
    large = [r for r in score.outages if r.event.expected_excess >= LARGE_EXCESS]
    print(
        f"Observable outages missed: {len(missed)}; of the {len(large)} adding {LARGE_EXCESS:,} reports "
        f"or more in expectation, {sum(not r.covered for r in large)} missed."
    )
    for r in missed:
        e = r.event
        where = ", ".join(CITIES[i] for i in e.cities) or "national"
        print(
            f"  missed: {e.kind} ({where}) {e.multiplier:.1f}x {e.end_minute - e.start_minute} min, "
            f"+{e.expected_excess:.0f} reports expected{', in a busy day' if e.in_busy_day else ''}"
        )


class _PoisonDraw(NamedTuple):
    """One draw of a poisoning pair's series: its outage's result, the expected reports in
    the outage's first 15 minutes, the shared wobble (beta) at its start, and the false
    incidents from the ramp on."""

    result: OutageResult
    expected: float
    beta: float
    false_incidents: int


def poisoning(seed: int, replicates: int = POISON_REPLICATES, input_bucket: int = 1) -> None:
    print(
        f"\nPoisoning: a ramp to +60% over 4 days, then flat; an outage 3 days into the flat part "
        f"({replicates} draws of each pair):\n"
    )
    print(
        "| outage | series | alerted | inside an open incident | median delay min "
        "| expected reports in its first 15 min, median | shared wobble (beta) at its start, median "
        "| false incidents from the ramp on |"
    )
    print("|---|---|---|---|---|---|---|---|")
    attack = []
    for factor in (2.0, 3.0):
        results: dict[str, list[_PoisonDraw]] = {"control": [], "poisoned": []}
        for replicate in range(replicates):
            scenario = poisoning_pair(seed, factor=factor, replicate=replicate)
            attack.append(scenario.attack_per_day)
            o = scenario.outage
            for kind, series in (("control", scenario.control), ("poisoned", scenario.poisoned)):
                found = replay_series(series, input_bucket)
                incidents = incidents_of(series, found)
                expected = float(np.nansum(found.expected[o.start_minute : o.start_minute + 15]))
                ramp_from = 31 * 1440
                false = sum(
                    1
                    for i in incidents
                    if i.opened >= ramp_from and not o.start_minute <= i.opened < o.end_minute + TAIL
                )
                results[kind].append(
                    _PoisonDraw(
                        outage_result(o, incidents), expected, float(found.beta[o.start_minute]), false
                    )
                )
        for kind, draws in results.items():
            delays = [d.result.delay for d in draws if d.result.delay is not None]
            delay = f"{np.median(delays):.0f}" if delays else "-"
            print(
                f"| {factor:g}x 60 min | {kind} | {sum(d.result.alerted for d in draws)} of {len(draws)} "
                f"| {sum(d.result.inside_open for d in draws)} | {delay} "
                f"| {np.median([d.expected for d in draws]):.1f} | {np.median([d.beta for d in draws]):.3f} "
                f"| {sum(d.false_incidents for d in draws)} |"
            )
    print(f"(the attacker's reports a day once flat: {min(attack):.0f} to {max(attack):.0f})")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed", type=int, default=RECORDING_SEED, help=f"default: the recording seed {RECORDING_SEED}"
    )
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument("--tuning", action="store_true", help=f"run the tuning seeds {TUNING_SEEDS} instead")
    parser.add_argument(
        "--input-bucket",
        type=int,
        default=1,
        choices=(1, 5, 15),
        help="read the series as a file of counts per this many minutes, as backtest reads one "
        "(the held-out real series are per 5 minutes); default 1, per minute",
    )
    args = parser.parse_args()
    seeds = TUNING_SEEDS if args.tuning else (args.seed,)
    print(f"Command: .venv/bin/python -m bench.detection_bursty {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"Tuning seeds {', '.join(map(str, TUNING_SEEDS))}; recording seed {RECORDING_SEED}. "
        f"{args.services} services x {DAYS} days per minute, {TIMEZONE}; the first {WARMUP_DAYS} days history only.\n"
    )
    print(HEADER)
    scores = {}
    for seed in seeds:
        scores[seed] = run_seed(seed, args.services, args.input_bucket)
        label = (
            f"{seed} (recording)"
            if seed == RECORDING_SEED
            else f"{seed} (tuning)"
            if seed in TUNING_SEEDS
            else str(seed)
        )
        print(row(label, scores[seed]), flush=True)
    for seed, score in scores.items():
        if len(scores) > 1:
            print(f"\nSeed {seed}:")
        details(score)
    started = time.process_time()
    poisoning(seeds[-1], input_bucket=args.input_bucket)
    print(f"(poisoning scenario: {time.process_time() - started:.0f} CPU s)")


if __name__ == "__main__":
    main()
