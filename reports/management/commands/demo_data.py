"""`make run` calls this: load a week of simulated history with the 31 March 2025
ChatGPT outage replayed right now, unless the database already holds reports.

A week (not four) keeps the first start near a minute; the baselines treat the short
history with their cold-start rules, and `simulate --days 28` loads more at any time."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from reports.models import Report

DEMO_SCENARIO = "chatgpt-2025-03-31"
DEMO_DAYS = 7


class Command(BaseCommand):
    help = "Load demo data (simulated history and a live outage) into an empty database."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="load even if reports exist")

    def handle(self, *args, force: bool = False, **options) -> None:
        if Report.objects.exists() and not force:
            self.stdout.write("Reports already present; demo data not loaded (use --force to add more).")
            return
        self.stdout.write(
            f"Loading {DEMO_DAYS} days of simulated reports with {DEMO_SCENARIO} happening now..."
        )
        call_command("simulate", days=DEMO_DAYS, scenario=DEMO_SCENARIO, at="now", seed=1, stdout=self.stdout)
