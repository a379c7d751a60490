"""Gunicorn settings for Downradar (used by the Docker image and the systemd unit).

Every value can be overridden from the environment; `gunicorn --check-config -c
deploy/gunicorn.conf.py config.wsgi` validates this file.
"""

import multiprocessing
import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: a report is a few short queries, so processes (not threads) use both
# cores best; see docs/benchmarks.md for the measured choice.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Under a surge a stuck request must not hold a worker for long.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = 2000
backlog = 2048
preload_app = True

accesslog = "-"
errorlog = "-"
# No remote-address field: client addresses are never logged.
access_log_format = '"%(r)s" %(s)s %(b)s %(M)sms'

# Prometheus (config.metrics): each worker process writes its counters to files here and
# /metrics sums them. Emptied at start so counters of a previous run are not summed in.
PROMETHEUS_DIR = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/downradar-prometheus"))
PROMETHEUS_DIR.mkdir(parents=True, exist_ok=True)
for stale in PROMETHEUS_DIR.glob("*.db"):
    stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
