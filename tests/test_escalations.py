"""A clearly bigger event inside an open incident is an escalation: the rule (pure), and the
live pass recording it the same whatever its pace (the replay: test_replay_matches_live)."""

from __future__ import annotations

import datetime as dt

import pytest

from outages.detection_pass import detection_run, detection_run_range
from outages.escalations import (
    ESCALATION_COOLDOWN_MINUTES,
    ESCALATION_MIN_EXCESS,
    ESCALATION_SETTLE_MINUTES,
    escalation_check,
)
from outages.models import DetectionWatermark, Incident, IncidentEscalation
from outages.watermark import WATERMARK
from tests.detection_helpers import MINUTE, T0, flat_baseline, put_counts

# --- the rule -----------------------------------------------------------------------------

START = 1_000_000  # an epoch minute; the incident starts here
LATER = START + 60  # an hour into it


def check(**changes) -> bool:
    """A clear escalation an hour into an incident, with the given changes."""
    facts = {
        "minute": LATER,
        "count": 900.0,
        "baseline": 60.0,
        "previous_peak": 300,
        "spike": True,
        "started": START,
        "last_escalation": None,
    }
    return escalation_check(**(facts | changes))


def test_twice_the_previous_peak_well_above_the_baseline_is_an_escalation():
    assert check()
    assert check(count=600.0)


def test_less_than_twice_the_previous_peak_is_the_incident_going_on():
    assert not check(count=599.0)


def test_without_a_spike_at_the_minute_there_is_no_escalation():
    assert not check(spike=False)


def test_a_handful_of_reports_on_a_quiet_incident_is_never_an_escalation():
    # A quiet incident (a peak of 4 in 15 minutes) and a few people reporting at once:
    # fourfold, but 12 reports are not news for every subscriber.
    assert not check(count=16.0, baseline=3.0, previous_peak=4)
    # Nor are 29 new reports over the baseline, whatever the ratio.
    assert not check(count=ESCALATION_MIN_EXCESS - 1 + 3.0, baseline=3.0, previous_peak=0)
    assert check(count=ESCALATION_MIN_EXCESS + 3.0, baseline=3.0, previous_peak=0)


def test_the_new_reports_must_also_clear_the_previous_peak_by_the_minimum():
    # Twice a peak of 20 on a busy baseline: 40 is more than 30 over the baseline of 5 but
    # only 20 over the peak.
    assert not check(count=40.0, baseline=5.0, previous_peak=20)
    assert check(count=50.0, baseline=5.0, previous_peak=20)


def test_a_young_incident_does_not_escalate_its_own_opening():
    assert not check(minute=START + ESCALATION_SETTLE_MINUTES - 1)
    assert check(minute=START + ESCALATION_SETTLE_MINUTES)


def test_an_incident_escalates_at_most_once_in_the_cooldown():
    assert not check(last_escalation=LATER - ESCALATION_COOLDOWN_MINUTES + 1)
    assert check(last_escalation=LATER - ESCALATION_COOLDOWN_MINUTES)


# --- the live pass ------------------------------------------------------------------------

LIVE_SECOND = dt.timedelta(seconds=10)


@pytest.fixture
def second_wave(chatgpt):
    """Quiet at 4 a minute; from T0 (12:00 UTC) 20 a minute (300 per quarter-hour); from
    12:45 60 a minute for half an hour; then 20 again until 13:30, and quiet."""
    flat_baseline(chatgpt, per_minute=4)
    put_counts(chatgpt, T0 - dt.timedelta(hours=2), 120, 4)
    put_counts(chatgpt, T0, 45, 20)
    put_counts(chatgpt, T0 + 45 * MINUTE, 30, 60)
    put_counts(chatgpt, T0 + 75 * MINUTE, 15, 20)
    put_counts(chatgpt, T0 + 90 * MINUTE, 60, 4)
    return chatgpt


def escalations() -> list[tuple]:
    return list(IncidentEscalation.objects.values_list("incident_id", "at", "count", "previous_peak"))


@pytest.mark.django_db
def test_the_live_pass_records_a_second_wave_once(second_wave):
    result = detection_run_range(start=T0 - 30 * MINUTE, end=T0 + 150 * MINUTE)

    [only] = Incident.objects.all()
    # The window holds 8 minutes of the wave (8 x 60 + 7 x 20 = 620 reports) at 12:52, twice
    # the peak of 300 of the quarter-hours before it; the next half hour at 60 a minute is
    # the same wave, not another escalation.
    assert escalations() == [(only.pk, T0 + 52 * MINUTE, 620, 300)]
    assert result.escalation_ids == list(IncidentEscalation.objects.values_list("pk", flat=True))
    escalation = IncidentEscalation.objects.get()
    assert escalation.baseline == pytest.approx(60.0)
    assert only.settled_peak >= 900  # the wave is the peak the next escalation must double


@pytest.mark.django_db
def test_passes_of_one_minute_record_what_one_pass_over_the_range_does(second_wave):
    detection_run_range(start=T0 - 30 * MINUTE, end=T0 + 150 * MINUTE)
    at_once = [row[1:] for row in escalations()]
    at_once_peak = Incident.objects.get().settled_peak
    Incident.objects.all().delete()
    DetectionWatermark.objects.update_or_create(
        name=WATERMARK, defaults={"processed_through": T0 - 31 * MINUTE}
    )

    minute = T0 - 30 * MINUTE
    while minute <= T0 + 150 * MINUTE:
        detection_run(now=minute + MINUTE + LIVE_SECOND)
        minute += MINUTE

    assert [row[1:] for row in escalations()] == at_once
    assert Incident.objects.get().settled_peak == at_once_peak


@pytest.mark.django_db
def test_a_steady_incident_never_escalates(chatgpt):
    flat_baseline(chatgpt, per_minute=4)
    put_counts(chatgpt, T0 - dt.timedelta(hours=2), 120, 4)
    put_counts(chatgpt, T0, 120, 30)
    put_counts(chatgpt, T0 + 120 * MINUTE, 60, 4)

    detection_run_range(start=T0 - 30 * MINUTE, end=T0 + 180 * MINUTE)

    assert Incident.objects.count() == 1
    assert escalations() == []
