"""Realistic report-count series with known truth, for the detection quality benchmark.

Each service has a daily and weekly rhythm in local time (Europe/Rome, across the March DST
change), slow growth or decline, day-to-day level swings and overdispersed (gamma-Poisson)
noise, split over eight cities and an unattributed rest. On top: national outages and regional
outages (1-3 cities) of 3x-30x lasting 15 minutes to 4 hours, starting at any minute (some fall
in the first week, which the detector only ever sees as history), news-driven bumps of
1.3-1.5x for one to two hours, and stray blips of 2-5 reports on sparse services.

With ``minutes=True`` every service also gets the same truth at one-minute resolution, for
measuring the live pass (which scores a sliding 5-minute bucket every minute): the same
schedule, levels and events, outages starting and ending at their exact minute, and noise drawn
per minute from a separate generator (so the 5-minute series are unchanged). A minute with rate
r gets Poisson(r * G), G ~ Gamma(shape 1 / (5 alpha), scale 5 alpha): five minutes of equal rate
then sum to exactly the 5-minute model, Poisson(5 r * Gamma(1 / alpha, alpha)), and that holds
for every 5-minute window, aligned with the buckets or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from outages.detection import local_fields

CITIES = ("Roma", "Milano", "Napoli", "Torino", "Palermo", "Genova", "Bologna", "Firenze")
CITY_SHARES = np.array([0.20, 0.18, 0.10, 0.08, 0.05, 0.04, 0.04, 0.04])  # rest: unattributed


@dataclass(frozen=True)
class Event:
    kind: str  # "outage" (national), "regional", "media", "blip"
    start_minute: int  # from the first bucket's start
    end_minute: int
    multiplier: float
    cities: tuple[int, ...]  # indices into CITIES; empty for national events
    expected_excess: float  # reports the event adds, in expectation
    city_excess: tuple[float, ...]  # the same per city


@dataclass(frozen=True)
class Series:
    name: str
    timestamps: np.ndarray  # UTC bucket starts, epoch seconds
    counts: np.ndarray  # national total
    city_counts: np.ndarray  # (len(CITIES), T)
    events: tuple[Event, ...]
    mean_per_bucket: float
    # With generate(minutes=True): the same truth per minute, (T * bucket_minutes,) and (C, ...).
    minute_counts: np.ndarray | None = None
    minute_city_counts: np.ndarray | None = None


def _diurnal(minute_of_day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hours = minute_of_day / 60
    peaks = ((9.5, 2.0, 0.6), (13.0, 2.5, 0.8), (21.0, 1.5, 1.0))
    curve = np.full(hours.shape, 0.12)
    for centre, width, height in peaks:
        centre += rng.uniform(-1, 1)
        height *= rng.uniform(0.7, 1.3)
        curve += height * np.exp(-0.5 * ((hours - centre) / width) ** 2)
    return curve


def _overlap_fraction(start: int, end: int, bucket_minutes: int, n: int) -> np.ndarray:
    edges = np.arange(n) * bucket_minutes
    lo = np.maximum(edges, start)
    hi = np.minimum(edges + bucket_minutes, end)
    return np.clip(hi - lo, 0, None) / bucket_minutes


def _place(rng: np.random.Generator, taken: list[tuple[int, int]], total: int, length: int) -> int | None:
    # Events keep two hours apart so that each alarm can be blamed on one of them.
    for _ in range(50):
        start = int(rng.integers(0, total - length))
        if all(start + length + 120 < a or start > b + 120 for a, b in taken):
            taken.append((start, start + length))
            return start
    return None


def generate_service(
    rng: np.random.Generator,
    name: str,
    *,
    days: int,
    bucket_minutes: int,
    timezone: str,
    start: datetime,
    mean_per_bucket: float,
    minute_rng: np.random.Generator | None = None,
) -> Series:
    n = days * 1440 // bucket_minutes
    ts = int(start.timestamp()) + np.arange(n) * bucket_minutes * 60
    day, weekday, slot = local_fields(ts, timezone=timezone, bucket_minutes=bucket_minutes)
    shape = _diurnal(slot * bucket_minutes + bucket_minutes / 2, rng)
    weekly = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 0.85, 0.8])
    if rng.random() < 0.3:  # leisure services are busier at weekends
        weekly = weekly[::-1] * 1.1
    shape = shape * weekly[weekday]
    growth = 1 + rng.uniform(-0.1, 0.5) * np.arange(n) / n
    day_level = np.exp(rng.normal(0, 0.07, day.max() - day.min() + 1))[day - day.min()]
    base = shape / shape.mean() * mean_per_bucket * growth * day_level

    shares = CITY_SHARES * rng.uniform(0.6, 1.4, len(CITIES))
    shares = np.r_[shares, max(0.15, 1 - shares.sum())]
    shares /= shares.sum()
    mult = np.ones((len(shares), n))  # per city, last row = unattributed rest
    events: list[Event] = []
    taken: list[tuple[int, int]] = []
    total = n * bucket_minutes

    def add(kind: str, count: int, lengths: tuple[float, float], factors: tuple[float, float]):
        for _ in range(count):
            length = int(np.exp(rng.uniform(np.log(lengths[0]), np.log(lengths[1]))))
            begin = _place(rng, taken, total, length)
            if begin is None:
                continue
            if kind == "media":
                factor = rng.uniform(*factors)
            else:
                factor = float(np.exp(rng.uniform(np.log(factors[0]), np.log(factors[1]))))
            cities: tuple[int, ...] = ()
            rows = np.arange(len(shares))
            if kind == "regional":
                cities = tuple(sorted(rng.choice(len(CITIES), int(rng.integers(1, 4)), replace=False)))
                rows = np.asarray(cities)
            frac = _overlap_fraction(begin, begin + length, bucket_minutes, n)
            mult[rows] += (factor - 1) * frac
            city_excess = (factor - 1) * (frac * base).sum() * shares[: len(CITIES)]
            if kind == "regional":
                city_excess = np.where(np.isin(np.arange(len(CITIES)), cities), city_excess, 0)
                excess = float(city_excess.sum())
            else:
                excess = float((factor - 1) * (frac * base).sum())
            events.append(Event(kind, begin, begin + length, factor, cities, excess, tuple(city_excess)))

    add("outage", max(1, rng.poisson(2.5)), (15, 240), (3, 30))
    add("regional", rng.poisson(1.5), (15, 240), (3, 30))
    add("media", rng.poisson(2), (60, 120), (1.3, 1.5))

    alpha = rng.uniform(0.03, 0.12)
    rate = base[None, :] * shares[:, None] * mult
    counts = rng.poisson(rate * rng.gamma(1 / alpha, alpha, rate.shape)).astype(float)
    if mean_per_bucket < 0.5:
        for _ in range(rng.poisson(days)):
            at = int(rng.integers(0, n))
            reports = int(rng.integers(2, 6))
            row = int(rng.integers(0, len(shares)))
            counts[row, at] += reports
            cities = (row,) if row < len(CITIES) else ()
            minute = at * bucket_minutes
            excess = tuple(float(reports if i == row else 0) for i in range(len(CITIES)))
            events.append(Event("blip", minute, minute + bucket_minutes, 0, cities, reports, excess))
    events.sort(key=lambda e: e.start_minute)
    minute_counts = None
    if minute_rng is not None:
        minute_counts = _per_minute(minute_rng, base, shares, events, alpha, bucket_minutes)
    return Series(
        name=name,
        timestamps=ts,
        counts=counts.sum(axis=0),
        city_counts=counts[: len(CITIES)],
        events=tuple(events),
        mean_per_bucket=mean_per_bucket,
        minute_counts=None if minute_counts is None else minute_counts.sum(axis=0),
        minute_city_counts=None if minute_counts is None else minute_counts[: len(CITIES)],
    )


def _per_minute(
    rng: np.random.Generator,
    base: np.ndarray,
    shares: np.ndarray,
    events: list[Event],
    alpha: float,
    bucket_minutes: int,
) -> np.ndarray:
    """(rows, minutes) counts with the buckets' rates spread evenly over their minutes."""
    b = bucket_minutes
    mult = np.ones((len(shares), base.size * b))
    rate = np.repeat(base, b)[None, :] / b * shares[:, None]
    blips: list[Event] = []
    for e in events:
        if e.kind == "blip":
            blips.append(e)
            continue
        rows = list(e.cities) if e.kind == "regional" else slice(None)
        mult[rows, e.start_minute : e.end_minute] += e.multiplier - 1
    rate = rate * mult
    counts = rng.poisson(rate * rng.gamma(1 / (alpha * b), alpha * b, rate.shape)).astype(float)
    for e in blips:
        row = e.cities[0] if e.cities else len(shares) - 1
        counts[row, e.start_minute + int(rng.integers(0, b))] += e.expected_excess
    return counts


def generate(
    *,
    seed: int = 20260324,
    services: int = 40,
    days: int = 35,
    bucket_minutes: int = 5,
    timezone: str = "Europe/Rome",
    start: datetime = datetime(2026, 3, 9, tzinfo=UTC),
    minutes: bool = False,
) -> list[Series]:
    """Services from sparse (0.05 reports per bucket) to busy (200), log-uniformly.

    ``minutes=True`` adds the per-minute counts (see the module docstring); the rest is identical.
    """
    rng = np.random.default_rng(seed)
    sizes = np.exp(np.linspace(np.log(0.05), np.log(200), services))
    return [
        generate_service(
            rng,
            f"service-{i:02d}",
            days=days,
            bucket_minutes=bucket_minutes,
            timezone=timezone,
            start=start,
            mean_per_bucket=float(size),
            minute_rng=np.random.default_rng([seed, i]) if minutes else None,
        )
        for i, size in enumerate(sizes)
    ]
