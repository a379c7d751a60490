"""The beat schedule: every periodic task, in this one list.

Beat reads django-celery-beat's tables (CELERY_BEAT_SCHEDULER), so the rows stay visible in
the admin; `manage.py setup_periodic_tasks` (periodic_tasks_sync) makes them match this
list, and runs wherever beat starts (Procfile, deploy/) and after `migrate` in `make run`.
The old data migrations that first wrote these rows are history: they still run on a
fresh database, and the sync then takes the rows over. Queues come from
CELERY_TASK_ROUTES, not from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

# Rows the sync made or took over say so; rows without it (added in the admin, or
# celery.backend_cleanup) are left alone.
MANAGED = "Managed by config/schedule.py (manage.py setup_periodic_tasks)"


@dataclass(frozen=True, slots=True)
class Periodic:
    name: str  # the row's unique name in the admin
    task: str  # the registered task name, as queued
    every_seconds: int | None = None
    crontab: tuple[str, str] | None = None  # (minute, hour), UTC, every day


SCHEDULE = [
    Periodic("Aggregate new reports", "reports.tasks.aggregate_pending", every_seconds=10),
    Periodic("Purge expired reports", "reports.tasks.purge_expired", crontab=("17", "3")),
    # Hourly, though partitions exist a week (reports) and two months (counts) ahead: beat
    # can be down for days before a row lands in a default partition.
    Periodic("Create table partitions ahead", "reports.tasks.partitions_maintain", crontab=("5", "*")),
    Periodic("Detect outages", "outages.tasks.detect", every_seconds=60),
    Periodic("Rebuild baselines", "outages.tasks.rebuild_baselines", crontab=("40", "3")),
    # Deliveries whose task was lost (broker down at commit) or whose worker died.
    # Each page at most once a minute (outages.official.services claims it), less on failure.
    Periodic("Poll official status pages", "outages.official.tasks.official_poll_due", every_seconds=60),
    Periodic("Deliver pending notifications", "outages.review.tasks.notifications_sweep", every_seconds=300),
]


@dataclass(frozen=True, slots=True)
class SyncResult:
    created: list[str]
    updated: list[str]
    removed: list[str]


@transaction.atomic
def periodic_tasks_sync(schedule: list[Periodic] = SCHEDULE) -> SyncResult:
    """Create or correct the row of each entry (task and timing), and delete the managed
    rows no longer listed. Safe to run any number of times: a row that already matches is
    not written. Whether a row is enabled is the operator's (the admin) and is kept."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created, updated = [], []
    for entry in schedule:
        interval = crontab = None
        if entry.every_seconds is not None:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=entry.every_seconds, period=IntervalSchedule.SECONDS
            )
        else:
            assert entry.crontab is not None  # an entry has one or the other
            minute, hour = entry.crontab
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
            )
        wanted = {
            "task": entry.task,
            "interval_id": interval.pk if interval else None,
            "crontab_id": crontab.pk if crontab else None,
            "solar_id": None,
            "clocked_id": None,
            "one_off": False,
            "description": MANAGED,
        }
        row = PeriodicTask.objects.select_for_update().filter(name=entry.name).first()
        if row is None:
            PeriodicTask.objects.create(name=entry.name, **wanted)
            created.append(entry.name)
        elif any(getattr(row, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(row, field, value)
            row.save()  # save(), not update(): it tells running beats to reload
            updated.append(entry.name)
    removed = []
    listed = {entry.name for entry in schedule}
    for row in PeriodicTask.objects.filter(description=MANAGED).exclude(name__in=listed):
        row.delete()  # delete() per row, for the same reason
        removed.append(row.name)
    return SyncResult(created=created, updated=updated, removed=removed)
