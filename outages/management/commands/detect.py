from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from outages.detection_pass import detection_run, detection_run_range
from outages.tasks import detection_pass_notify


def _moment(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise CommandError(f"Give a time zone, e.g. {value}+00:00")
    return moment


class Command(BaseCommand):
    help = (
        "Run the detection pass now (what beat runs every minute), or replay a period "
        "with --start/--end, e.g. after a backfill."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start", type=_moment, help="first minute to replay (ISO 8601 with zone)")
        parser.add_argument("--end", type=_moment, help="last minute to replay (default: now)")

    def handle(self, *args, start: dt.datetime | None, end: dt.datetime | None, **options):
        if start is None:
            if end is not None:
                raise CommandError("--end needs --start")
            result = detection_pass_notify(lambda: detection_run(now=timezone.now()))
        else:
            result = detection_pass_notify(
                lambda: detection_run_range(start=start, end=end or timezone.now())
            )
        if result.busy:
            self.stdout.write("another detection pass is running; nothing done")
            return
        self.stdout.write(
            f"{result.minutes} minutes, {result.services} services, "
            f"{result.opened} incidents opened, {result.resolved} resolved"
        )
