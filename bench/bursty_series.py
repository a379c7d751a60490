"""Bursty, real-shaped per-minute report counts with the truth known (issue 20, item 1).

Today's bench (`bench/series.py`) has smooth series: a daily and weekly rhythm, gamma-Poisson
noise, outages, news bumps and stray blips. Real counts are burstier. Each series here has,
per minute, in Europe/Rome local time, split over the eight cities of today's bench and an
unattributed rest:

- **The usual level**: today's daily and weekly rhythm (`bench.series._diurnal`), slow growth or
  decline and day-to-day swings, at one volume from quiet (0.2 reports per 5 minutes) to busy
  (500), log-spaced over the services; times the holidays and the level shifts below. This is
  what an outage multiplies.
- **Bursts, self-exciting** (a Hawkes process): bursts arrive at a per-series rate (log-uniform
  0.03 to 1.5 a day, more by day than by night: smooth series and bursty ones), and each burst
  triggers on average 0.6 more within hours (exponential delay, mean 2 hours). Three in four are
  a single 5-minute bucket at 3 to 20 times the usual, one in four a 30-minute block at 2 to 20
  times, both Pareto-tailed (most are small, a few are huge). On a quiet series "the usual" of a
  burst is at least one report per 5 minutes, so its blocks reach 100 times its level.
- **Busy days**: about one every two weeks, 8 to 16 hours at 1.5 to 3 times the usual (with an
  hour's rise and fall), and on them 2 to 8 more bursts at 2 to 20 times.
- **Level shifts**, up or down by 1.5 to 3 times, over 1 to 6 hours, lasting 7 to 21 days or to
  the end.
- **Holidays**: Easter Sunday and Monday, 25 April and 1 May (Italian). A holiday has the
  rhythm of a Sunday, at 0.6 to 0.95 times it, or 1.1 to 1.8 times for the leisure services
  (those busier at weekends).
- **News days**: a smooth bump of 1.3 to 2.5 times, rising over 30 to 90 minutes and fading over
  3 to 8 hours.
- **Ramps**, as an attacker would poison a baseline: extra reports shaped like the usual,
  rising to +40% to +80% over 3 to 5 days, held flat for 2 to 4 days, then stopped.
- **Outages**, as today's bench: national and regional (1 to 3 cities), 3 to 30 times the usual,
  15 minutes to 4 hours, starting at any minute, two hours apart; and about half of the busy days
  have one inside.

The truth is only the outages: an incident opened during any other event is a false one. Each
outage is `observable` when it adds, in expectation, at least as many reports as today's bench
asks (`bench.detection_quality.OBSERVABLE_EXCESS`).

`poisoning_pair` builds the poisoning scenario of the issue: a series at about 8 reports per
5 minutes, 42 days; a 4-day ramp to +60% and then held flat; an outage of 2 times for an hour 3
days into the flat part, in the morning when the usual level reaches the day's mean; and its control, the same series and outage without the attacker (the
attacker's reports are drawn on top, so the two differ by them only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from bench.detection_quality import OBSERVABLE_EXCESS
from bench.series import CITIES, CITY_SHARES, _diurnal
from outages.detection import local_fields

TIMEZONE = "Europe/Rome"
START = datetime(2026, 3, 9, tzinfo=UTC)
DAYS = 56
BUCKET = 5
OUTAGE_KINDS = ("outage", "regional")
HOLIDAYS = (date(2026, 4, 5), date(2026, 4, 6), date(2026, 4, 25), date(2026, 5, 1))
# The same as local day numbers (days since 1 January 1970, as detection.local_fields counts).
HOLIDAY_DAYS = np.array([(d - date(1970, 1, 1)).days for d in HOLIDAYS])
# A burst on a quiet series is at least this many reports per 5 minutes times its factor.
BURST_FLOOR = 1.0
# Outages keep this far apart (minutes) so that each incident can be blamed on one of them.
OUTAGE_GAP = 120


@dataclass(frozen=True)
class Event:
    # Outages: "outage" (national), "regional". Not outages: "single" (a 5-minute burst),
    # "block" (a 30-minute burst), "busy" (a busy day), "shift", "holiday", "news", "ramp".
    kind: str
    start_minute: int  # from the series' first minute
    end_minute: int
    multiplier: float  # for a ramp, the attacker's extra as a fraction at its top
    cities: tuple[int, ...] = ()  # indices into CITIES; empty for national events
    expected_excess: float = 0.0  # outages: reports they add, in expectation
    in_busy_day: bool = False  # outages placed inside a busy day

    @property
    def is_outage(self) -> bool:
        return self.kind in OUTAGE_KINDS

    @property
    def observable(self) -> bool:
        return self.is_outage and self.expected_excess >= OBSERVABLE_EXCESS


@dataclass(frozen=True)
class Series:
    name: str
    first_minute: int  # epoch minute of the first count
    counts: np.ndarray  # (n,) national total per minute
    city_counts: np.ndarray  # (len(CITIES), n)
    usual: np.ndarray  # (n,) the usual national level per minute (rhythm, holidays, shifts)
    events: tuple[Event, ...]
    mean_per_bucket: float
    burst_rate: float = 0.0  # bursts a day that start a cluster

    @property
    def outages(self) -> list[Event]:
        return [e for e in self.events if e.is_outage]


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _pareto(rng: np.random.Generator, lo: float, hi: float, shape: float = 1.2) -> float:
    """Pareto(shape) from lo, truncated at hi (inverse CDF): most small, a few near hi."""
    u = rng.random()
    top = 1 - (lo / hi) ** shape
    return float(lo / (1 - u * top) ** (1 / shape))


def _smooth_step(minutes: np.ndarray, start: float, rise: float) -> np.ndarray:
    """0 before start, 1 after start + rise, a cosine in between."""
    x = np.clip((minutes - start) / max(rise, 1.0), 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _rhythm(rng: np.random.Generator, n_buckets: int, first_minute: int) -> tuple[np.ndarray, np.ndarray]:
    """(usual per 5-minute bucket with mean 1 on ordinary days, local day of each bucket)."""
    ts = first_minute * 60 + np.arange(n_buckets) * BUCKET * 60
    day, weekday, slot = local_fields(ts, timezone=TIMEZONE, bucket_minutes=BUCKET)
    shape = _diurnal(slot * BUCKET + BUCKET / 2, rng)
    weekly = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 0.85, 0.8])
    leisure = rng.random() < 0.3  # busier at weekends, and on holidays
    if leisure:
        weekly = weekly[::-1] * 1.1
    on_holiday = np.isin(day, HOLIDAY_DAYS)
    weekday = np.where(on_holiday, 6, weekday)
    rhythm = shape * weekly[weekday]
    growth = 1 + rng.uniform(-0.1, 0.5) * np.arange(n_buckets) / n_buckets
    day_level = np.exp(rng.normal(0, 0.07, day.max() - day.min() + 1))[day - day.min()]
    usual = rhythm / rhythm.mean() * growth * day_level
    factor = _log_uniform(rng, 1.1, 1.8) if leisure else _log_uniform(rng, 0.6, 0.95)
    usual = np.where(on_holiday, usual * factor, usual)
    return usual, day


class _Builder:
    """Adds events to one series' per-minute rates, keeping the truth alongside."""

    def __init__(self, rng: np.random.Generator, usual: np.ndarray, shares: np.ndarray) -> None:
        self.rng = rng
        self.n = usual.size
        self.minutes = np.arange(self.n, dtype=float)
        self.usual = usual  # per minute, national
        self.shares = shares  # (rows,), last row = unattributed rest
        self.extra = np.zeros(self.n)  # busy days, news, ramps: fractions of the usual
        self.bursts = np.zeros(self.n)  # reports per minute, national
        self.outage = np.zeros((shares.size, self.n))  # reports per minute, per row
        self.events: list[Event] = []
        self.taken: list[tuple[int, int]] = []

    def shift(self, start: int, factor: float, rise: int, length: int | None) -> None:
        step = _smooth_step(self.minutes, start, rise)
        end = self.n if length is None else min(self.n, start + length)
        if end < self.n:
            step = step * (1 - _smooth_step(self.minutes, end, rise))
        self.usual *= 1 + (factor - 1) * step
        self.events.append(Event("shift", start, end, factor))

    def burst(self, start: int, kind: str, factor: float) -> None:
        length = 5 if kind == "single" else 30
        end = min(self.n, start + length)
        floor = BURST_FLOOR / BUCKET
        self.bursts[start:end] += (factor - 1) * np.maximum(self.usual[start:end], floor)
        self.events.append(Event(kind, start, end, factor))

    def hawkes(
        self, per_day: float, branching: float, span: tuple[int, int], factors: tuple[float, float]
    ) -> None:
        """Self-exciting bursts: immigrants at `per_day` (by the diurnal shape), each with
        Poisson(`branching`) children after Exp(2 h), their children, and so on."""
        lo, hi = span
        weight = self.usual[lo:hi] / self.usual[lo:hi].max()
        count = self.rng.poisson(per_day * (hi - lo) / 1440 * weight.max() / weight.mean())
        times = [t for t in self.rng.integers(lo, hi, count) if self.rng.random() < weight[t - lo]]
        queue = list(times)
        generation = 0
        while queue and generation < 6:
            children = []
            for t in queue:
                kind = "single" if self.rng.random() < 0.75 else "block"
                factor = _pareto(self.rng, 3.0 if kind == "single" else factors[0], factors[1])
                self.burst(int(t), kind, factor)
                for _ in range(self.rng.poisson(branching)):
                    child = int(t + self.rng.exponential(120))
                    if child < hi:
                        children.append(child)
            queue = children
            generation += 1

    def busy_day(self, start: int, length: int, factor: float) -> None:
        up = _smooth_step(self.minutes, start, 60) * (1 - _smooth_step(self.minutes, start + length - 60, 60))
        self.extra += (factor - 1) * up
        self.events.append(Event("busy", start, start + length, factor))
        self.hawkes(
            per_day=int(self.rng.integers(2, 9)) * 1440 / length,
            branching=0.0,
            span=(start, start + length),
            factors=(2.0, 20.0),
        )

    def news(self, start: int, factor: float, rise: int, fall: int) -> None:
        up = _smooth_step(self.minutes, start, rise)
        decay = np.where(
            self.minutes > start + rise, np.exp(-np.maximum(self.minutes - start - rise, 0) / (fall / 3)), 1.0
        )
        bump = up * decay
        bump[int(start + rise + fall) :] = 0
        self.extra += (factor - 1) * bump
        self.events.append(Event("news", start, min(self.n, int(start + rise + fall)), factor))

    def ramp(self, start: int, top: float, rise: int, flat: int | None) -> None:
        end = self.n if flat is None else min(self.n, start + rise + flat)
        shape = np.clip((self.minutes - start) / rise, 0, 1)
        shape[end:] = 0
        self.extra += top * shape
        self.events.append(Event("ramp", start, end, top))

    def place(self, length: int, within: tuple[int, int] | None = None) -> int | None:
        lo, hi = within if within is not None else (0, self.n - length)
        hi = min(hi, self.n - length)
        if hi <= lo:
            return None
        for _ in range(50):
            start = int(self.rng.integers(lo, hi))
            if all(start + length + OUTAGE_GAP < a or start > b + OUTAGE_GAP for a, b in self.taken):
                self.taken.append((start, start + length))
                return start
        return None

    def outage_add(
        self, kind: str, start: int, length: int, factor: float, *, in_busy_day: bool = False
    ) -> None:
        rows = np.arange(self.shares.size)
        cities: tuple[int, ...] = ()
        if kind == "regional":
            picked = self.rng.choice(len(CITIES), int(self.rng.integers(1, 4)), replace=False)
            cities = tuple(sorted(int(c) for c in picked))
            rows = np.asarray(cities)
        end = min(self.n, start + length)
        added = (factor - 1) * self.usual[None, start:end] * self.shares[rows, None]
        self.outage[rows, start:end] += added
        self.events.append(Event(kind, start, end, factor, cities, float(added.sum()), in_busy_day))

    def outage_random(self, kind: str, within: tuple[int, int] | None = None) -> None:
        length = int(_log_uniform(self.rng, 15, 240))
        start = self.place(length, within)
        if start is not None:
            factor = _log_uniform(self.rng, 3, 30)
            self.outage_add(kind, start, length, factor, in_busy_day=within is not None)

    def counts(self, alpha: float) -> np.ndarray:
        """(rows, n) gamma-Poisson counts per minute (the 5-minute alpha as in bench.series)."""
        national = self.usual * (1 + self.extra) + self.bursts
        rate = national[None, :] * self.shares[:, None] + self.outage
        b = BUCKET
        return self.rng.poisson(rate * self.rng.gamma(1 / (alpha * b), alpha * b, rate.shape)).astype(float)


def _shares(rng: np.random.Generator) -> np.ndarray:
    shares = CITY_SHARES * rng.uniform(0.6, 1.4, len(CITIES))
    shares = np.r_[shares, max(0.15, 1 - shares.sum())]
    return shares / shares.sum()


def generate_service(
    seed: int, index: int, mean_per_bucket: float, *, days: int = DAYS, warmup_days: int = 7
) -> Series:
    """One service, drawn from its own generator (seed, index): the same with the same three."""
    rng = np.random.default_rng([seed, index])
    first_minute = int(START.timestamp()) // 60
    n = days * 1440
    usual5, day5 = _rhythm(rng, n // BUCKET, first_minute)
    usual = np.repeat(usual5 * mean_per_bucket / BUCKET, BUCKET)
    day = np.repeat(day5, BUCKET)
    warmup = warmup_days * 1440
    b = _Builder(rng, usual, _shares(rng))

    # Lasting level shifts, after the first week so the baseline has known the old level.
    for _ in range(rng.poisson(0.6)):
        factor = _log_uniform(rng, 1.5, 3.0)
        if rng.random() < 0.5:
            factor = 1 / factor
        length = None if rng.random() < 0.5 else int(rng.integers(7, 22)) * 1440
        b.shift(int(rng.integers(warmup, n - 1440)), factor, int(rng.integers(60, 361)), length)

    # Busy days start in the local morning; about half hold an outage.
    day_starts = np.flatnonzero(np.r_[True, np.diff(day) != 0])
    busy: list[tuple[int, int]] = []
    for _ in range(rng.poisson(days / 14)):
        begin = int(rng.choice(day_starts)) + int(rng.integers(7 * 60, 11 * 60))
        length = int(rng.integers(8 * 60, 16 * 60 + 1))
        if begin + length >= n:
            continue
        b.busy_day(begin, length, _log_uniform(rng, 1.5, 3.0))
        busy.append((begin, begin + length))

    for _ in range(rng.poisson(days / 14)):
        b.news(
            int(rng.integers(0, n - 600)),
            rng.uniform(1.3, 2.5),
            int(rng.integers(30, 91)),
            int(rng.integers(180, 481)),
        )

    if rng.random() < 0.25:
        rise = int(rng.integers(3, 6)) * 1440
        flat = int(rng.integers(2, 5)) * 1440
        b.ramp(int(rng.integers(warmup, n - rise - flat)), rng.uniform(0.4, 0.8), rise, flat)

    burst_rate = _log_uniform(rng, 0.03, 1.5)
    b.hawkes(burst_rate, branching=0.6, span=(0, n), factors=(2.0, 20.0))

    for begin, end in busy:
        if begin >= warmup and rng.random() < 0.5:
            b.outage_random("outage" if rng.random() < 0.6 else "regional", within=(begin, end - 15))
    for _ in range(rng.poisson(2.5 * days / 35)):
        b.outage_random("outage")
    for _ in range(rng.poisson(1.5 * days / 35)):
        b.outage_random("regional")

    b.events.extend(
        Event("holiday", int(s), int(s) + int((day == day[s]).sum()), 1.0)
        for s in day_starts
        if day[s] in HOLIDAY_DAYS
    )
    counts = b.counts(alpha=rng.uniform(0.03, 0.12))
    return Series(
        name=f"bursty-{index:02d}",
        first_minute=first_minute,
        counts=counts.sum(axis=0),
        city_counts=counts[: len(CITIES)],
        usual=b.usual,
        events=tuple(sorted(b.events, key=lambda e: e.start_minute)),
        mean_per_bucket=mean_per_bucket,
        burst_rate=burst_rate,
    )


def sizes(services: int) -> np.ndarray:
    """Volumes from quiet (0.2 reports per 5 minutes) to busy (500), log-spaced."""
    return np.exp(np.linspace(np.log(0.2), np.log(500), services))


def generate(*, seed: int, services: int = 40, days: int = DAYS) -> Iterator[Series]:
    """The services one at a time (a series is about 6 MB): service i is the same whatever
    `services` is, given its volume."""
    for i, size in enumerate(sizes(services)):
        yield generate_service(seed, i, float(size), days=days)


@dataclass(frozen=True)
class PoisonScenario:
    poisoned: Series
    control: Series
    outage: Event
    attack_per_day: float  # the attacker's reports a day once flat


def poisoning_pair(
    seed: int, *, factor: float = 2.0, replicate: int = 0, mean_per_bucket: float = 8.0
) -> PoisonScenario:
    """42 days; from day 31 a ramp to +60% over 4 days, then flat to the end; on day 38, in the
    morning when the usual level reaches the day's mean, an outage of `factor` times for 60
    minutes, in both series. The issue's run had about 1,325 extra reports a day (so a usual
    of about 7.7 reports per 5 minutes) and a 15-minute baseline of 27.7 at the outage."""
    rng = np.random.default_rng([seed, 9999, int(factor * 10), replicate])
    days = 42
    first_minute = int(START.timestamp()) // 60
    n = days * 1440
    usual5, day5 = _rhythm(rng, n // BUCKET, first_minute)
    usual = np.repeat(usual5 * mean_per_bucket / BUCKET, BUCKET)
    day = np.repeat(day5, BUCKET)
    day_starts = np.flatnonzero(np.r_[True, np.diff(day) != 0])
    shares = _shares(rng)
    control = _Builder(rng, usual.copy(), shares)
    day38 = slice(int(day_starts[38]), int(day_starts[39]))
    morning = int(day_starts[38]) + 7 * 60
    outage_start = morning + int(np.argmax(usual[morning : day38.stop] >= usual[day38].mean()))
    control.outage_add("outage", outage_start, 60, factor)
    alpha = rng.uniform(0.03, 0.12)
    clean = control.counts(alpha)
    attack = _Builder(rng, usual.copy(), shares)
    attack.ramp(int(day_starts[31]), 0.6, 4 * 1440, None)
    attack_rate = attack.usual * attack.extra
    extra = rng.poisson(attack_rate[None, :] * shares[:, None]).astype(float)
    poisoned_counts = clean + extra
    outage = next(e for e in control.events if e.is_outage)

    def series(name: str, counts: np.ndarray, events: list[Event]) -> Series:
        return Series(
            name=name,
            first_minute=first_minute,
            counts=counts.sum(axis=0),
            city_counts=counts[: len(CITIES)],
            usual=usual,
            events=tuple(events),
            mean_per_bucket=mean_per_bucket,
        )

    return PoisonScenario(
        poisoned=series(f"poisoned-{factor:g}x", poisoned_counts, [attack.events[0], outage]),
        control=series(f"control-{factor:g}x", clean, [outage]),
        outage=outage,
        attack_per_day=float(attack_rate[-1440:].sum()),
    )
