"""Email alerts for the public (subscribing and queueing; sending is email_delivery): double opt-in, an alert when an incident opens, when a reviewer
confirms it and when it resolves (naming the affected cities), and a one-click unsubscribe in
every message (RFC 8058). Sent through Django's email backend (SMTP in production)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from catalogue.models import Service
from outages.alerts import tasks
from outages.alerts.email_delivery import confirmation_send
from outages.alerts.models import EmailAlert, EmailSubscription
from outages.alerts.subscriptions import SubscriptionRefused
from outages.models import Incident

logger = logging.getLogger(__name__)
Event = EmailAlert.Event
CITIES_NAMED = 5


def _url(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"token": token})


def email_subscription_create(
    *, service: Service, email: str, client_key: str, now: dt.datetime
) -> EmailSubscription:
    """Ask for alerts: the address gets a confirmation link, and nothing else until it is used.
    Asking again for the same address sends a new link (the old one stops working)."""
    with transaction.atomic():
        Service.objects.select_for_update().filter(pk=service.pk).first()  # one subscribe at a time
        mine = EmailSubscription.objects.filter(client_key=client_key, is_active=True).count()
        if mine >= settings.WEBHOOK_MAX_PER_CLIENT:
            raise SubscriptionRefused(
                _("You already have %(count)s alerts; unsubscribe from one first.") % {"count": mine},
                status=429,
            )
        existing = EmailSubscription.objects.filter(service=service, email__iexact=email).first()
        if existing is not None and existing.is_active and existing.confirmed_at is not None:
            # Confirmed already: say nothing more than a new subscription would (no token shown).
            subscription = existing
        else:
            subscription = existing or EmailSubscription(service=service, email=email, created_at=now)
            subscription.confirm_token = EmailSubscription._meta.get_field("confirm_token").default()
            subscription.token = EmailSubscription._meta.get_field("token").default()
            subscription.is_active, subscription.client_key = True, client_key
            subscription.language = translation.get_language() or "en"
            try:
                subscription.save()
            except IntegrityError:
                raise SubscriptionRefused(_("Please try again."), status=409) from None
            transaction.on_commit(
                lambda: confirmation_send(subscription.pk, translation.get_language() or "en")
            )
    return subscription


def email_subscription_confirm(token: str, *, now: dt.datetime) -> EmailSubscription | None:
    subscription = EmailSubscription.objects.filter(confirm_token=token, is_active=True).first()
    if subscription is not None and subscription.confirmed_at is None:
        subscription.confirmed_at = now
        subscription.save(update_fields=["confirmed_at"])
    return subscription


def email_unsubscribe(token: str) -> EmailSubscription | None:
    subscription = EmailSubscription.objects.filter(token=token).first()
    if subscription is not None and subscription.is_active:
        subscription.is_active = False
        subscription.save(update_fields=["is_active"])
    return subscription


def email_alerts_queue(*, incident_ids: Iterable[int], event: str) -> int:
    """Queue the event's alerts for the confirmed subscribers of these (public) incidents'
    services. Call inside the transaction that made the change; sent after it commits."""
    ids = sorted(set(incident_ids))
    if not ids:
        return 0
    now = timezone.now()
    services = dict(Incident.objects.public().filter(pk__in=ids).values_list("pk", "service_id"))
    subscribers: dict[int, list[int]] = {}
    for pk, service_id in EmailSubscription.objects.filter(
        service_id__in=set(services.values()), is_active=True, confirmed_at__isnull=False
    ).values_list("pk", "service_id"):
        subscribers.setdefault(service_id, []).append(pk)
    rows = [
        EmailAlert(subscription_id=subscription_id, incident_id=incident_id, event=event, created_at=now)
        for incident_id, service_id in services.items()
        for subscription_id in subscribers.get(service_id, [])
    ]
    EmailAlert.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        transaction.on_commit(_queue_sending)
    return len(rows)


def _queue_sending() -> None:
    try:
        tasks.send_email_alerts.delay()
    except Exception:  # the broker is down: the notifications sweep sends them later
        logger.exception("could not queue email alerts")
