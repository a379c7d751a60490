"""Calibrated evidence, persistence, the status's hysteresis and re-arming (issue 20): the
pure parts, on small hand-built series (no database)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from outages.detection import (
    STATUS_MEMORY_MINUTES,
    CalibrationParams,
    DetectParams,
    detect,
    evidence_bars,
    evidence_tiers,
    window_buckets,
)
from outages.detection.scoring import persistent_buckets, window_scores
from outages.models import REARM_FACTOR, REARM_MINUTES, Incident

BUCKET = 5
PER_DAY = 1440 // BUCKET
DAYS = CalibrationParams().days
THRESHOLD = DetectParams().threshold


def _history(rate: float, *, seed: int = 1, days: int = DAYS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`days` days of Poisson counts at `rate` per bucket, their expected counts and days."""
    rng = np.random.default_rng(seed)
    n = days * PER_DAY
    return rng.poisson(rate, n).astype(float), np.full(n, rate), np.arange(n) // PER_DAY


def _bars(counts: np.ndarray, expected: np.ndarray, day: np.ndarray) -> np.ndarray:
    return evidence_bars(
        counts[None], expected[None], np.array([0.05]), np.array([0.01]), day, bucket_minutes=BUCKET
    )[0]


def test_a_calm_series_keeps_the_threshold_as_every_bar():
    bars = _bars(*_history(4.0))
    assert bars.tolist() == [THRESHOLD] * len(window_buckets(BUCKET))


def test_a_few_outages_in_the_history_do_not_raise_the_bars():
    # Four outages in four weeks are events, not the series' habit: a calibration that
    # learned from them would miss the fifth.
    counts, expected, day = _history(4.0)
    for d in (3, 10, 17, 24):
        counts[d * PER_DAY + 100 : d * PER_DAY + 124] *= 10
    assert _bars(counts, expected, day).tolist() == [THRESHOLD] * len(window_buckets(BUCKET))


def test_a_young_series_is_judged_on_the_days_it_has():
    # Half-hour blocks on five days: the habit of a series two weeks old (two a week), and
    # rarer than that over four weeks. One block in a series a week old is one event.
    def with_blocks(days: int, on: tuple[int, ...]) -> np.ndarray:
        counts, expected, day = _history(4.0, days=days)
        for d in on:
            counts[d * PER_DAY + 100 : d * PER_DAY + 106] = 40.0
        return _bars(counts, expected, day)

    half_hour = window_buckets(BUCKET).index(6)
    assert with_blocks(14, (1, 4, 7, 9, 12))[half_hour] > THRESHOLD
    assert with_blocks(DAYS, (1, 7, 13, 19, 25))[half_hour] == THRESHOLD
    assert with_blocks(7, (3,)).tolist() == [THRESHOLD] * len(window_buckets(BUCKET))


def test_daily_one_bucket_bursts_raise_the_one_bucket_bar_and_a_real_outage_still_clears_it():
    counts, expected, day = _history(4.0)
    rng = np.random.default_rng(2)
    for d in range(DAYS):
        counts[d * PER_DAY + rng.integers(0, PER_DAY)] = 4.0 * rng.uniform(4, 12)
    bars = _bars(counts, expected, day)
    one_bucket = window_buckets(BUCKET).index(1)
    assert bars[one_bucket] > THRESHOLD
    # Today's burst, like the history's, no longer reads as an outage; an hour at 5x does.
    today = np.full(36, 4.0)
    today[-1] = 40.0
    burst = detect(today, np.full(36, 4.0), 0.05, 0.01, bucket_minutes=BUCKET, bars=list(bars))
    assert burst.score[-1] < THRESHOLD
    today[-12:] = 20.0
    outage = detect(today, np.full(36, 4.0), 0.05, 0.01, bucket_minutes=BUCKET, bars=list(bars))
    assert outage.is_spike[-1]


def test_two_lone_bursts_in_four_weeks_raise_the_one_bucket_bar_only():
    # A burst over within five minutes is never an outage (an outage lasts): two of them in
    # four weeks are already the series' habit, where two outages would not be.
    counts, expected, day = _history(4.0)
    counts[5 * PER_DAY + 140] = 60.0
    counts[19 * PER_DAY + 90] = 70.0
    bars = _bars(counts, expected, day)
    assert bars[0] > THRESHOLD
    assert bars[1:].tolist() == [THRESHOLD] * (len(bars) - 1)

    def spikes_now(today: np.ndarray) -> bool:
        found = detect(today, np.full(today.size, 4.0), 0.05, 0.01, bucket_minutes=BUCKET, bars=list(bars))
        return bool(found.is_spike[-1])

    # Today's burst like theirs opens nothing; a quarter-hour at that level does.
    today = np.full(36, 4.0)
    today[-1] = 60.0
    assert not spikes_now(today)
    today[-3:] = 60.0
    assert spikes_now(today)


def test_outages_that_last_are_not_lone_bursts():
    # The same two rises lasting an hour each: outages, not a habit; every bar stays.
    counts, expected, day = _history(4.0)
    counts[5 * PER_DAY + 140 : 5 * PER_DAY + 152] = 60.0
    counts[19 * PER_DAY + 90 : 19 * PER_DAY + 102] = 70.0
    assert _bars(counts, expected, day).tolist() == [THRESHOLD] * len(window_buckets(BUCKET))


def _window_score(counts: np.ndarray, w: int) -> np.ndarray:
    scores = dict(window_scores(counts, np.full(counts.size, 4.0), 0.05, 0.01, bucket_minutes=BUCKET))
    return scores[w]


def test_a_longer_window_speaks_only_when_most_of_its_buckets_are_elevated():
    assert [persistent_buckets(w) for w in window_buckets(BUCKET)[1:]] == [3, 5, 8]
    counts = np.full(24, 4.0)
    counts[10] = counts[11] = 40.0  # a five-minute burst straddling two sliding buckets
    for w in window_buckets(BUCKET)[1:]:
        assert not _window_score(counts, w).any()
    assert _window_score(counts, 1)[10] > THRESHOLD  # the one-bucket window sees it
    rise = np.full(24, 4.0)
    rise[12:] = 12.0  # an outage raises every bucket it covers
    assert _window_score(rise, 3)[14] > 0
    assert not _window_score(rise, 3)[13]  # two buckets of it are not yet a quarter-hour
    assert _window_score(rise, 12)[23] > 0


def test_the_status_does_not_flap_while_the_evidence_hovers_around_the_threshold():
    params = DetectParams()
    minutes = 60
    flapping = np.where(np.arange(minutes) % 4 < 2, params.threshold + 1, params.threshold - 0.5)
    score = np.r_[np.zeros(20), flapping, np.zeros(30)]
    tiers = evidence_tiers(score, hold_minutes=2, params=params)
    outage = np.flatnonzero(tiers == 2)
    # Once reached, the outage tier holds through the dips, and is left only after
    # STATUS_MEMORY_MINUTES without the evidence.
    assert outage[0] == 21
    assert (tiers[21 : 20 + minutes] == 2).all()
    last_held = 20 + minutes - 3  # the last two minutes in a row at the threshold
    assert outage[-1] == last_held + STATUS_MEMORY_MINUTES - 1
    # The dips were warnings: that tier is left last, by the same rule.
    after = tiers[outage[-1] + 1 :]
    assert (after[:2] == 1).all() and (after[2:] == 0).all()


def test_a_single_minute_above_the_threshold_does_not_change_the_status():
    score = np.zeros(40)
    score[20] = 50.0
    assert not evidence_tiers(score, hold_minutes=2).any()


def test_a_new_incident_soon_after_the_last_needs_clearly_stronger_evidence():
    resolved = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
    incident = Incident(resolved_at=resolved)
    soon = resolved + dt.timedelta(minutes=REARM_MINUTES)
    later = soon + dt.timedelta(minutes=1)
    assert incident.opening_bar(soon, THRESHOLD) == REARM_FACTOR * THRESHOLD
    assert incident.opening_bar(later, THRESHOLD) == THRESHOLD
