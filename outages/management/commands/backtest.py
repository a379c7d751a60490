"""Replay an exported report-count series through the live detector.

    python manage.py backtest INPUT.csv --output OUT.csv [--timezone Europe/Rome]

INPUT is ``timestamp,count`` or the long format ``timestamp,city,count`` (rows with an empty
city count towards the total only). Timestamps are ISO 8601, ascending, one bucket size
throughout (inferred: per minute, or 5, 15, ... minutes; missing buckets count as zero
reports); without an offset they are UTC. A bucket longer than a minute is spread evenly
over its minutes.

The replay is the live pass on the file (outages.replay): every minute the sliding 5-minute
bucket is scored against profiles rebuilt at each local midnight from the data before it,
spikes are held, cities tested, and incidents opened, extended, resolved and re-opened by
the live lifecycle. OUT has one row per input bucket:
``timestamp,count,baseline,score,is_spike`` (and ``cities`` for long input), then ``status``
(the public status at the bucket's last minute), ``incident`` (one number for every row of one
incident, blank outside one) and ``opened`` (true on the row where an incident opens).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from outages.replay import replay_minutes


@dataclass(frozen=True)
class Series:
    labels: list[str]  # the input's own timestamp text, one per input bucket
    timestamps: np.ndarray  # epoch seconds of the input buckets
    counts: np.ndarray  # national total per input bucket
    city_names: list[str]
    city_counts: np.ndarray | None  # (cities, buckets) for long input
    bucket_minutes: int


def _parse_time(text: str, line: int) -> int:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"line {line}: {text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _parse_count(text: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"line {line}: count {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise CommandError(f"line {line}: count {text!r} must be zero or more")
    return value


def series_read(stream: TextIO) -> Series:
    """Parse and validate the CSV; every problem is a CommandError naming the line."""
    reader = csv.DictReader(stream)
    columns = [c.strip() for c in reader.fieldnames or []]
    if "timestamp" not in columns or "count" not in columns:
        raise CommandError(
            f"expected columns timestamp,count or timestamp,city,count; got {','.join(columns) or 'nothing'}"
        )
    reader.fieldnames = columns
    long_format = "city" in columns
    labels: list[str] = []
    seconds: list[int] = []
    totals: list[float] = []
    per_city: dict[str, dict[int, float]] = {}
    for line, row in enumerate(reader, start=2):
        if row.get("timestamp") is None or row.get("count") is None:
            raise CommandError(f"line {line}: missing timestamp or count")
        moment = _parse_time(row["timestamp"], line)
        count = _parse_count(row["count"], line)
        if not seconds or moment != seconds[-1]:
            if seconds and moment < seconds[-1]:
                raise CommandError(f"line {line}: timestamps must be in ascending order")
            if seconds and not long_format and moment == seconds[-1]:
                raise CommandError(f"line {line}: timestamp {row['timestamp']} appears twice")
            labels.append(row["timestamp"].strip())
            seconds.append(moment)
            totals.append(0.0)
        elif not long_format:
            raise CommandError(f"line {line}: timestamp {row['timestamp']} appears twice")
        totals[-1] += count
        city = (row.get("city") or "").strip()
        if long_format and city:
            cells = per_city.setdefault(city, {})
            cells[len(seconds) - 1] = cells.get(len(seconds) - 1, 0.0) + count
    if len(seconds) < 2:
        raise CommandError("need at least two buckets to infer the bucket size")

    ts = np.asarray(seconds, dtype=np.int64)
    steps = np.diff(ts)
    step = int(steps.min())
    if step <= 0 or step % 60 or (1440 * 60) % step:
        raise CommandError(f"bucket size of {step} s is not a whole number of minutes dividing a day")
    irregular = np.flatnonzero(steps % step)
    if irregular.size:
        at = int(irregular[0]) + 1
        raise CommandError(
            f"irregular buckets: {labels[at]} is not a whole number of {step // 60}-minute buckets "
            f"after {labels[at - 1]}"
        )
    names = sorted(per_city)
    city_counts = None
    if long_format:
        city_counts = np.zeros((len(names), len(seconds)))
        for i, name in enumerate(names):
            for index, value in per_city[name].items():
                city_counts[i, index] = value
    return Series(labels, ts, np.asarray(totals), names, city_counts, step // 60)


@dataclass(frozen=True)
class BacktestRows:
    baseline: np.ndarray  # per input bucket
    score: np.ndarray
    is_spike: np.ndarray
    cities: list[list[str]]
    status: list[str]
    incident: list[int | None]
    opened: np.ndarray
    incidents: int


def _bucket_index(series: Series) -> np.ndarray:
    """Each input bucket's place among the series' buckets (gaps are missing buckets)."""
    return (series.timestamps - series.timestamps[0]) // (series.bucket_minutes * 60)


def series_minutes(series: Series) -> tuple[int, np.ndarray, np.ndarray | None]:
    """The series per minute, as the replay reads it: its first epoch minute, then the
    national and the city counts with each bucket spread evenly over its minutes (missing
    buckets are zero)."""
    b = series.bucket_minutes
    index = _bucket_index(series)
    n_buckets = int(index[-1]) + 1

    def spread(values: np.ndarray) -> np.ndarray:
        buckets = np.zeros(n_buckets)
        buckets[index] = np.asarray(values, dtype=float) / b
        return np.repeat(buckets, b)

    city_minutes = None
    if series.city_counts is not None:
        city_minutes = np.array([spread(values) for values in series.city_counts]).reshape(-1, n_buckets * b)
    return int(series.timestamps[0]) // 60, spread(series.counts), city_minutes


def series_backtest(series: Series, *, timezone: str) -> BacktestRows:
    """Spread the buckets over their minutes (series_minutes), replay the minutes through
    the live detector, and keep one row per input bucket."""
    b = series.bucket_minutes
    index = _bucket_index(series)
    first_minute, minutes, city_minutes = series_minutes(series)
    found = replay_minutes(
        first_minute, minutes, timezone=timezone, city_counts=city_minutes, city_names=series.city_names
    )
    panel = found.panel
    rows = BacktestRows(
        baseline=np.array([found.expected[i * b : (i + 1) * b].sum() for i in index]),
        score=np.array([panel.score[0, (i + 1) * b - 1] for i in index]),
        is_spike=np.array([panel.flagged[0, i * b : (i + 1) * b].any() for i in index]),
        cities=[_cities(found, i * b, (i + 1) * b) for i in index],
        status=[found.status[(i + 1) * b - 1] for i in index],
        incident=[_last_incident(found.incident[i * b : (i + 1) * b]) for i in index],
        opened=np.array([found.opened[i * b : (i + 1) * b].any() for i in index]),
        incidents=len(found.incidents),
    )
    return rows


def _cities(found, start: int, end: int) -> list[str]:
    """Cities flagged in the bucket, most reports above their baseline first."""
    panel = found.panel
    flagged = np.flatnonzero(panel.city_spike[:, start:end].any(axis=1))
    excess = panel.city_excess[:, start:end].sum(axis=1)
    return [found.city_names[i] for i in sorted(flagged, key=lambda i: (-excess[i], found.city_names[i]))]


def _last_incident(numbers: list[int | None]) -> int | None:
    present = [number for number in numbers if number is not None]
    return present[-1] if present else None


def _number(value: float, digits: int) -> str:
    if math.isnan(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}"


def rows_write(stream: TextIO, series: Series, result: BacktestRows) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    header = ["timestamp", "count", "baseline", "score", "is_spike"]
    long_format = series.city_counts is not None
    if long_format:
        header.append("cities")
    writer.writerow([*header, "status", "incident", "opened"])
    rows: Iterable[tuple] = zip(
        series.labels, series.counts, result.baseline, result.score, result.is_spike, strict=True
    )
    for i, (label, count, baseline, score, spike) in enumerate(rows):
        row = [label, _number(count, 3), _number(baseline, 3), f"{score:.2f}", str(bool(spike)).lower()]
        if long_format:
            row.append(";".join(result.cities[i]))
        number = result.incident[i]
        row += [result.status[i], "" if number is None else str(number), str(bool(result.opened[i])).lower()]
        writer.writerow(row)


class Command(BaseCommand):
    help = "Replay a report-count CSV through the spike detector and write its verdict per bucket."

    def add_arguments(self, parser) -> None:
        parser.add_argument("input", help="CSV: timestamp,count or timestamp,city,count")
        parser.add_argument("--output", required=True, help="CSV to write")
        parser.add_argument("--timezone", default="Europe/Rome", help="IANA zone of the service")

    def handle(self, *args, input: str, output: str, timezone: str, **options) -> None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"unknown time zone {timezone!r}") from None
        try:
            with open(input, newline="", encoding="utf-8-sig") as stream:
                series = series_read(stream)
        except OSError as error:
            raise CommandError(f"cannot read {input}: {error.strerror}") from None
        except (UnicodeDecodeError, csv.Error) as error:
            raise CommandError(f"{input} is not a readable CSV file: {error}") from None
        result = series_backtest(series, timezone=timezone)
        try:
            with open(output, "w", newline="", encoding="utf-8") as stream:
                rows_write(stream, series, result)
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        spikes = int(np.count_nonzero(result.is_spike))
        self.stdout.write(
            f"{len(series.labels)} buckets of {series.bucket_minutes} minutes, "
            f"{spikes} flagged as spikes, {result.incidents} incidents; written to {Path(output)}"
        )
