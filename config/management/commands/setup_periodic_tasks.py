from __future__ import annotations

from django.core.management.base import BaseCommand

from config.schedule import periodic_tasks_sync


class Command(BaseCommand):
    help = "Make beat's periodic tasks match config/schedule.py (safe to run again; run before beat)."

    def handle(self, *args, **options):
        result = periodic_tasks_sync()
        for label, names in (
            ("created", result.created),
            ("updated", result.updated),
            ("removed", result.removed),
        ):
            for name in names:
                self.stdout.write(f"{label}: {name}")
        if not (result.created or result.updated or result.removed):
            self.stdout.write("periodic tasks up to date")
