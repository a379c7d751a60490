from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from catalogue.models import Service
from config.metrics import detection_pass_record
from outages.baselines import baselines_rebuild
from outages.detection_pass import WATERMARK, PassResult, detection_run
from reports.aggregation import reports_aggregate_all

logger = logging.getLogger(__name__)

# A service that starts getting reports gets its first baseline within minutes rather than
# at the nightly rebuild; one attempt per service per this many seconds.
COLD_START_RETRY_SECONDS = 3600


def shard_watermark(shard_index: int, shard_count: int) -> str:
    """Each shard advances its own watermark row; a new shard count starts new rows."""
    return f"{WATERMARK}:{shard_index}/{shard_count}"


def shard_service_ids(shard_index: int, shard_count: int) -> list[int]:
    """The active services of one shard: by id modulo the count, so every service is in
    exactly one shard and a service stays in its shard as others are added."""
    return [
        pk for pk in Service.objects.active().values_list("pk", flat=True) if pk % shard_count == shard_index
    ]


@shared_task(name="outages.tasks.detect")
def detect() -> dict[str, object]:
    """Beat runs this every minute; overlapping runs are harmless (the pass claims its minutes).

    With DETECTION_SHARDS > 1 it only aggregates and queues one detect_shard per shard, so
    the pass is shared by every worker consuming the detection queue.
    """
    shard_count = settings.DETECTION_SHARDS
    if shard_count > 1:
        reports_aggregate_all()  # once here, not once per shard
        for shard_index in range(shard_count):
            detect_shard.delay(shard_index=shard_index, shard_count=shard_count)
        return {"shards": shard_count}
    started = time.monotonic()
    result = detection_run(now=timezone.now())
    _record(result, WATERMARK, started)
    return _summary(result)


@shared_task(name="outages.tasks.detect_shard")
def detect_shard(shard_index: int, shard_count: int) -> dict[str, object]:
    if not 0 <= shard_index < shard_count:
        raise ValueError(f"shard {shard_index} of {shard_count} does not exist")
    watermark = shard_watermark(shard_index, shard_count)
    started = time.monotonic()
    result = detection_run(
        now=timezone.now(), service_ids=shard_service_ids(shard_index, shard_count), watermark=watermark
    )
    _record(result, watermark, started)
    return _summary(result)


def _record(result: PassResult, watermark: str, started: float) -> None:
    if result.minutes:  # a pass that found nothing to do (busy, or done already) says nothing
        detection_pass_record(watermark=watermark, seconds=time.monotonic() - started)


def _summary(result: PassResult) -> dict[str, object]:
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
