"""`make run` calls this: a living demo. A week of simulated history on a fresh database,
or the gap since the last report on a second run, with the demo's schedule anchored at now
(simulator.demo): the 31 March 2025 ChatGPT outage is in progress, and the crowd
process of the Procfile (`simulate --demo --live`) carries it on, with the other events,
in real time.

A week (not four) keeps the first start near a minute; the baselines treat the short
history with their cold-start rules, and `simulate --days 28` loads more at any time."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_DAYS = 7


class Command(BaseCommand):
    help = "Load the living demo's history up to now (a week, or the gap since the last report)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days", type=float, default=DEMO_DAYS, help="days of history on a fresh database"
        )
        parser.add_argument(
            "--reviewer-password", help="the demo reviewer's password (default: a new random one)"
        )

    def handle(self, *args, days: float, reviewer_password: str | None, **options) -> None:
        self.stdout.write("Loading the living demo: simulated history up to now, an outage in progress...")
        call_command(
            "simulate", demo=True, days=days, seed=1, reviewer_password=reviewer_password, stdout=self.stdout
        )
