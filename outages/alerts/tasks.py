from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from outages import outbound
from outages.alerts.delivery import (
    CLAIM_TIMEOUT,
    MAX_ATTEMPTS,
    confirmation_deliver,
    confirmations_stalled,
    notifications_deliver,
    notifications_stalled,
    subscription_verify,
)

logger = logging.getLogger(__name__)


def _backoff_seconds(retries: int) -> int:
    # OUTBOX_RETRY_SECONDS (30 s), 1 min, 2 min ... capped below the sweep's claim timeout.
    cap = CLAIM_TIMEOUT.total_seconds() - 60
    return round(outbound.retry_after(settings.OUTBOX_RETRY_SECONDS, retries + 1, cap, jitter=0.25))


# Task names are kept from when this module was outages.review.tasks: they are in the beat
# table and in queued messages.
@shared_task(name="outages.review.tasks.deliver_notifications", bind=True, max_retries=MAX_ATTEMPTS)
def deliver_notifications(self, incident_id: int) -> dict[str, int]:
    """Every channel of every event of the incident (outages.alerts.delivery): queued after
    the transaction that made an event commits, and by the sweep; safe to run twice."""
    result = notifications_deliver(incident_id=incident_id, now=timezone.now())
    if result.retry:
        raise self.retry(countdown=_backoff_seconds(self.request.retries))
    return {"sent": result.sent, "failed": result.failed}


@shared_task(name="outages.alerts.tasks.deliver_confirmation", bind=True, max_retries=MAX_ATTEMPTS)
def deliver_confirmation(self, notification_id: int) -> dict[str, int]:
    """An email subscriber's confirmation link (outages.alerts.delivery): queued after the
    subscribe commits, and by the sweep; safe to run twice."""
    result = confirmation_deliver(notification_id=notification_id, now=timezone.now())
    if result.retry:
        raise self.retry(countdown=_backoff_seconds(self.request.retries))
    return {"sent": result.sent, "failed": result.failed}


@shared_task(name="outages.review.tasks.verify_subscription")
def verify_subscription(subscription_id: int, token: str) -> bool:
    """Queued after a subscription commits: the challenge its endpoint must echo. Not
    retried: subscribing again sends a new one."""
    return subscription_verify(subscription_id=subscription_id, token=token, now=timezone.now())


@shared_task(name="outages.review.tasks.notifications_sweep")
def notifications_sweep() -> int:
    """Beat, every few minutes: deliveries whose task was never queued (broker down at
    commit) or whose worker died, email and webhooks, alerts and confirmations alike."""
    now = timezone.now()
    incident_ids = notifications_stalled(now=now)
    for incident_id in incident_ids:
        deliver_notifications.delay(incident_id)
    confirmation_ids = confirmations_stalled(now=now)
    for notification_id in confirmation_ids:
        deliver_confirmation.delay(notification_id)
    if incident_ids or confirmation_ids:
        logger.info(
            "notifications: re-queued %d incidents and %d confirmations",
            len(incident_ids),
            len(confirmation_ids),
        )
    return len(incident_ids) + len(confirmation_ids)
