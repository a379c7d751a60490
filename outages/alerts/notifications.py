"""The outbox of new incidents: who is told (reviewers by email and, if configured, a
Slack-compatible webhook; public subscribers by their own webhooks), queued once.

The detection task calls incidents_opened with the ids the pass returns, in the pass's
transaction (outages.tasks.detection_pass_notify): one outbox row per incident and channel
is inserted there (a unique constraint makes a second insert a no-op), and a delivery task
is queued once the transaction commits. Sending is outages.alerts.delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from outages.alerts import tasks
from outages.alerts.models import Notification, WebhookSubscription
from outages.models import Incident

logger = logging.getLogger(__name__)

Channel = Notification.Channel


def incidents_opened(*, incident_ids: Iterable[int]) -> None:
    """Queue the notifications of newly opened incidents. Call inside the transaction
    that created them; nothing is sent if it rolls back."""
    ids = sorted(set(incident_ids))
    if not ids:
        return
    notifications_create(incident_ids=ids)
    transaction.on_commit(lambda: _queue_delivery(ids))


def notifications_create(*, incident_ids: list[int]) -> int:
    """The outbox rows of these incidents; rows that exist already are left alone."""
    now = timezone.now()
    services = dict(Incident.objects.filter(pk__in=incident_ids).values_list("pk", "service_id"))
    subscriptions: dict[int, list[int]] = {}
    for pk, service_id in WebhookSubscription.objects.filter(
        service_id__in=set(services.values()), is_active=True, confirmed_at__isnull=False
    ).values_list("pk", "service_id"):
        subscriptions.setdefault(service_id, []).append(pk)
    rows = []
    for incident_id, service_id in services.items():
        rows.append(Notification(incident_id=incident_id, channel=Channel.EMAIL, created_at=now))
        if settings.REVIEW_WEBHOOK_URL:
            rows.append(Notification(incident_id=incident_id, channel=Channel.WEBHOOK, created_at=now))
        rows.extend(
            Notification(
                incident_id=incident_id,
                channel=Channel.SUBSCRIBER,
                subscription_id=subscription_id,
                created_at=now,
            )
            for subscription_id in subscriptions.get(service_id, ())
        )
    # ON CONFLICT DO NOTHING on the partial unique constraints: one row per channel.
    return len(Notification.objects.bulk_create(rows, ignore_conflicts=True))


def _queue_delivery(incident_ids: list[int]) -> None:
    for incident_id in incident_ids:
        try:
            tasks.deliver_notifications.delay(incident_id)
        except Exception:  # the broker is down: the sweep delivers later
            logger.exception("could not queue notifications of incident %s", incident_id)
