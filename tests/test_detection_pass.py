"""The detection pass as a background job: once per minute, exactly once, catching up."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from outages import detection
from outages import detection_pass as services
from outages.baselines import baselines_rebuild
from outages.detection_pass import detection_run, detection_run_range
from outages.models import Baseline, DetectionWatermark, Incident, IncidentCity, ServiceStatus
from outages.watermark import WATERMARK
from reports.models import ServiceMinute
from tests.detection_helpers import MINUTE, T0, city, flat_baseline, incident_summary, put_counts

pytestmark = pytest.mark.django_db

LIVE_SECOND = dt.timedelta(seconds=10)  # a pass runs a few seconds into its minute


@pytest.fixture
def outage_day(chatgpt):
    """Quiet at 4 a minute, 40 a minute for ten minutes from T0, quiet again, with Milan in it."""
    milan = city("Milan", name_it="Milano")
    flat_baseline(chatgpt, per_minute=4)
    flat_baseline(chatgpt, per_minute=2, city=milan)
    put_counts(chatgpt, T0 - dt.timedelta(hours=2), 120, 4)
    put_counts(chatgpt, T0 - dt.timedelta(hours=2), 120, 2, city=milan)
    put_counts(chatgpt, T0, 10, 40)
    put_counts(chatgpt, T0, 10, 30, city=milan)
    put_counts(chatgpt, T0 + 10 * MINUTE, 50, 4)
    put_counts(chatgpt, T0 + 10 * MINUTE, 50, 2, city=milan)
    return chatgpt


def watermark(at: dt.datetime | None) -> None:
    DetectionWatermark.objects.update_or_create(name=WATERMARK, defaults={"processed_through": at})


def forget_results() -> None:
    Incident.objects.all().delete()
    ServiceStatus.objects.all().delete()
    DetectionWatermark.objects.all().delete()


def test_the_live_pass_processes_the_last_complete_minute(outage_day, time_machine):
    time_machine.move_to(T0 + 3 * MINUTE + LIVE_SECOND, tick=False)

    result = detection_run(now=T0 + 3 * MINUTE + LIVE_SECOND)

    assert (result.first_minute, result.last_minute, result.minutes) == (T0 + 2 * MINUTE, T0 + 2 * MINUTE, 1)
    assert DetectionWatermark.objects.get().processed_through == T0 + 2 * MINUTE
    # Confirmed at T0 + 2 (after the hold), the incident starts with its evidence at T0.
    incident = Incident.objects.get()
    assert (incident.started_at, incident.last_spike_at) == (T0, T0 + 2 * MINUTE)


def test_a_second_pass_for_the_same_minute_changes_nothing(outage_day):
    watermark(T0 - 10 * MINUTE)
    detection_run(now=T0 + 5 * MINUTE + LIVE_SECOND)
    before = incident_summary(outage_day)

    again = detection_run(now=T0 + 5 * MINUTE + LIVE_SECOND)

    assert again.minutes == 0
    assert incident_summary(outage_day) == before
    assert DetectionWatermark.objects.get().processed_through == T0 + 4 * MINUTE


def test_missed_minutes_are_caught_up_with_the_same_result_as_minute_by_minute(outage_day):
    watermark(T0 - 10 * MINUTE)
    for minute in range(-9, 60):
        detection_run(now=T0 + minute * MINUTE + LIVE_SECOND)
    minute_by_minute = incident_summary(outage_day)
    status = ServiceStatus.objects.world().values().get()
    forget_results()
    watermark(T0 - 10 * MINUTE)

    result = detection_run(now=T0 + 59 * MINUTE + LIVE_SECOND)

    assert result.minutes == 68
    assert incident_summary(outage_day) == minute_by_minute
    assert minute_by_minute[0][0] == "suspected"
    assert minute_by_minute[0][3] is not None  # resolved
    assert minute_by_minute[0][-1][0][1] > 250  # Milan's reports were counted in
    assert ServiceStatus.objects.world().values().get() | {"id": None} == status | {
        "id": None
    }  # a fresh row after forget_results


def test_a_pass_killed_before_commit_leaves_nothing_and_the_rerun_matches(outage_day, monkeypatch):
    watermark(T0 - 10 * MINUTE)
    detection_run(now=T0 + 20 * MINUTE)
    clean = incident_summary(outage_day)
    forget_results()
    watermark(T0 - 10 * MINUTE)

    def killed(mark, end):
        raise SystemExit("worker killed")

    monkeypatch.setattr(services, "_watermark_advance", killed)
    with pytest.raises(SystemExit):
        detection_run(now=T0 + 20 * MINUTE)
    assert not Incident.objects.exists()
    assert not IncidentCity.objects.exists()
    assert not ServiceStatus.objects.world().exists()
    assert DetectionWatermark.objects.get().processed_through == T0 - 10 * MINUTE

    monkeypatch.undo()
    detection_run(now=T0 + 20 * MINUTE)
    assert incident_summary(outage_day) == clean


def test_a_replay_skips_minutes_already_processed(outage_day):
    detection_run_range(start=T0 - 30 * MINUTE, end=T0 + 59 * MINUTE)
    before = incident_summary(outage_day)

    again = detection_run_range(start=T0 - 30 * MINUTE, end=T0 + 59 * MINUTE)

    assert again.minutes == 0
    assert incident_summary(outage_day) == before


def test_a_live_pass_far_behind_only_catches_up_a_day(chatgpt):
    watermark(T0 - dt.timedelta(days=3))

    result = detection_run(now=T0 + LIVE_SECOND)

    assert result.minutes == services.MAX_CATCHUP_MINUTES


def test_the_first_pass_starts_at_the_current_minute(chatgpt):
    result = detection_run(now=T0 + LIVE_SECOND)

    assert result.minutes == 1
    assert DetectionWatermark.objects.get().processed_through == T0 - MINUTE


def test_baselines_are_rebuilt_from_the_counts_leaving_earlier_outages_out(chatgpt):
    milan, tiny = city("Milan"), city("Tinytown")
    start = T0 - dt.timedelta(days=14)
    minutes = 14 * 1440
    moments = [start + i * MINUTE for i in range(0, minutes, 5)]
    # 10 reports every 5 minutes, and a 3-hour outage at 50x a week ago.
    outage = {start + dt.timedelta(days=7, hours=h, minutes=m) for h in range(3) for m in range(0, 60, 5)}
    ServiceMinute.objects.bulk_create(
        [ServiceMinute(service=chatgpt, minute=m, count=500 if m in outage else 10) for m in moments]
    )
    put_counts(chatgpt, start, 100, 1, city=milan)  # 100 reports, above the floor of 0.25 an hour
    put_counts(chatgpt, start, 80, 1, city=tiny)  # below it: scored against the floor
    Incident.objects.create(
        service=chatgpt,
        status="confirmed",
        started_at=min(outage),
        last_spike_at=max(outage),
        last_elevated_at=max(outage),
        resolved_at=max(outage) + 5 * MINUTE,
        peak_at=min(outage),
    )

    stored = baselines_rebuild(now=T0)

    assert stored == 2
    national = Baseline.objects.get(service=chatgpt, city=None)
    expected = np.frombuffer(bytes(national.expected), dtype="<f4").reshape(7, 288)
    assert np.nanmax(expected) == pytest.approx(10, rel=0.1)
    assert national.history_reports == 10 * (len(moments) - len(outage)) + 500 * len(outage)
    assert Baseline.objects.filter(service=chatgpt, city=milan).exists()
    assert not Baseline.objects.filter(city=tiny).exists()


def _rises_every_other_day(service, status: str) -> list[Incident]:
    """An hour at 10x every other day for four weeks before T0, at a different time each day
    (the same hour every other day would be the series' rhythm), each an incident."""
    start = T0 - dt.timedelta(days=28)
    rises = [start + dt.timedelta(days=d, hours=2 + 7 * d % 20) for d in range(2, 28, 2)]
    rising = {rise + m * MINUTE for rise in rises for m in range(0, 60, 5)}
    moments = [start + i * MINUTE for i in range(0, 28 * 1440, 5)]
    ServiceMinute.objects.bulk_create(
        [ServiceMinute(service=service, minute=m, count=100 if m in rising else 10) for m in moments]
    )
    return [
        Incident.objects.create(
            service=service,
            status=status,
            started_at=rise,
            last_spike_at=rise + 55 * MINUTE,
            last_elevated_at=rise + 55 * MINUTE,
            resolved_at=rise + 60 * MINUTE,
            peak_at=rise,
        )
        for rise in rises
    ]


@pytest.mark.parametrize(
    ("review", "habit"),
    [
        (Incident.Status.SUSPECTED, True),
        (Incident.Status.DISMISSED, True),
        (Incident.Status.CONFIRMED, False),
    ],
)
def test_the_bars_learn_from_false_alarms_but_not_from_confirmed_outages(chatgpt, review, habit):
    # As suspected or dismissed incidents such rises are the series' habit, as in a replay
    # (which has no reviews), and the calibrated bars rise above the threshold; confirmed by a
    # reviewer, they are outages, and a series must not learn its outages as its habit (it
    # would miss the next one).
    _rises_every_other_day(chatgpt, review)

    baselines_rebuild(now=T0)

    bars = Baseline.objects.get(service=chatgpt, city=None).bars
    threshold = detection.DetectParams().threshold
    assert (max(bars) > threshold) is habit


def test_a_reviewers_confirmation_reaches_the_bars_without_waiting_for_the_night(
    chatgpt, django_user_model, time_machine, django_capture_on_commit_callbacks
):
    from outages.review.services import incident_act
    from tests.outbox_helpers import eager_celery

    incidents = _rises_every_other_day(chatgpt, Incident.Status.SUSPECTED)
    baselines_rebuild(now=T0)
    threshold = detection.DetectParams().threshold
    assert max(Baseline.objects.get(service=chatgpt, city=None).bars) > threshold
    reviewer = django_user_model.objects.create_user("reviewer")

    time_machine.move_to(T0 + MINUTE, tick=False)
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        for incident in incidents:
            incident_act(incident_id=incident.pk, action="confirm", actor=reviewer, now=T0 + MINUTE)

    rebuilt = Baseline.objects.get(service=chatgpt, city=None)
    assert rebuilt.built_at == T0 + MINUTE
    assert max(rebuilt.bars) == threshold

    # Withdrawn (dismissed as false alarms after all), they are the series' habit again.
    time_machine.move_to(T0 + 2 * MINUTE, tick=False)
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        for incident in incidents:
            incident_act(
                incident_id=incident.pk,
                action="dismiss",
                reason="false_alarm",
                actor=reviewer,
                now=T0 + 2 * MINUTE,
            )
    assert max(Baseline.objects.get(service=chatgpt, city=None).bars) > threshold


def test_the_rebuild_stores_what_the_detector_builds_from_the_same_buckets(chatgpt, on_postgres):
    # Two services with different spans and a city: the database sums minutes into 5-minute
    # buckets and packs them per series; the result must equal profile_build on the buckets.
    from catalogue.models import Service
    from outages import detection

    other = Service.objects.create(slug="other", name="Other", timezone="America/New_York")
    rng = np.random.default_rng(7)
    spans = {chatgpt: 3 * 1440, other: 2 * 1440 + 90}
    truth = {}
    milan = city("Milano")
    for service, minutes in spans.items():
        start = T0 - minutes * MINUTE
        counts = rng.poisson(2.0, minutes)
        ServiceMinute.objects.bulk_create(
            [
                ServiceMinute(service=service, minute=start + i * MINUTE, count=int(c))
                for i, c in enumerate(counts)
                if c
            ]
        )
        truth[service] = (start, counts)
    put_counts(chatgpt, T0 - 2 * 1440 * MINUTE, 2 * 1440, 1, city=milan)

    assert baselines_rebuild(now=T0) == 3

    for service, (start, counts) in truth.items():
        first = np.flatnonzero(counts)[0] // 5  # the series starts with its first report
        buckets = counts[: len(counts) // 5 * 5].reshape(-1, 5).sum(axis=1)[first:]
        epoch0 = int(start.timestamp()) + first * 300
        profile = detection.profile_build(
            epoch0 + 300 * np.arange(buckets.size), buckets, bucket_minutes=5, timezone=service.timezone
        )
        stored = Baseline.objects.get(service=service, city=None)
        expected = np.frombuffer(bytes(stored.expected), dtype="<f4").reshape(7, 288)
        np.testing.assert_allclose(expected, profile.expected.astype("<f4"), rtol=1e-6)
        assert stored.alpha == pytest.approx(float(profile.alpha))
        assert stored.history_reports == int(counts.sum())
    assert Baseline.objects.get(service=chatgpt, city=milan).history_reports == 2 * 1440


def test_rebuilding_twice_replaces_the_profiles(chatgpt):
    put_counts(chatgpt, T0 - dt.timedelta(days=2), 600, 2)
    baselines_rebuild(now=T0)

    baselines_rebuild(service_ids=[chatgpt.pk], now=T0 + MINUTE)

    assert Baseline.objects.get(service=chatgpt).built_at == T0 + MINUTE


def test_a_service_without_history_is_reported_and_gets_its_first_baseline_queued(chatgpt, monkeypatch):
    from outages import tasks

    put_counts(chatgpt, T0 - 30 * MINUTE, 30, 3)
    queued = []
    monkeypatch.setattr(tasks.rebuild_baselines, "delay", lambda **kwargs: queued.append(kwargs))
    monkeypatch.setattr(tasks.timezone, "now", lambda: T0 + LIVE_SECOND)

    tasks.detect()
    DetectionWatermark.objects.all().delete()
    tasks.detect()  # the same minute again: not queued twice within the hour

    assert queued == [{"service_ids": [chatgpt.pk]}]
    assert not Incident.objects.exists()
