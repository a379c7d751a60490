"""The bursty bench's truth: bursts and other busy stretches are not outages, outages are,
and a seed gives the same series (bench/bursty_series.py, bench/detection_bursty.py)."""

from __future__ import annotations

import itertools

import numpy as np

from bench.bursty_series import OUTAGE_GAP, Event, generate, generate_service, poisoning_pair
from bench.detection_bursty import Opened, Score, evaluate, outage_result, summary


def test_bursts_and_busy_stretches_are_not_labelled_outages():
    kinds = set()
    for series in generate(seed=1, services=6):
        for event in series.events:
            kinds.add(event.kind)
            assert event.is_outage == (event.kind in ("outage", "regional"))
            assert not event.observable or event.is_outage
        assert all(e.kind in ("outage", "regional") for e in series.outages)
    assert {"single", "block", "busy", "holiday", "news"} <= kinds


def test_a_burst_raises_the_counts_it_is_labelled_with():
    series = generate_service(1, 0, 500.0)
    block = next(e for e in series.events if e.kind == "block" and e.multiplier > 3)
    window = slice(block.start_minute, block.end_minute)
    assert series.counts[window].sum() > 2 * series.usual[window].sum()


def test_outages_are_in_the_truth_with_their_reports_and_two_hours_apart():
    series = generate_service(1, 39, 500.0)
    outages = series.outages
    assert outages and all(e.observable for e in outages)
    for e in outages:
        window = slice(e.start_minute, e.end_minute)
        assert series.counts[window].sum() > series.usual[window].sum() + e.expected_excess / 2
    spans = sorted((e.start_minute, e.end_minute) for e in outages)
    assert all(b[0] - a[1] > OUTAGE_GAP for a, b in itertools.pairwise(spans))


def test_the_poisoned_series_differs_from_its_control_by_the_attackers_reports_only():
    scenario = poisoning_pair(3)
    ramp = next(e for e in scenario.poisoned.events if e.kind == "ramp")
    extra = scenario.poisoned.counts - scenario.control.counts
    assert (extra >= 0).all()
    assert extra[: ramp.start_minute].sum() == 0
    assert extra[-1440:].sum() > 0.4 * scenario.attack_per_day
    assert scenario.outage in scenario.control.events and scenario.outage in scenario.poisoned.events
    assert (
        scenario.outage.multiplier == 2.0 and scenario.outage.end_minute - scenario.outage.start_minute == 60
    )


def test_a_seed_gives_the_same_series():
    a, b = generate_service(7, 3, 5.0), generate_service(7, 3, 5.0)
    assert a.events == b.events
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.city_counts, b.city_counts)
    assert generate_service(8, 3, 5.0).events != a.events


def test_an_incident_opened_by_a_burst_is_false_and_one_in_an_outage_is_found():
    series = generate_service(1, 39, 500.0)
    first = 7 * 1440
    outage = next(e for e in series.outages if e.start_minute > first)
    burst = next(
        e
        for e in series.events
        if e.kind == "single"
        and e.start_minute > first
        and all(not (o.start_minute - 120 < e.start_minute < o.end_minute + 120) for o in series.outages)
        and all(
            x.kind in ("single", "block")
            for x in series.events
            if x.start_minute <= e.start_minute < x.end_minute + 60
        )
    )
    incidents = [
        Opened(
            started=outage.start_minute - 2, opened=outage.start_minute + 3, resolved=outage.end_minute + 30
        ),
        Opened(started=burst.start_minute, opened=burst.start_minute + 4, resolved=burst.start_minute + 40),
    ]
    score = Score()
    evaluate(series, incidents, score)
    found = next(r for r in score.outages if r.event == outage)
    assert found.alerted and found.delay == 4 and found.start_error == -2
    assert score.false_by_cause["single"] + score.false_by_cause["block"] == 1
    assert score.false_incidents == 1


def test_an_outage_inside_an_open_incident_is_found_when_that_incident_escalates_during_it():
    outage = Event("outage", 1000, 1060, 5.0, expected_excess=300.0)
    before = Opened(started=900, opened=905, resolved=1200, escalations=(930,))
    during = Opened(started=900, opened=905, resolved=1200, escalations=(930, 1008))

    missed = outage_result(outage, [before])
    found = outage_result(outage, [during])

    assert missed.inside_open and not missed.escalated
    assert found.inside_open and found.escalated
    score = Score(outages=[missed, found])
    assert (summary(score)["inside_open"], summary(score)["escalated"]) == (2, 1)


def test_an_outage_that_re_opens_a_resolved_incident_is_alerted_from_the_re_opening():
    outage = Event("outage", 1000, 1060, 5.0, expected_excess=300.0)
    # Opened at 905, resolved at 960, re-opened at 1004 by a rise from 1001.
    reopened = Opened(started=900, opened=905, resolved=1200, reopenings=((1004, 1001, 960),))
    # Resolved at 960 and re-opened only at 1100, after the outage: it was not open at 1000.
    too_late = Opened(started=900, opened=905, resolved=1200, reopenings=((1100, 1098, 960),))

    found = outage_result(outage, [reopened])
    missed = outage_result(outage, [too_late])

    assert found.alerted and (found.delay, found.start_error) == (5, 1)
    assert not missed.covered and not missed.alerted


def test_five_minute_input_is_read_as_backtest_reads_a_file_of_five_minute_counts():
    """`--input-bucket 5` replays what `manage.py backtest` makes of the series written as a
    CSV of 5-minute counts per city (the held-out real series' form): the same incidents."""
    import csv
    import datetime as dt
    import io

    from bench.detection_bursty import TIMEZONE, replay_series
    from bench.series import CITIES
    from outages.management.commands.backtest import series_backtest, series_read

    series = generate_service(2, 12, 20.0)
    national = series.counts.reshape(-1, 5).sum(axis=1)
    cities = series.city_counts.reshape(len(CITIES), -1, 5).sum(axis=2)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["timestamp", "city", "count"])
    for i, total in enumerate(national):
        moment = dt.datetime.fromtimestamp((series.first_minute + 5 * i) * 60, tz=dt.UTC).isoformat()
        for name, counts in zip(CITIES, cities, strict=True):
            writer.writerow([moment, name, f"{counts[i]:g}"])
        writer.writerow([moment, "", f"{total - cities[:, i].sum():g}"])
    text.seek(0)
    from_file = series_backtest(series_read(text), timezone=TIMEZONE)

    found = replay_series(series, input_bucket=5)
    assert from_file.incidents == len(found.incidents) > 0
    np.testing.assert_array_equal(from_file.opened, found.opened.reshape(-1, 5).any(axis=1))


def test_an_outage_inside_an_open_incident_is_an_escalation_case_only_when_clearly_bigger():
    # An incident open from minute 900 on a flat 2 reports a minute, with a quarter-hour of 10
    # a minute (150: its peak so far) from 930; an outage from minute 1005.
    counts = np.full(1200, 2.0)
    counts[930:945] = 10.0
    incident = Opened(started=900, opened=905, resolved=1200)
    big = Event("outage", 1005, 1065, 12.0, expected_excess=1200.0)
    small = Event("outage", 1005, 1065, 8.0, expected_excess=840.0)
    bigger = counts.copy()
    bigger[1005:1065] = 24.0  # 360 in 15 minutes: 2.4 times the peak
    smaller = counts.copy()
    smaller[1005:1065] = 16.0  # 240: 1.6 times

    # The series' first minute is a quarter-hour, as its own minute 900 is.
    assert outage_result(big, [incident], bigger, first_minute=0).clearly_bigger
    assert not outage_result(small, [incident], smaller, first_minute=0).clearly_bigger
    # An outage that opened its own incident is no escalation case.
    own = Opened(started=1004, opened=1008, resolved=1100)
    assert not outage_result(big, [own], bigger, first_minute=0).clearly_bigger
