"""Beat schedules for detection, in django-celery-beat's tables so they are visible and
editable in the admin."""

from __future__ import annotations

from django.db import migrations

SCHEDULES = [
    # (name, task, every N seconds or a crontab (minute, hour))
    ("Detect outages", "outages.tasks.detect", 60, None),
    ("Rebuild baselines", "outages.tasks.rebuild_baselines", None, ("40", "3")),
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
        ("outages", "0003_detection"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install_schedules, remove_schedules)]
