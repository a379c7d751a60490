"""Faults under a real web server and real workers: Redis or PostgreSQL going away and
coming back, a worker killed mid-pass, two passes at once.

Each test runs its own PostgreSQL (`own_database`, a private cluster on a spare port),
its own redis-server, gunicorn and Celery workers, and stops them itself; none of them
touches the shared instances the rest of the suite uses.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from celery import Celery

from tests.helpers import wait_until
from tests.own_services import (
    OwnPostgres,
    OwnRedis,
    app_env,
    celery_beat,
    celery_worker,
    django_run,
    gunicorn,
    post_json,
)

pytestmark = pytest.mark.slow

REPORT = {"service": "chatgpt", "problem": "login"}


@pytest.fixture
def redis_server(own_redis):
    return own_redis


def post_report(web, ip: str, body: dict | None = None):
    """A report as if through one proxy (TRUSTED_PROXY_COUNT=1) from `ip`."""
    return post_json(f"{web.base}/api/v1/reports/", body or REPORT, headers={"X-Forwarded-For": ip})


def rows(pg: OwnPostgres, sql: str) -> list[str]:
    out = pg.psql(sql)
    return out.splitlines() if out else []


def send(redis: OwnRedis, task: str) -> None:
    client = Celery(broker=redis.url)
    try:
        client.send_task(task)
    finally:
        client.close()


# --- Redis down -----------------------------------------------------------------------------


def test_with_redis_down_reports_are_taken_and_counted_once_when_it_returns(
    own_database, redis_server, tmp_path
):
    pg = own_database
    env = app_env(
        database_url=pg.url,
        redis_url=redis_server.url,
        var_dir=tmp_path,
        TRUSTED_PROXY_COUNT="1",
        REPORT_RATE_LIMIT="2/h",
    )
    with gunicorn(env, tmp_path / "web.log") as web:
        # Redis up: the limiter works (a third report from one client is refused).
        answers = [post_report(web, "93.56.1.1")[0] for _ in range(3)]
        assert answers == [201, 200, 429]

        redis_server.stop()
        outage = [post_report(web, ip) for ip in ["93.56.7.201", "2.37.197.14", "79.18.44.3"]]
        repeats = [post_report(web, "93.56.7.201") for _ in range(3)]  # over the 2/h budget

        assert [status for status, *_ in outage] == [201, 201, 201]
        assert all(seconds < 1.0 for *_, seconds in outage + repeats)
        # Fails open: no 429 without Redis; dedupe still holds (it lives in PostgreSQL).
        assert [status for status, *_ in repeats] == [200, 200, 200]
        # ... and says so in the log (the limiter's own line, or django_redis' ignored error).
        assert re.search(r"rate limit not applied|Exception ignored", web.log_text())

    # Accepted means stored: 1 + 1 (the 429 is not) + 3 + 3 rows, 4 counted, none aggregated yet.
    assert rows(pg, "SELECT count(*), count(*) FILTER (WHERE counted) FROM reports_report") == ["8|4"]
    assert rows(pg, "SELECT count(*) FROM reports_report WHERE counted AND NOT is_aggregated") == ["4"]

    # Redis back: beat's aggregation task goes through the broker and counts each report once,
    # however often it runs.
    redis_server.start()
    with celery_worker(env, tmp_path / "worker.log", queue="celery"):
        for _ in range(2):
            send(redis_server, "reports.tasks.aggregate_pending")
        assert wait_until(
            lambda: (tmp_path / "worker.log").read_text().count("aggregate_pending") >= 4, timeout=20
        )
    assert rows(pg, "SELECT count(*) FROM reports_report WHERE NOT is_aggregated") == ["0"]
    assert rows(pg, "SELECT sum(count) FROM reports_serviceminute") == ["4"]
    assert rows(pg, "SELECT sum(count) FROM reports_problemminute") == ["4"]


# --- PostgreSQL down ------------------------------------------------------------------------


def test_with_postgres_down_reports_get_503_and_the_web_recovers_by_itself(
    own_database, redis_server, tmp_path
):
    pg = own_database
    env = app_env(database_url=pg.url, redis_url=redis_server.url, var_dir=tmp_path, TRUSTED_PROXY_COUNT="1")
    with gunicorn(env, tmp_path / "web.log") as web:
        assert post_report(web, "93.56.1.1")[0] == 201

        pg.stop()
        during = [post_report(web, ip) for ip in ["93.56.7.201", "2.37.197.14", "93.56.7.201"]]
        page = get(f"{web.base}/s/chatgpt/")
        read = get(f"{web.base}/api/v1/services/chatgpt/")

        for status, headers, body, seconds in during:
            assert status == 503
            assert int(headers["Retry-After"]) > 0
            assert body["error"] == "unavailable" and "store reports" in body["detail"]
            assert seconds < 1.0
        assert page.status == 503 and int(page.headers["Retry-After"]) > 0  # pages too
        # A read API says what it could not do, not that a report was lost.
        assert read.status == 503 and "read the data" in json.loads(read.read())["detail"]

        pg.start()
        # The same gunicorn, no restart: the next request reconnects.
        after = [post_report(web, ip) for ip in ["93.56.7.201", "2.37.197.14"]]
        assert [status for status, *_ in after] == [201, 201]
        assert process_alive(web.process.pid)

    # Nothing half-written: the refused reports left no row and no vote (the two clients
    # that tried during the outage are counted as first-timers afterwards).
    assert rows(pg, "SELECT count(*), count(*) FILTER (WHERE counted) FROM reports_report") == ["3|3"]
    assert rows(pg, "SELECT count(*) FROM reports_vote") == ["3"]


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response
    except urllib.error.HTTPError as error:
        return error


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- detection: a worker killed mid-pass, two passes at once --------------------------------

SPIKE_SETUP = """
import datetime as dt
from django.utils import timezone
from outages.models import DetectionWatermark
from catalogue.models import Service
from reports.minutes import floor_minute
from outages.watermark import WATERMARK
from outages.models import DetectionWatermark
from catalogue.models import Service
from outages.watermark import WATERMARK
from reports.minutes import floor_minute
from tests.detection_helpers import flat_baseline, put_counts

now = floor_minute(timezone.now())
chatgpt = Service.objects.get(slug="chatgpt")
flat_baseline(chatgpt, per_minute=4, built_at=now - dt.timedelta(days=1))
put_counts(chatgpt, now - dt.timedelta(minutes=70), 60, 4)
put_counts(chatgpt, now - dt.timedelta(minutes=10), 10, 40)
DetectionWatermark.objects.create(name=WATERMARK, processed_through=now - dt.timedelta(minutes=12))
result = (now - dt.timedelta(minutes=12)).isoformat()
"""


def watermark(pg: OwnPostgres) -> str:
    return pg.psql("SELECT processed_through FROM outages_detectionwatermark WHERE name = 'detection'")


def incidents(pg: OwnPostgres) -> list[str]:
    return rows(pg, "SELECT s.slug FROM outages_incident i JOIN outages_service s ON s.id = i.service_id")


class IncidentTableHeld:
    """Holds a SHARE lock on the incident table: a pass that reaches its writes waits there,
    after it has claimed the watermark and done its maths, i.e. in the middle of the pass."""

    def __init__(self, pg: OwnPostgres) -> None:
        self.connection = psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=downradar")
        self.connection.execute("LOCK TABLE outages_incident IN SHARE MODE")
        self.pg = pg

    def waiting_writers(self) -> list[str]:
        return rows(
            self.pg,
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query ILIKE 'INSERT INTO \"outages_incident\"%'",
        )

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


def test_a_worker_killed_mid_pass_leaves_nothing_and_the_next_pass_catches_up(
    own_database, redis_server, tmp_path
):
    pg = own_database
    env = app_env(database_url=pg.url, redis_url=redis_server.url, var_dir=tmp_path)
    before = django_run(SPIKE_SETUP, env)
    held = IncidentTableHeld(pg)
    try:
        with celery_worker(env, tmp_path / "doomed.log", queue="celery") as worker:
            send(redis_server, "outages.tasks.detect")
            assert wait_until(lambda: held.waiting_writers(), timeout=30), "the pass never reached its writes"
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
    finally:
        held.release()
    # The killed worker's connection goes away and takes its transaction with it.
    assert wait_until(lambda: not held.waiting_writers() and watermark_unlocked(pg), timeout=30)
    assert incidents(pg) == []
    assert watermark(pg) == pg.psql(f"SELECT '{before}'::timestamptz")

    with celery_worker(env, tmp_path / "next.log", queue="celery"):
        for _ in range(2):  # the next beat tick, and one more: nothing is redone
            send(redis_server, "outages.tasks.detect")
        assert wait_until(lambda: len(task_results(tmp_path / "next.log")) == 2, timeout=60)

    assert incidents(pg) == ["chatgpt"]
    assert watermark(pg) > pg.psql(f"SELECT '{before}'::timestamptz")
    runs = task_results(tmp_path / "next.log")
    caught_up = pg.psql(
        f"SELECT (extract(epoch FROM processed_through - '{before}'::timestamptz) / 60)::int "
        "FROM outages_detectionwatermark"
    )
    assert runs[0]["minutes"] == int(caught_up) >= 10 and runs[0]["opened"] == 1
    assert runs[1]["opened"] == 0


def watermark_unlocked(pg: OwnPostgres) -> bool:
    return (
        pg.psql(
            "SELECT count(*) FROM outages_detectionwatermark WHERE id IN "
            "(SELECT id FROM outages_detectionwatermark FOR UPDATE SKIP LOCKED)"
        )
        == "1"
    )


def task_results(log: Path) -> list[dict]:
    found = re.findall(r"outages\.tasks\.detect\[[^\]]+\] succeeded in [\d.]+s: (\{.*\})", log.read_text())
    return [ast.literal_eval(text) for text in found]


def test_two_passes_at_once_detect_each_minute_once(own_database, redis_server, tmp_path):
    """Two beat schedulers mean two detect tasks every minute, run by two workers at once."""
    pg = own_database
    env = app_env(database_url=pg.url, redis_url=redis_server.url, var_dir=tmp_path)
    before = django_run(SPIKE_SETUP, env)
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    with celery_worker(env, logs[0], queue="celery"), celery_worker(env, logs[1], queue="celery"):
        held = IncidentTableHeld(pg)
        try:
            send(redis_server, "outages.tasks.detect")
            assert wait_until(lambda: held.waiting_writers(), timeout=30)
            # The first pass holds the minutes; the second, meanwhile, must leave at once.
            send(redis_server, "outages.tasks.detect")
            assert wait_until(lambda: sum(len(task_results(log)) for log in logs) == 1, timeout=30)
        finally:
            held.release()
        assert wait_until(lambda: sum(len(task_results(log)) for log in logs) == 2, timeout=30)

    runs = [run for log in logs for run in task_results(log)]
    busy = [run for run in runs if run["busy"]]
    done = [run for run in runs if not run["busy"]]
    assert len(busy) == 1 and busy[0]["minutes"] == 0
    assert len(done) == 1 and done[0]["opened"] == 1
    # The one pass that ran covered every minute from the watermark to now, once.
    first = pg.psql(f"SELECT '{before}'::timestamptz + interval '1 minute'")
    minutes = int(
        pg.psql(
            f"SELECT (extract(epoch FROM processed_through - '{first}'::timestamptz) / 60 + 1)::int "
            "FROM outages_detectionwatermark"
        )
    )
    assert done[0]["minutes"] == minutes
    assert incidents(pg) == ["chatgpt"]


def test_two_beat_schedulers_detect_each_minute_once(own_database, redis_server, tmp_path):
    """Two real beats (every second instead of every minute, for a few seconds) and two
    workers: many detect tasks, some at once; every minute is processed by exactly one."""
    pg = own_database
    env = app_env(database_url=pg.url, redis_url=redis_server.url, var_dir=tmp_path)
    before = django_run(SPIKE_SETUP, env)
    pg.psql("UPDATE django_celery_beat_periodictask SET enabled = (task = 'outages.tasks.detect')")
    pg.psql(
        "UPDATE django_celery_beat_intervalschedule SET every = 1 WHERE id = "
        "(SELECT interval_id FROM django_celery_beat_periodictask WHERE task = 'outages.tasks.detect')"
    )
    queues = "ingest,detection,notifications"
    workers = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    beats = [tmp_path / "beat-1.log", tmp_path / "beat-2.log"]

    def runs() -> list[dict]:
        return [run for log in workers for run in task_results(log)]

    with celery_worker(env, workers[0], queue=queues), celery_worker(env, workers[1], queue=queues):
        with celery_beat(env, beats[0]), celery_beat(env, beats[1]):
            assert wait_until(lambda: len(runs()) >= 12, timeout=60)
        sent = sum(log.read_text().count("Sending due task") for log in beats)
        assert wait_until(lambda: len(runs()) == sent, timeout=30)

    assert all(log.read_text().count("Sending due task") >= 3 for log in beats)  # both beats ran
    done = [run for run in runs() if run["minutes"]]
    caught_up = pg.psql(
        f"SELECT (extract(epoch FROM processed_through - '{before}'::timestamptz) / 60)::int "
        "FROM outages_detectionwatermark"
    )
    # However many tasks, the minutes they processed add up to the minutes the watermark
    # moved: none twice.
    assert sum(run["minutes"] for run in done) == int(caught_up) >= 10
    assert sum(run["opened"] for run in runs()) == 1
    assert incidents(pg) == ["chatgpt"]


# --- PostgreSQL restarting under beat -------------------------------------------------------


def test_beat_rides_out_a_postgres_restart_and_detection_resumes_by_itself(
    own_database, redis_server, tmp_path
):
    """Beat and a worker run against PostgreSQL; it stops for 30 seconds (abruptly, as in a
    crash or a failover) and starts again. Nothing restarts beat: it must still be running,
    still sending, and the detection passes must go on from where they stood. A second beat
    started during the outage (a supervisor restarting it, a host booting before its
    database) waits for PostgreSQL instead of dying, then schedules too."""
    pg = own_database
    env = app_env(database_url=pg.url, redis_url=redis_server.url, var_dir=tmp_path)
    django_run(SPIKE_SETUP, env)
    # Every 2 seconds instead of every minute, so many ticks fall inside the outage.
    pg.psql("UPDATE django_celery_beat_periodictask SET enabled = (task = 'outages.tasks.detect')")
    pg.psql(
        "UPDATE django_celery_beat_intervalschedule SET every = 2, period = 'seconds' WHERE id = "
        "(SELECT interval_id FROM django_celery_beat_periodictask WHERE task = 'outages.tasks.detect')"
    )
    worker_log, beat_log, late_log = (
        tmp_path / "worker.log",
        tmp_path / "beat.log",
        tmp_path / "late-beat.log",
    )

    def sent(log: Path) -> int:
        return log.read_text().count("Sending due task") if log.exists() else 0

    with (
        celery_worker(env, worker_log, queue="ingest,detection,notifications"),
        celery_beat(env, beat_log) as beat,
    ):
        assert wait_until(lambda: len(task_results(worker_log)) >= 2, timeout=60), beat_log.read_text()
        before_outage = watermark(pg)

        pg.stop()
        stopped_at = sent(beat_log)
        with celery_beat(env, late_log) as late_beat:
            assert wait_until(lambda: "the database is unavailable" in late_log.read_text(), timeout=30)
            # 30 seconds without PostgreSQL, and both beats still there.
            assert not wait_until(lambda: beat.poll() is not None or late_beat.poll() is not None, timeout=25)
            pg.start()

            sent_during_outage = sent(beat_log) - stopped_at
            passes_before_restart = len(task_results(worker_log))
            assert wait_until(
                lambda: len(task_results(worker_log)) >= passes_before_restart + 3, timeout=60
            ), worker_log.read_text()[-5000:]
            # A new minute processed after the restart: the passes go on, not just succeed idle.
            assert wait_until(lambda: watermark(pg) > before_outage, timeout=90)
            assert wait_until(lambda: sent(late_log) >= 2, timeout=30), late_log.read_text()
            assert beat.poll() is None and late_beat.poll() is None

    assert sent_during_outage >= 10  # beat kept its clock while the database was away
    for log in (beat_log, late_log):
        assert "beat raised exception" not in log.read_text()
