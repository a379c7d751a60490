"""`manage.py backtest`: replaying a CSV export through the detector (no database)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def _stamps(n: int, minutes: int = 5) -> list[str]:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    return [(start + timedelta(minutes=minutes * i)).isoformat().replace("+00:00", "Z") for i in range(n)]


def test_an_outage_on_the_last_day_is_flagged_and_nothing_before_it(tmp_path):
    rng = np.random.default_rng(5)
    n = 10 * 288
    counts = rng.poisson(20, n)
    counts[-30:-20] = 200
    source = _write(tmp_path / "in.csv", ["timestamp", "count"], list(zip(_stamps(n), counts, strict=True)))
    out = tmp_path / "out.csv"

    call_command("backtest", str(source), output=str(out), timezone="Europe/Rome")

    rows = _read(out)
    assert list(rows[0]) == [
        "timestamp",
        "count",
        "baseline",
        "score",
        "is_spike",
        "status",
        "incident",
        "opened",
    ]
    assert [r["timestamp"] for r in rows] == _stamps(n)
    spikes = [i for i, r in enumerate(rows) if r["is_spike"] == "true"]
    assert spikes and min(spikes) == n - 30
    assert rows[0]["baseline"] == ""  # no history yet on the first day
    assert float(rows[-1]["baseline"]) == pytest.approx(20, rel=0.15)
    # One incident, from the outage's first bucket, opened once, an outage while it lasts.
    assert [i for i, r in enumerate(rows) if r["opened"] == "true"] == [n - 30]
    inside = [i for i, r in enumerate(rows) if r["incident"]]
    assert {rows[i]["incident"] for i in inside} == {"1"} and inside[0] == n - 30
    assert inside == list(range(n - 30, inside[-1] + 1))
    assert {rows[i]["status"] for i in range(n - 30, n - 20)} == {"outage"}
    assert {r["status"] for r in rows[: n - 30]} <= {"ok", "warning"}


def test_long_input_names_the_cities_of_a_regional_outage(tmp_path):
    rng = np.random.default_rng(6)
    n = 8 * 288
    stamps = _stamps(n)
    rows = []
    for i, stamp in enumerate(stamps):
        for city, rate in (("Milano", 10), ("Roma", 10), ("Bologna", 2)):
            count = rng.poisson(rate * (8 if city == "Bologna" and i >= n - 12 else 1))
            rows.append([stamp, city, count])
        rows.append([stamp, "", rng.poisson(10)])  # reports we could not place
    source = _write(tmp_path / "long.csv", ["timestamp", "city", "count"], rows)
    out = tmp_path / "out.csv"

    call_command("backtest", str(source), output=str(out))

    result = _read(out)
    assert len(result) == n
    assert list(result[0]) == [
        "timestamp",
        "count",
        "baseline",
        "score",
        "is_spike",
        "cities",
        "status",
        "incident",
        "opened",
    ]
    assert int(result[0]["count"]) == sum(r[2] for r in rows[:4])
    flagged = [r for r in result if r["is_spike"] == "true"]
    assert flagged and {r["cities"] for r in flagged} == {"Bologna"}
    assert result.index(flagged[0]) >= n - 12
    # A regional outage: the national total barely moves, the status says warning.
    assert {r["status"] for r in flagged} == {"warning"}
    assert [r["opened"] for r in result].count("true") == 1


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (["time", "count"], [["2026-03-01T00:00Z", 1]], "expected columns"),
        (["timestamp", "count"], [["yesterday", 1], ["2026-03-01T00:05Z", 1]], "not an ISO 8601"),
        (["timestamp", "count"], [["2026-03-01T00:00Z", "x"], ["2026-03-01T00:05Z", 1]], "not a number"),
        (
            ["timestamp", "count"],
            [["2026-03-01T00:00Z", 1], ["2026-03-01T00:05Z", 1], ["2026-03-01T00:12Z", 1]],
            "irregular buckets",
        ),
        (["timestamp", "count"], [["2026-03-01T00:05Z", 1], ["2026-03-01T00:00Z", 1]], "ascending"),
        (["timestamp", "count"], [["2026-03-01T00:00Z", 1], ["2026-03-01T00:00Z", 1]], "twice"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path, header, rows, message):
    source = _write(tmp_path / "bad.csv", header, rows)

    with pytest.raises(CommandError, match=message):
        call_command("backtest", str(source), output=str(tmp_path / "out.csv"))

    assert not (tmp_path / "out.csv").exists()


def test_an_unknown_time_zone_or_missing_file_is_a_clear_error(tmp_path):
    source = _write(tmp_path / "in.csv", ["timestamp", "count"], [[s, 1] for s in _stamps(3)])

    with pytest.raises(CommandError, match="unknown time zone"):
        call_command("backtest", str(source), output=str(tmp_path / "o.csv"), timezone="Mars/Olympus")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("backtest", str(tmp_path / "nope.csv"), output=str(tmp_path / "o.csv"))


def test_missing_buckets_count_as_zero_and_are_not_written(tmp_path):
    stamps = _stamps(2 * 288)
    kept = [s for i, s in enumerate(stamps) if i % 7]
    source = _write(tmp_path / "gaps.csv", ["timestamp", "count"], [[s, 3] for s in kept])
    out = tmp_path / "out.csv"

    call_command("backtest", str(source), output=str(out))

    assert [r["timestamp"] for r in _read(out)] == kept
