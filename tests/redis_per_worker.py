"""One Redis database per pytest process (a plugin: `-p tests.redis_per_worker` in pyproject.toml).

Every test flushes the Redis database REDIS_URL names (the `_fresh_cache` fixture clears the
cache with FLUSHDB), and the Celery queues the worker tests use live there too: two pytest
processes on one database would empty each other's keys mid-test. Under pytest-xdist, worker
gwN therefore takes database D - N, where D is the database REDIS_URL names (CACHE_REDIS_URL
likewise): `make test` (D = 15, two workers) uses databases 15 and 14. A plain run (no -n)
uses D alone. PostgreSQL needs nothing here: pytest-django gives each worker its own test
database (test_<name>_gw0, test_<name>_gw1).

It runs before pytest-django sets Django up, so the settings, the Celery broker and every
process a test starts (they inherit os.environ) see the worker's database.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

REDIS_DATABASES = 16  # redis-server's default `databases`


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    for name in ("REDIS_URL", "CACHE_REDIS_URL"):
        if os.environ.get(name):
            os.environ[name] = worker_redis_url(os.environ[name], worker)


def worker_redis_url(url: str, worker: str) -> str:
    """redis://host:6379/15 for gw0, /14 for gw1, ...; too many workers for D is an error."""
    number = int(worker.removeprefix("gw"))
    parts = urlsplit(url)
    path = parts.path.strip("/")
    database = int(path) if path else 0
    if not 0 <= database - number < REDIS_DATABASES:
        raise pytest.UsageError(
            f"xdist worker {worker} would need Redis database {database - number}: "
            f"point REDIS_URL at a database of at least {number} or run fewer workers"
        )
    return urlunsplit(parts._replace(path=f"/{database - number}"))
