"""Gunicorn settings for Downradar (used by the Docker image and the systemd unit).

Every value can be overridden from the environment; `gunicorn --check-config -c
deploy/gunicorn.conf.py config.wsgi` validates this file.
"""

import multiprocessing
import os
from pathlib import Path

# Loopback by default: nginx runs in front on the same host. Containers and other layouts
# pass their own bind (deploy/docker-compose.yml).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# gthread, (cores + 1) x 3 threads: measured best on 2 cores (docs/benchmarks.md, "Report
# ingest"): 3 x 3 beat 4 x 2, 2 x 4 and 3 or 5 sync workers. Threads overlap a report's
# waits on PostgreSQL and Redis, and gthread keeps connections alive, which sync does not.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "3"))
# gunicorn_h1c's C parser (requirements.txt): "fast" refuses to start without it rather than
# fall back to the slower pure-Python parser unnoticed. `--http-parser auto` overrides.
http_parser = "fast"
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
# gunicorn's own error and access lines go through the app's address-redacting filter in
# every format: plain by default, JSON objects with LOG_FORMAT=json (as the app's own logs,
# config/settings.py). Gunicorn's messages can name a peer ("Error handling request from ...").
_JSON_LOGS = os.environ.get("LOG_FORMAT") == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_addresses": {"()": "config.metrics_logging.NoAddressesFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if _JSON_LOGS else "plain",
            "filters": ["no_addresses"],
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}

# Prometheus (config.metrics): each worker process writes its counters to files here and
# /metrics sums them. Emptied at start so counters of a previous run are not summed in.
PROMETHEUS_DIR = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or "/tmp/downradar-prometheus")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_DIR)  # read by prometheus_client at import
PROMETHEUS_DIR.mkdir(parents=True, exist_ok=True)
for stale in PROMETHEUS_DIR.glob("*.db"):
    stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _open_binds(binds: list[str]) -> list[str]:
    """The TCP binds that other hosts can reach (not loopback, not a unix socket)."""
    import ipaddress

    found = []
    for address in binds:
        if address.startswith(("unix:", "fd://")):
            continue
        host = address.rsplit(":", 1)[0].strip("[]") if ":" in address else address
        try:
            if ipaddress.ip_address(host).is_loopback:
                continue
        except ValueError:
            if host == "localhost":
                continue
        found.append(address)
    return found


def on_starting(server) -> None:
    """Refuse to serve X-Forwarded-For from a socket anyone can reach, unless the proxies'
    networks are named: a client connecting directly would choose its own address and walk
    past dedupe, the rate limits and the login limit."""
    proxies = int(os.environ.get("TRUSTED_PROXY_COUNT") or 0)
    if proxies > 0 and not os.environ.get("TRUSTED_PROXY_NETWORKS"):
        reachable = _open_binds(list(server.cfg.bind))
        if reachable:
            raise SystemExit(
                f"TRUSTED_PROXY_COUNT={proxies} but gunicorn binds {', '.join(reachable)}, which is not "
                "loopback: set TRUSTED_PROXY_NETWORKS to the proxies' networks (CIDR, comma-separated) "
                "or bind 127.0.0.1"
            )
