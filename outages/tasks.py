from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from outages.services import baselines_rebuild, detection_run

logger = logging.getLogger(__name__)

# A service that starts getting reports gets its first baseline within minutes rather than
# at the nightly rebuild; one attempt per service per this many seconds.
COLD_START_RETRY_SECONDS = 3600


@shared_task(name="outages.tasks.detect")
def detect() -> dict[str, object]:
    """Beat runs this every minute; overlapping runs are harmless (the pass claims its minutes)."""
    result = detection_run(now=timezone.now())
    if result.busy:
        logger.info("detection: another pass is running")
    cold = [
        pk
        for pk in result.without_baseline
        if cache.add(f"outages:cold-start:{pk}", 1, COLD_START_RETRY_SECONDS)
    ]
    if cold:
        rebuild_baselines.delay(service_ids=cold)
    return {
        "minutes": result.minutes,
        "services": result.services,
        "opened": result.opened,
        "resolved": result.resolved,
        "busy": result.busy,
    }


@shared_task(name="outages.tasks.rebuild_baselines")
def rebuild_baselines(service_ids: list[int] | None = None) -> int:
    stored = baselines_rebuild(service_ids=service_ids, now=timezone.now())
    logger.info("baselines rebuilt: %d series", stored)
    return stored
