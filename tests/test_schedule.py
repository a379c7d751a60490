"""`manage.py setup_periodic_tasks`: beat's rows follow config/schedule.py, and only it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.schedule import MANAGED, SCHEDULE, periodic_tasks_sync

pytestmark = pytest.mark.django_db

# What beat has run since the schedules were data migrations: the sync must keep it.
TODAY = {
    ("Aggregate new reports", "reports.tasks.aggregate_pending", "every 10 seconds"),
    ("Purge expired reports", "reports.tasks.purge_expired", "17 3 * * * UTC"),
    ("Create table partitions ahead", "reports.tasks.partitions_maintain", "5 * * * * UTC"),
    ("Detect outages", "outages.tasks.detect", "every 60 seconds"),
    ("Rebuild baselines", "outages.tasks.rebuild_baselines", "40 3 * * * UTC"),
    ("Deliver pending notifications", "outages.review.tasks.notifications_sweep", "every 300 seconds"),
    ("Poll official status pages", "outages.official.tasks.official_poll_due", "every 60 seconds"),
}
# Entries added after the schedules stopped being data migrations: the sync creates them.
NEWER = ["Poll official status pages"]


def _rows() -> set[tuple[str, str, str]]:
    found = set()
    for row in PeriodicTask.objects.select_related("interval", "crontab").filter(description=MANAGED):
        if row.interval is not None:
            timing = f"every {row.interval.every} {row.interval.period}"
        else:
            c = row.crontab
            timing = f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week} {c.timezone}"
        found.add((row.name, row.task, timing))
    return found


def _sync() -> str:
    out = StringIO()
    call_command("setup_periodic_tasks", stdout=out)
    return out.getvalue()


def test_the_sync_takes_over_the_rows_the_migrations_wrote_and_keeps_their_schedule():
    migrated = [entry.name for entry in SCHEDULE if entry.name not in NEWER]
    assert PeriodicTask.objects.filter(name__in=migrated).count() == len(migrated)
    output = _sync()
    assert _rows() == TODAY
    assert output.count("updated: ") == len(migrated)  # adopted: marked as managed
    assert [line for line in output.splitlines() if line.startswith("created: ")] == [
        f"created: {name}" for name in NEWER
    ]
    assert _sync() == "periodic tasks up to date\n"


def test_a_fresh_table_gets_every_row():
    PeriodicTask.objects.all().delete()
    assert periodic_tasks_sync().created == [entry.name for entry in SCHEDULE]
    assert _rows() == TODAY


def test_a_row_changed_in_the_admin_is_corrected_but_stays_paused():
    periodic_tasks_sync()
    row = PeriodicTask.objects.get(name="Detect outages")
    row.interval = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.SECONDS)
    row.task = "outages.tasks.detect_shard"
    row.enabled = False
    row.save()

    assert periodic_tasks_sync().updated == ["Detect outages"]
    row.refresh_from_db()
    assert (row.task, row.interval.every, row.enabled) == ("outages.tasks.detect", 60, False)
    assert _rows() == TODAY


def test_a_managed_row_no_longer_listed_is_removed_and_others_are_left_alone():
    periodic_tasks_sync()
    daily = CrontabSchedule.objects.create(minute="0", hour="4", timezone="UTC")
    PeriodicTask.objects.create(name="celery.backend_cleanup", task="celery.backend_cleanup", crontab=daily)

    result = periodic_tasks_sync(SCHEDULE[1:])
    assert result.removed == [SCHEDULE[0].name]
    assert PeriodicTask.objects.filter(name="celery.backend_cleanup").exists()
    assert not PeriodicTask.objects.filter(name=SCHEDULE[0].name).exists()


def test_every_listed_task_is_registered_and_every_name_unique():
    from config.celery import app

    app.loader.import_default_modules()
    assert {entry.task for entry in SCHEDULE} <= set(app.tasks)
    assert len({entry.name for entry in SCHEDULE}) == len(SCHEDULE)
    assert all((entry.every_seconds is None) != (entry.crontab is None) for entry in SCHEDULE)
