"""Detection shards: one live pass run by 1, 2 and 4 real Celery worker processes.

    flock -x /tmp/cpu.lock .venv/bin/python -m bench.detection_shards

Uses the detection-speed database (BENCH_DATABASE_URL, default downradar_bench: 1,000 active
services, 5,000 cities, 10 million reports over 28 days; created by bench.detection_speed if
missing, baselines rebuilt if it has none). For each N in 1, 2, 4 it starts a real
`celery worker -Q detection --concurrency N` (prefork) with DETECTION_SHARDS=N on a Redis
broker (BENCH_REDIS_URL, default redis://127.0.0.1:6379/12), sends beat's task
`outages.tasks.detect` and times it until every shard's watermark has advanced: the
first pass in fresh worker processes (profiles read from the database), then five more passes
(profiles cached; results reset before each, each pass one minute). N = 1 is today's single pass (no fan-out).

The bench data ends on 2026-03-10 at 20:00 UTC, so each worker runs with its clock moved
there (time_machine, ticking); everything else is the production code path. Cold-start
baseline rebuilds are held back (their once-an-hour keys set beforehand) so that only the
pass is measured. Figures go in docs/benchmarks.md, "Detection shards".
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import detection_speed

ROOT = Path(__file__).resolve().parent.parent
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
# The worker's clock at start: the bench's last minutes, with a pass due in a few seconds.
CLOCK_START = detection_speed.NOW - dt.timedelta(minutes=2, seconds=-12)
WORKER_COUNTS = (1, 2, 4)
PASS_TIMEOUT = 300.0
WARM_PASSES = 5

WORKER_MAIN = """
import datetime as dt, sys, time_machine
time_machine.travel(dt.datetime.fromisoformat(sys.argv[1]), tick=True).start()
from config.celery import app
app.worker_main(["worker", "-Q", "detection", "--pool", "prefork", "--concurrency", sys.argv[2],
                 "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


def _env(shards: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": detection_speed.BENCH_DATABASE_URL,
        "REDIS_URL": BENCH_REDIS_URL,
        "DEBUG": "false",
        "DETECTION_SHARDS": str(shards),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("CACHE_REDIS_URL", None)
    return env


def _setup_django() -> None:
    for name, value in _env(1).items():
        os.environ[name] = value
    import django

    django.setup()


def _ensure_baselines() -> None:
    from outages.models import Baseline

    if Baseline.objects.exists():
        return
    print("no baselines in the bench database: rebuilding them (a few minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "bench.detection_speed", "--child", "rebuild"], check=True)


def _reset(shards: int, processed_through: dt.datetime) -> None:
    from outages.models import DetectionWatermark, Incident, IncidentCity, ServiceStatus
    from outages.watermark import current_watermarks

    IncidentCity.objects.all().delete()
    Incident.objects.all().delete()
    ServiceStatus.objects.all().delete()
    for name in current_watermarks(shards):
        DetectionWatermark.objects.update_or_create(
            name=name, defaults={"processed_through": processed_through}
        )


def _hold_back_cold_starts() -> None:
    from django.core.cache import cache

    from catalogue.models import Service
    from outages.tasks import COLD_START_RETRY_SECONDS

    for pk in Service.objects.values_list("pk", flat=True):
        cache.set(f"outages:cold-start:{pk}", 1, COLD_START_RETRY_SECONDS)


class Worker:
    def __init__(self, shards: int, log: Path) -> None:
        self.log = log
        self.started = time.time()
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER_MAIN, CLOCK_START.isoformat(), str(shards)],
            cwd=ROOT,
            env=_env(shards),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

    def clock(self) -> dt.datetime:
        """The worker's (moved) clock now."""
        return CLOCK_START + dt.timedelta(seconds=time.time() - self.started)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _one_pass(worker: Worker, shards: int) -> dict:
    from config.celery import app
    from outages.detection_pass import GRACE_SECONDS
    from outages.models import DetectionWatermark, Incident
    from outages.watermark import current_watermarks
    from reports.minutes import floor_minute

    # Start well inside a minute, so the pass has exactly one minute to do.
    while not 2 + GRACE_SECONDS <= worker.clock().second <= 40:
        time.sleep(0.2)
    end = floor_minute(worker.clock()) - dt.timedelta(minutes=1)
    _reset(shards, end - dt.timedelta(minutes=1))
    names = current_watermarks(shards)
    started = time.monotonic()
    app.send_task("outages.tasks.detect")
    while time.monotonic() - started < PASS_TIMEOUT:
        marks = DetectionWatermark.objects.filter(name__in=names).values_list("processed_through", flat=True)
        if all(mark is not None and mark >= end for mark in marks):
            break
        time.sleep(0.02)
    else:
        raise RuntimeError(f"pass did not finish in {PASS_TIMEOUT} s:\n{worker.log.read_text()[-3000:]}")
    return {"seconds": time.monotonic() - started, "incidents": Incident.objects.count()}


def main() -> None:
    detection_speed.prepare(fresh=False)
    _setup_django()
    _ensure_baselines()
    from django.db import connection

    from catalogue.models import Service
    from config.celery import app

    active = Service.objects.active().count()
    print(f"{active:,} active services; load average before: {os.getloadavg()[0]:.2f}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for shards in WORKER_COUNTS:
            app.control.purge()
            _hold_back_cold_starts()
            connection.close()
            worker = Worker(shards, Path(tmp) / f"worker-{shards}.log")
            try:
                cold = _one_pass(worker, shards)
                warm = [_one_pass(worker, shards) for _ in range(WARM_PASSES)]
            finally:
                worker.stop()
            times = sorted(p["seconds"] for p in warm)
            results.append({"workers": shards, "cold": cold, "warm": warm})
            print(
                f"{shards} worker process(es), {shards} shard(s): first pass in fresh workers "
                f"{cold['seconds']:.2f} s; then {WARM_PASSES} passes: median {statistics.median(times):.2f} s "
                f"(min {times[0]:.2f}, max {times[-1]:.2f}); incidents opened per pass "
                f"{sorted({cold['incidents'], *(p['incidents'] for p in warm)})}",
                flush=True,
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
