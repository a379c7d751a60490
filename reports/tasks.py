from __future__ import annotations

import logging
import time

from celery import shared_task
from django.utils import timezone

from reports.aggregation import reports_aggregate
from reports.partitions import partitions_ensure
from reports.retention import reports_purge_expired

logger = logging.getLogger(__name__)

# Beat runs this every 10 s; stop well before the next run is due.
AGGREGATE_TIME_BUDGET_SECONDS = 8.0


@shared_task(name="reports.tasks.aggregate_pending")
def aggregate_pending() -> int:
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < AGGREGATE_TIME_BUDGET_SECONDS:
        done = reports_aggregate()
        total += done
        if not done:
            break
    return total


@shared_task(name="reports.tasks.purge_expired")
def purge_expired() -> dict[str, int]:
    deleted = reports_purge_expired(now=timezone.now())
    logger.info("retention purge: %s", deleted)
    return deleted


@shared_task(name="reports.tasks.partitions_maintain")
def partitions_maintain() -> list[str]:
    created = partitions_ensure(now=timezone.now())
    if created:
        logger.info("partitions created: %s", ", ".join(created))
    return created
