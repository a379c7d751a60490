"""Beat schedule creating the report and count partitions ahead (reports.partitions), in
django-celery-beat's tables so it is visible and editable in the admin. Hourly, though
partitions exist a week (reports) and two months (counts) ahead: beat can be down for days
before a row lands in a default partition."""

from __future__ import annotations

from django.db import migrations

SCHEDULES = [
    # (name, task, every N seconds or a crontab (minute, hour))
    ("Create table partitions ahead", "reports.tasks.partitions_maintain", None, ("5", "*")),
]


def install_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds, crontab in SCHEDULES:
        if seconds is not None:
            interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
            PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})
        else:
            minute, hour = crontab
            schedule, _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone="UTC",
            )
            PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": schedule})


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0005_partitions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install_schedules, remove_schedules)]
