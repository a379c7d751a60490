"""Replay an exported report-count series through the live detector.

    python manage.py backtest INPUT.csv --output OUT.csv [--timezone Europe/Rome]

INPUT is ``timestamp,count`` or the long format ``timestamp,city,count`` (rows with an empty
city count towards the total only). Timestamps are ISO 8601, ascending, one bucket size
throughout (inferred; missing buckets count as zero reports); without an offset they are UTC.
OUT has one row per input bucket: ``timestamp,count,baseline,score,is_spike`` and, for long
input, ``cities``. The replay is causal: profiles are rebuilt at each local midnight from the
data before it, as the nightly rebuild does in production (outages.detection.backtest).
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

from outages import detection


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


def series_backtest(series: Series, *, timezone: str) -> detection.BacktestResult:
    """Fill missing buckets with zero reports, run the detector, keep the input's buckets."""
    step = series.bucket_minutes * 60
    index = (series.timestamps - series.timestamps[0]) // step
    full_ts = series.timestamps[0] + np.arange(index[-1] + 1) * step
    counts = np.zeros(full_ts.size)
    counts[index] = series.counts
    city_counts = None
    if series.city_counts is not None:
        city_counts = np.zeros((series.city_counts.shape[0], full_ts.size))
        city_counts[:, index] = series.city_counts
    result = detection.backtest(
        full_ts,
        counts,
        bucket_minutes=series.bucket_minutes,
        timezone=timezone,
        city_counts=city_counts,
        city_names=series.city_names,
    )
    return detection.BacktestResult(
        baseline=result.baseline[index],
        score=result.score[index],
        is_spike=result.is_spike[index],
        cities=[result.cities[i] for i in index],
    )


def _number(value: float, digits: int) -> str:
    if math.isnan(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}"


def rows_write(stream: TextIO, series: Series, result: detection.BacktestResult) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    header = ["timestamp", "count", "baseline", "score", "is_spike"]
    long_format = series.city_counts is not None
    writer.writerow([*header, "cities"] if long_format else header)
    rows: Iterable[tuple] = zip(
        series.labels, series.counts, result.baseline, result.score, result.is_spike, strict=True
    )
    for i, (label, count, baseline, score, spike) in enumerate(rows):
        row = [label, _number(count, 3), _number(baseline, 3), f"{score:.2f}", str(bool(spike)).lower()]
        if long_format:
            row.append(";".join(result.cities[i]))
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
            f"{spikes} flagged as spikes; written to {Path(output)}"
        )
