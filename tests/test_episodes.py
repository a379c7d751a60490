"""One episode, one incident (issue 20): a spike hours after an incident resolved re-opens it
when the service never went back to its usual level in between (Incident.episode_goes_on),
and opens a new incident when it did. The replay and the live pass, in passes of any length,
decide alike."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from outages import detection
from outages.baselines import baselines_rebuild
from outages.detection_pass import detection_run_range
from outages.models import EPISODE_RATIO, REARM_MINUTES, REOPEN_MINUTES, Incident, IncidentReopening
from outages.replay import replay_minutes
from outages.review.services import incident_act
from reports.models import ServiceMinute

ROME = ZoneInfo("Europe/Rome")
FIRST = dt.datetime(2026, 5, 4, 0, 0, tzinfo=ROME)
DAYS = 9
USUAL = 4  # reports a minute, every minute of every day
RESOLVED = dt.datetime(2026, 5, 12, 12, 0, tzinfo=dt.UTC)


def _series(*, busy: bool, second: float = 10, second_at: int = 14) -> np.ndarray:
    """Eight usual days, then a day with a 20-minute burst at ten times the usual at 11:00
    and one at `second` times at `second_at` o'clock; on a busy day the service runs at 1.75
    times its usual from 10:00 to 20:00 (under the detector's 1.8, so no spike of its own)."""
    # Flat counts on purpose: a count equal to its expected is the edge where the live pass's
    # float32 profiles and the replay's float64 ones once dated the first burst 4 minutes apart.
    rate = np.full(DAYS * 1440, float(USUAL))
    day = (DAYS - 1) * 1440
    if busy:
        rate[day + 600 : day + 1200] *= 1.75
    for hour, factor in ((11, 10), (second_at, second)):
        rate[day + hour * 60 : day + hour * 60 + 20] = factor * USUAL
    return rate


def _replayed(counts: np.ndarray) -> list[tuple[dt.datetime, dt.datetime | None]]:
    found = replay_minutes(int(FIRST.timestamp()) // 60, counts, timezone="Europe/Rome")
    day_start = int((FIRST + dt.timedelta(days=DAYS - 1)).timestamp()) // 60

    def at(minute: int | None) -> dt.datetime | None:
        return None if minute is None else dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)

    return [(at(i.started_at), at(i.resolved_at)) for i in found.incidents if i.opened_at >= day_start]


def test_a_day_that_stays_busy_between_its_bursts_is_one_incident_that_never_resolves_in_between():
    found = replay_minutes(int(FIRST.timestamp()) // 60, _series(busy=True), timezone="Europe/Rome")
    day = FIRST + dt.timedelta(days=DAYS - 1)
    [incident] = [i for i in found.incidents if i.opened_at >= int(day.timestamp()) // 60]
    at = dt.datetime.fromtimestamp(incident.started_at * 60, tz=dt.UTC)
    assert at < day + dt.timedelta(hours=12)
    # Still up at 1.75 times its usual between the bursts: open until the busy hours end,
    # and dated to end with them (its last elevated minute), not after the quiet spell.
    assert incident.reopenings == ()
    assert incident.resolved_at is not None
    resolved = dt.datetime.fromtimestamp(incident.resolved_at * 60, tz=dt.UTC)
    assert day + dt.timedelta(hours=20) <= resolved <= day + dt.timedelta(hours=20, minutes=30)


def test_a_clearly_bigger_burst_on_a_day_that_stayed_busy_is_an_escalation_of_its_episode():
    found = replay_minutes(
        int(FIRST.timestamp()) // 60, _series(busy=True, second=40), timezone="Europe/Rome"
    )
    day_start = int((FIRST + dt.timedelta(days=DAYS - 1)).timestamp()) // 60
    (incident,) = [i for i in found.incidents if i.opened_at >= day_start]
    second = int((FIRST + dt.timedelta(days=DAYS - 1, hours=14)).timestamp()) // 60
    assert [second <= minute <= second + 20 for minute, *_ in incident.escalations] == [True]


def test_the_same_bursts_on_a_day_back_to_normal_are_two_incidents():
    incidents = _replayed(_series(busy=False))
    assert len(incidents) == 2
    assert incidents[1][0] >= FIRST + dt.timedelta(days=DAYS - 1, hours=14) - dt.timedelta(minutes=5)


def _resolved(**fields) -> Incident:
    return Incident(resolved_at=RESOLVED, last_spike_at=RESOLVED, **fields)


def test_the_episode_goes_on_only_while_the_service_stayed_elevated():
    later = RESOLVED + dt.timedelta(minutes=REOPEN_MINUTES + 1)
    elevated = _resolved(reports_since_resolved=EPISODE_RATIO * 100, usual_since_resolved=100)
    normal = _resolved(reports_since_resolved=EPISODE_RATIO * 100 - 1, usual_since_resolved=100)
    assert elevated.episode_goes_on(later) and elevated.spike_continues_it(later)
    assert not normal.episode_goes_on(later) and not normal.spike_continues_it(later)
    # Not past REARM_MINUTES, not for a dismissed incident, not without a usual to compare.
    assert not elevated.episode_goes_on(RESOLVED + dt.timedelta(minutes=REARM_MINUTES + 1))
    dismissed = _resolved(
        reports_since_resolved=300, usual_since_resolved=100, status=Incident.Status.DISMISSED
    )
    assert not dismissed.episode_goes_on(later)
    assert not _resolved(reports_since_resolved=30).episode_goes_on(later)
    # Within the hour any spike re-opens it: that is not the episode rule.
    assert not elevated.episode_goes_on(RESOLVED + dt.timedelta(minutes=REOPEN_MINUTES))


def test_resolving_again_counts_what_follows_from_zero():
    incident = Incident(
        resolved_at=None,
        last_elevated_at=RESOLVED,
        reports_since_resolved=500,
        usual_since_resolved=100,
    )
    assert incident.resolve_if_quiet(RESOLVED + dt.timedelta(hours=1))
    assert (incident.reports_since_resolved, incident.usual_since_resolved) == (0, 0)


def _stored(service, counts: np.ndarray) -> dt.datetime:
    """Store the series' minutes, build the baselines at the start of its last day; that day."""
    start = FIRST.astimezone(dt.UTC)
    ServiceMinute.objects.bulk_create(
        [
            ServiceMinute(service=service, minute=start + dt.timedelta(minutes=i), count=int(c))
            for i, c in enumerate(counts)
        ],
        batch_size=5000,
    )
    day = FIRST + dt.timedelta(days=DAYS - 1)
    baselines_rebuild(now=day.astimezone(dt.UTC))
    return day


@pytest.mark.django_db
@pytest.mark.parametrize("busy", [True, False], ids=["busy", "normal"])
def test_the_live_pass_in_short_passes_decides_the_episode_as_the_replay(chatgpt, busy):
    counts = _series(busy=busy)
    day = _stored(chatgpt, counts)
    # Passes that end inside the first burst, inside the quiet spell, twice in the gap and
    # inside the second burst: what follows a resolution is kept on the incident between
    # passes, also by a pass that only counted it.
    cuts = [
        dt.timedelta(hours=h, minutes=m)
        for h, m in ((0, 0), (11, 10), (11, 45), (13, 0), (13, 30), (14, 5), (24, 0))
    ]
    announced: list[int] = []
    for begin, end in itertools.pairwise(cuts):
        result = detection_run_range(start=day + begin, end=day + end - dt.timedelta(minutes=1))
        announced += result.reopening_ids
        if end == dt.timedelta(hours=13, minutes=30) and not busy:
            # Every minute from its resolution through this pass is counted and stored.
            (first,) = Incident.objects.all()
            after = slice(
                int((first.resolved_at - FIRST).total_seconds() // 60),
                int((day + end - FIRST).total_seconds() // 60),
            )
            assert first.reports_since_resolved == counts[after].sum()
            assert first.usual_since_resolved == pytest.approx(USUAL * (after.stop - after.start), rel=1e-4)
    live = [(i.started_at, i.resolved_at) for i in Incident.objects.order_by("started_at")]
    assert live == _replayed(counts)
    assert len(live) == (1 if busy else 2)
    assert IncidentReopening.objects.count() == 0 and announced == []


@pytest.mark.django_db
def test_a_burst_within_the_hour_re_opens_the_incident_and_is_announced_as_the_replay_says(chatgpt):
    # A usual day: the first burst (11:00 to 11:20) has its incident resolve soon after its
    # end (once the quiet half hour has passed), and the second burst comes at 12:00, within
    # the hour.
    counts = _series(busy=False, second_at=12)
    day = _stored(chatgpt, counts)
    announced: list[int] = []
    cuts = [dt.timedelta(hours=h, minutes=m) for h, m in ((0, 0), (11, 10), (11, 55), (12, 10), (24, 0))]
    for begin, end in itertools.pairwise(cuts):
        result = detection_run_range(start=day + begin, end=day + end - dt.timedelta(minutes=1))
        announced += result.reopening_ids

    [(pk, at, resolved_at)] = IncidentReopening.objects.values_list("pk", "at", "resolved_at")
    # Dated at the second burst's rise, as an opening would be, not when the spike was held.
    second = day + dt.timedelta(hours=12)
    assert at == second and Incident.objects.get().reopened_at == at
    assert day + dt.timedelta(hours=11, minutes=20) < resolved_at <= day + dt.timedelta(hours=11, minutes=30)
    assert announced == [pk]  # an earlier pass stored the resolution it undid
    [replayed] = [
        i
        for i in replay_minutes(int(FIRST.timestamp()) // 60, counts, timezone="Europe/Rome").incidents
        if i.reopenings
    ]
    [(reopened, rise, undone)] = replayed.reopenings
    assert (rise, undone) == (int(at.timestamp()) // 60, int(resolved_at.timestamp()) // 60)
    assert rise <= reopened <= rise + 2 * detection.BUCKET_MINUTES


@pytest.mark.django_db
def test_a_re_opening_inside_one_pass_is_recorded_but_not_announced(chatgpt):
    # One pass over the whole day: the incident resolved and re-opened without any pass
    # storing its resolution in between, so no one was told it had resolved.
    day = _stored(chatgpt, _series(busy=False, second_at=12))

    result = detection_run_range(start=day, end=day + dt.timedelta(hours=24) - dt.timedelta(minutes=1))

    assert IncidentReopening.objects.count() == 1
    assert result.reopening_ids == []


@pytest.mark.django_db
def test_a_reviewer_resolving_it_counts_what_follows_from_zero(chatgpt, django_user_model):
    # Counts left from an earlier quiet spell, before the spike that re-opened it.
    incident = Incident.open(service_id=chatgpt.pk, evidence_from=RESOLVED, at=RESOLVED)
    incident.reports_since_resolved, incident.usual_since_resolved = 900.0, 100.0
    incident.save()
    reviewer = django_user_model.objects.create_user("reviewer")
    incident_act(
        incident_id=incident.pk, action="resolve", actor=reviewer, now=RESOLVED + dt.timedelta(hours=1)
    )
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert (incident.reports_since_resolved, incident.usual_since_resolved) == (0, 0)


def test_an_incident_on_a_sparse_series_starts_at_the_rise():
    # One report every five minutes, then five times that for two hours, on six afternoons.
    # A sliding bucket of a sparse rise dips below its bar now and then; the incident still
    # starts within five minutes of the rise, unless the rise's first half hour was too weak
    # to tell (the fifth: 0.8 reports a minute where 1 was due). Dated from the last unbroken
    # run of elevated buckets, three of them started 10 to 39 minutes late.
    rng = np.random.default_rng(0)
    first_minute = int(FIRST.timestamp()) // 60
    rate = np.full(21 * 1440, 0.2)
    starts = [day * 1440 + 14 * 60 + int(rng.integers(0, 60)) for day in range(15, 21)]
    for start in starts:
        rate[start : start + 120] *= 5
    found = replay_minutes(first_minute, rng.poisson(rate).astype(float), timezone="Europe/Rome")

    errors = []
    for start in starts:
        opened = [i for i in found.incidents if start <= i.opened_at - first_minute <= start + 120]
        errors.append(opened[0].started_at - first_minute - start)
    assert sum(abs(error) <= 5 for error in errors) == 5, errors
