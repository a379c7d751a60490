"""Beat's scheduler (config.beat) meets a database that is not there: it waits and reads the
schedule again, instead of raising out of beat. The real beat through a real PostgreSQL
restart is tests/test_faults.py::test_beat_rides_out_a_postgres_restart_and_detection_resumes_by_itself."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import SCHEDULE_SYNC_MAX_INTERVAL

from config.beat import RETRY_SECONDS, TolerantDatabaseScheduler
from config.celery import app
from config.schedule import periodic_tasks_sync
from tests.own_services import free_port

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def database_away():
    """The default connection pointed at a loopback port where nothing listens, as when
    PostgreSQL is down; put back afterwards."""
    port = connection.settings_dict["PORT"]

    def away() -> None:
        connection.close()
        connection.settings_dict["PORT"] = str(free_port())

    def back() -> None:
        connection.close()
        connection.settings_dict["PORT"] = port

    yield away, back
    back()


def test_a_full_read_of_the_schedule_while_postgres_is_away_is_retried_not_raised(database_away, caplog):
    away, back = database_away
    periodic_tasks_sync()
    PeriodicTask.objects.update(enabled=False)  # nothing due: no task is sent anywhere
    scheduler = TolerantDatabaseScheduler(app=app)
    assert scheduler.tick() > 0

    away()
    # Five minutes on, the stock scheduler reads its whole schedule again (the read that
    # raised out of beat): here it finds no database.
    scheduler._last_full_sync = dt.datetime.now() - dt.timedelta(seconds=SCHEDULE_SYNC_MAX_INTERVAL + 1)
    with caplog.at_level(logging.WARNING, logger="config.beat"):
        waits = [scheduler.tick() for _ in range(3)]

    assert waits == [RETRY_SECONDS] * 3
    unavailable = [r for r in caplog.records if "database is unavailable" in r.getMessage()]
    assert len(unavailable) == 1  # one warning for the outage, not one per tick

    back()
    PeriodicTask.objects.filter(name="Detect outages").update(enabled=True, last_run_at=timezone.now())
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="config.beat"):
        assert 0 < scheduler.tick() <= 60

    assert "Detect outages" in scheduler.schedule  # read afresh from the database
    assert any("database is back" in r.getMessage() for r in caplog.records)


def test_beat_starting_while_postgres_is_away_waits_for_it(database_away):
    away, back = database_away
    periodic_tasks_sync()
    PeriodicTask.objects.update(enabled=False)
    away()

    scheduler = TolerantDatabaseScheduler(app=app)  # the stock scheduler raises here
    assert scheduler.tick() == RETRY_SECONDS

    back()
    PeriodicTask.objects.filter(name="Detect outages").update(enabled=True, last_run_at=timezone.now())
    assert 0 < scheduler.tick() <= 60
    assert "Detect outages" in scheduler.schedule
