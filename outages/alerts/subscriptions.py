"""Public webhook subscriptions: taking one (limits, never another's token) and the
confirmation handshake that must succeed before it gets any delivery.

The handshake, as Slack's and other webhook senders' URL verification: we POST
{"type": "url_verification", "challenge": "<random>", "service": "<slug>"} to the URL; the
endpoint proves it wants our calls by answering 2xx with the challenge as the body (plain
text, or JSON {"challenge": "<random>"}). Anything else leaves the subscription unconfirmed:
it gets nothing, and subscribing the URL again sends a new challenge. Sending it is
outages.alerts.delivery.subscription_verify, run by a task on the notifications queue.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from catalogue.models import Service
from outages.alerts import tasks
from outages.alerts.models import WebhookSubscription
from outages.alerts.models import new_token as _new_token

logger = logging.getLogger(__name__)


class SubscriptionRefused(Exception):
    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@transaction.atomic
def subscription_create(
    *, service: Service, url: str, client_key: str, now: dt.datetime
) -> WebhookSubscription:
    """A new, unconfirmed subscription (its token shown once, to this caller only), with
    the handshake queued after commit.

    A URL already subscribed and confirmed is refused: its token belongs to whoever
    subscribed it (and the endpoint sees it in every delivery). One that is unconfirmed or
    unsubscribed is taken over with a new token, so an old token neither leaks nor works."""
    # Subscribes to one service take turns, so its limit and the client's limit on it
    # hold under concurrent requests.
    Service.objects.select_for_update().filter(pk=service.pk).first()
    existing = WebhookSubscription.objects.filter(service=service, url=url).first()
    if existing is not None and existing.is_active and existing.is_confirmed:
        raise SubscriptionRefused(
            _(
                "This address already gets %(name)s's incidents. Its unsubscribe link is in "
                "every call it receives."
            )
            % {"name": service.name},
            status=409,
        )
    others = WebhookSubscription.objects.filter(is_active=True)
    if existing is not None:
        others = others.exclude(pk=existing.pk)
    if others.filter(client_key=client_key).count() >= settings.WEBHOOK_MAX_PER_CLIENT:
        raise SubscriptionRefused(
            _(
                "You already have %(limit)d webhook subscriptions, the most one client may "
                "have. Unsubscribe one first."
            )
            % {"limit": settings.WEBHOOK_MAX_PER_CLIENT},
            status=429,
        )
    if others.filter(service=service).count() >= settings.WEBHOOK_MAX_PER_SERVICE:
        raise SubscriptionRefused(
            _("%(name)s has as many webhook subscriptions as it can take. Use its feeds instead.")
            % {"name": service.name},
            status=429,
        )
    fields = {"token": _new_token(), "is_active": True, "confirmed_at": None, "client_key": client_key}
    if existing is None:
        subscription = WebhookSubscription.objects.create(service=service, url=url, created_at=now, **fields)
    else:
        WebhookSubscription.objects.filter(pk=existing.pk).update(created_at=now, **fields)
        subscription = WebhookSubscription.objects.get(pk=existing.pk)
    transaction.on_commit(lambda: _queue_verification(subscription.pk, subscription.token))
    return subscription


def _queue_verification(subscription_id: int, token: str) -> None:
    try:
        tasks.verify_subscription.delay(subscription_id, token)
    except Exception:  # the broker is down: subscribing again sends a new challenge
        logger.exception("could not queue the handshake of subscription %s", subscription_id)
