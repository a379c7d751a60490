"""Beat's scheduler: django-celery-beat's DatabaseScheduler, riding out a database outage.

The stock scheduler already shrugs off a failed check for schedule changes, but not a full
read of the schedule (at start, every five minutes, after a change) nor a failure anywhere
else in a tick: the exception leaves beat ("CRITICAL beat raised exception") and detection
stops until whatever runs beat starts it again, which systemd's start limit or a Procfile
runner may never do. Here a tick that meets PostgreSQL away logs one warning, drops the
broken connection, forgets what it read, and tries again RETRY_SECONDS later; the first
tick that reaches the database reads the whole schedule afresh and goes on. Tasks that fell
due meanwhile are sent then, once each (an interval task's next run counts from its last).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.db import InterfaceError, OperationalError, connections
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

# How long beat waits before trying the database again: short, so detection resumes within
# seconds of PostgreSQL's return, and long enough not to flood the log while it is away.
RETRY_SECONDS = 5.0

DATABASE_AWAY = (OperationalError, InterfaceError)


class TolerantDatabaseScheduler(DatabaseScheduler):
    _database_away = False

    def setup_schedule(self) -> None:
        # Beat started (or restarted by its supervisor) while PostgreSQL is away: start
        # anyway; the first tick that reaches the database reads the schedule.
        try:
            super().setup_schedule()
        except DATABASE_AWAY as exc:
            self._wait_for_database(exc)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            interval = super().tick(*args, **kwargs)
        except DATABASE_AWAY as exc:
            self._wait_for_database(exc)
            return RETRY_SECONDS
        if self._database_away:
            self._database_away = False
            logger.warning("beat: the database is back; the schedule was read again")
        return interval

    def _wait_for_database(self, exc: Exception) -> None:
        if not self._database_away:
            logger.warning(
                "beat: the database is unavailable (%s); trying again every %g s",
                type(exc).__name__,
                RETRY_SECONDS,
            )
        self._database_away = True
        # A connection broken mid-query is not usable again: drop it, so the next tick
        # opens a new one instead of failing on the old one.
        for connection in connections.all(initialized_only=True):
            with contextlib.suppress(*DATABASE_AWAY):
                connection.close()
        # Read everything afresh when the database answers: initial read, new heap.
        self._initial_read = True
        self._heap = None
