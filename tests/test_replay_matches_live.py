"""`backtest` is the live detector on a file: on the same per-minute series, the live pass
(counts in PostgreSQL, nightly baselines, detection passes) and outages.replay (no database)
open the same incidents, with the same start, end and peak, and record the same escalations."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from outages import replay
from outages.baselines import baselines_rebuild
from outages.detection import DetectParams
from outages.detection_pass import detection_run_range
from outages.models import Baseline, Incident, IncidentEscalation
from outages.replay import replay_minutes
from reports.models import CityMinute, ServiceMinute
from tests.detection_helpers import city

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
# Eight quiet days, then a day with a national outage in the afternoon that gets three times
# worse after 45 minutes (an escalation) and, later, a regional one in Milan only (no DST
# change in between).
FIRST = dt.datetime(2026, 5, 4, 0, 0, tzinfo=ROME)
DAYS = 9


def _series(seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Per-minute national counts and Milan's part of them, with a daily rhythm."""
    rng = np.random.default_rng(seed)
    n = DAYS * 1440
    minute_of_day = np.arange(n) % 1440
    rate = 2.0 + 3.0 * np.sin(np.pi * np.clip((minute_of_day - 420) / 960, 0, 1))
    last_day = (DAYS - 1) * 1440
    national = rate.copy()
    national[last_day + 16 * 60 : last_day + 17 * 60 + 30] *= 9  # 16:00-17:30, everywhere
    national[last_day + 16 * 60 + 45 : last_day + 17 * 60 + 15] *= 3  # 16:45-17:15, worse
    milan_rate = rate * 0.2
    milan_rate[last_day + 20 * 60 : last_day + 20 * 60 + 40] *= 12  # 20:00-20:40, Milan only
    milan = rng.poisson(milan_rate)
    elsewhere = rng.poisson(np.maximum(national - rate * 0.2, 0.0))
    return milan + elsewhere, milan


def _store(service, counts: np.ndarray, milan_counts: np.ndarray) -> None:
    milan = city("Milan", name_it="Milano")
    start = FIRST.astimezone(dt.UTC)
    moments = [start + dt.timedelta(minutes=i) for i in range(counts.size)]
    ServiceMinute.objects.bulk_create(
        [
            ServiceMinute(service=service, minute=m, count=int(c))
            for m, c in zip(moments, counts, strict=True)
            if c
        ],
        batch_size=5000,
    )
    CityMinute.objects.bulk_create(
        [
            CityMinute(service=service, city=milan, minute=m, count=int(c))
            for m, c in zip(moments, milan_counts, strict=True)
            if c
        ],
        batch_size=5000,
    )


def test_the_live_pass_and_backtest_open_the_same_incidents_on_the_same_minutes(chatgpt):
    counts, milan = _series()
    _store(chatgpt, counts, milan)
    last_day = FIRST + dt.timedelta(days=DAYS - 1)
    # The nightly rebuild before the last day reads the days before it, as the replay does.
    baselines_rebuild(now=last_day.astimezone(dt.UTC))
    detection_run_range(start=last_day, end=last_day + dt.timedelta(days=1) - dt.timedelta(minutes=1))
    live = [
        (incident.started_at, incident.resolved_at, incident.peak_count, incident.peak_at)
        for incident in Incident.objects.order_by("started_at")
    ]

    first_minute = int(FIRST.timestamp()) // 60
    replayed = replay_minutes(
        first_minute, counts, timezone=chatgpt.timezone, city_counts=milan[None, :], city_names=["Milan"]
    )
    day_start = int(last_day.timestamp()) // 60

    def at(minute: int | None) -> dt.datetime | None:
        return None if minute is None else dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)

    backtest = [
        (at(i.started_at), at(i.resolved_at), i.peak_count, at(i.peak_at))
        for i in replayed.incidents
        if i.opened_at >= day_start
    ]
    assert len(live) == 2  # the national outage and Milan's
    assert backtest == live
    live_escalations = [
        (e.incident.started_at, e.at, e.count, e.previous_peak, e.baseline)
        for e in IncidentEscalation.objects.select_related("incident").order_by("at")
    ]
    replayed_escalations = [
        (at(i.started_at), at(minute), count, previous_peak, baseline)
        for i in replayed.incidents
        if i.opened_at >= day_start
        for minute, count, baseline, previous_peak in i.escalations
    ]
    # One escalation, in the national outage, once its second wave has doubled the peak.
    assert len(live_escalations) == 1
    assert [e[:4] for e in replayed_escalations] == [e[:4] for e in live_escalations]
    # The baseline too, but the stored profiles are float32.
    assert [e[4] for e in replayed_escalations] == pytest.approx([e[4] for e in live_escalations])
    wave = (last_day + dt.timedelta(hours=16, minutes=45)).astimezone(dt.UTC)
    assert wave < live_escalations[0][1] < wave + dt.timedelta(minutes=15)
    # Each opened with the reports that opened it: the start is inside the outage windows.
    assert live[0][0] <= (last_day + dt.timedelta(hours=16, minutes=5)).astimezone(dt.UTC)
    assert live[0][3] >= live[0][0]


def test_the_nightly_rebuild_and_a_replay_calibrate_a_city_beside_its_service(chatgpt):
    # The same days, each with a 30-minute block of the whole service at eight times its
    # usual, at a different hour every day (seen in Milan at its share): the service's bars
    # learn its blocks, Milan's do not, in the stored profiles as in a replay's.
    counts, milan = _series()
    rng = np.random.default_rng(3)
    for day in range(DAYS - 1):
        start = day * 1440 + int(rng.integers(8 * 60, 22 * 60))
        counts[start : start + 30] *= 8
        milan[start : start + 30] *= 8
    _store(chatgpt, counts, milan)
    last_day = FIRST + dt.timedelta(days=DAYS - 1)
    baselines_rebuild(now=last_day.astimezone(dt.UTC))

    stored = {b.city_id is None: b.bars for b in Baseline.objects.filter(service=chatgpt, country_code="")}
    first_minute = int(FIRST.timestamp()) // 60
    _, _, _, bars, _, _, _, city_bars = replay._minute_profiles(
        first_minute, counts.astype(float), milan[None, :].astype(float), timezone=chatgpt.timezone, bucket=5
    )
    day_start = int(last_day.timestamp()) // 60 - first_minute

    threshold = DetectParams().threshold
    assert max(stored[True]) > threshold + 10  # the service's: its blocks are its habit
    # Milan's: not its rises (what is left is its own noise beside the blocks, a tenth of it).
    assert max(stored[False]) - threshold < (max(stored[True]) - threshold) / 10
    assert stored[True] == pytest.approx(list(bars[day_start]))
    assert stored[False] == pytest.approx(list(city_bars[0, day_start]))


def test_after_an_unreviewed_incident_the_nightly_rebuild_learns_what_a_replay_learns(chatgpt):
    # Two earlier blocks of the whole service, each an incident nobody reviewed: the stored
    # profile (baseline, noise model, bars) is the one the replay builds for the same night,
    # which knows no reviews. Left out live, they would give the live pass another detector.
    counts, milan = _series()
    blocks = [(2 * 1440 + 15 * 60, 45), (5 * 1440 + 11 * 60, 45)]
    for start, minutes in blocks:
        counts[start : start + minutes] *= 8
    _store(chatgpt, counts, milan)
    for start, minutes in blocks:
        began = (FIRST + dt.timedelta(minutes=start)).astimezone(dt.UTC)
        ended = began + dt.timedelta(minutes=minutes)
        Incident.objects.create(
            service=chatgpt,
            started_at=began,
            last_spike_at=ended,
            last_elevated_at=ended,
            resolved_at=ended + dt.timedelta(minutes=30),
            peak_at=began,
        )
    last_day = FIRST + dt.timedelta(days=DAYS - 1)
    baselines_rebuild(now=last_day.astimezone(dt.UTC))

    stored = Baseline.objects.get(service=chatgpt, city=None, country_code="")
    first_minute = int(FIRST.timestamp()) // 60
    expected, alpha, beta, bars, *_ = replay._minute_profiles(
        first_minute, counts.astype(float), milan[None, :].astype(float), timezone=chatgpt.timezone, bucket=5
    )
    day_start = int(last_day.timestamp()) // 60 - first_minute
    day = slice(day_start, day_start + 1440)
    per_minute = stored.expected_per_minute(first_minute + np.arange(day.start, day.stop))
    assert per_minute == pytest.approx(expected[day], rel=1e-6)
    assert (stored.alpha, stored.beta) == pytest.approx((alpha[day_start], beta[day_start]))
    assert stored.bars == pytest.approx(list(bars[day_start]))
