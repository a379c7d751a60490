from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from catalogue.models import Service
from outages.alerts.models import Notification
from outages.alerts.notifications import escalations_queue, notifications_queue, reopenings_queue
from outages.baselines import baselines_rebuild
from outages.detection_pass import PassResult, detection_run
from outages.watermark import WATERMARK, pass_seconds_record, shard_watermark
from reports.aggregation import reports_aggregate_all

logger = logging.getLogger(__name__)

# A service that starts getting reports gets its first baseline within minutes rather than
# at the nightly rebuild; one attempt per service per this many seconds.
COLD_START_RETRY_SECONDS = 3600


def shard_service_ids(shard_index: int, shard_count: int) -> list[int]:
    """The active services of one shard: by id modulo the count, so every service is in
    exactly one shard and a service stays in its shard as others are added."""
    return [
        pk for pk in Service.objects.active().values_list("pk", flat=True) if pk % shard_count == shard_index
    ]


def detection_pass_notify(run: Callable[[], PassResult]) -> PassResult:
    """Run a detection pass and queue the notifications of the incidents it opened, escalated,
    re-opened and resolved.

    Detection knows nothing of notifications: it returns the ids, and this hands them on in
    the same transaction, so the outbox rows commit with the incidents (or not at all) and
    delivery is queued only once they have committed (outages.alerts.notifications). The
    transaction also covers the aggregation the pass starts with: a pass that fails leaves
    those reports pending for the next one, as it leaves its minutes.
    """
    with transaction.atomic():
        result = run()
        notifications_queue(incident_ids=result.opened_ids, event=Notification.Event.OPENED)
        escalations_queue(escalation_ids=result.escalation_ids)
        reopenings_queue(reopening_ids=result.reopening_ids)
        notifications_queue(incident_ids=result.resolved_ids, event=Notification.Event.RESOLVED)
    return result


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
    result = detection_pass_notify(lambda: detection_run(now=timezone.now()))
    _record(result, WATERMARK, started)
    return _summary(result)


@shared_task(name="outages.tasks.detect_shard")
def detect_shard(shard_index: int, shard_count: int) -> dict[str, object]:
    if not 0 <= shard_index < shard_count:
        raise ValueError(f"shard {shard_index} of {shard_count} does not exist")
    watermark = shard_watermark(shard_index, shard_count)
    started = time.monotonic()
    result = detection_pass_notify(
        lambda: detection_run(
            now=timezone.now(), service_ids=shard_service_ids(shard_index, shard_count), watermark=watermark
        )
    )
    _record(result, watermark, started)
    return _summary(result)


def _record(result: PassResult, watermark: str, started: float) -> None:
    if result.minutes:  # a pass that found nothing to do (busy, or done already) says nothing
        pass_seconds_record(watermark=watermark, seconds=time.monotonic() - started)


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


def baselines_rebuild_queue(service_id: int) -> None:
    """Rebuild the service's profiles once the calling transaction commits: a reviewer's
    confirmation, or its withdrawal, changes which of its incidents the history leaves out
    (outages.baselines), and the detector should not wait for the nightly rebuild for it."""

    def send() -> None:
        try:
            rebuild_baselines.delay(service_ids=[service_id])
        except Exception:  # the broker is down: the nightly rebuild catches up
            logger.exception("could not queue the rebuild of service %s", service_id)

    transaction.on_commit(send)
