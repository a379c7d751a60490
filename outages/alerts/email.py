"""Email alerts for the public: subscribing with double opt-in, confirming and a one-click
unsubscribe (RFC 8058). The confirmation link and the alerts (an incident opened, confirmed by
a reviewer, resolved) all go through the one outbox (outages.alerts.notifications) like
webhooks, never inside the request; their messages are outages.alerts.email_delivery."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from catalogue.models import Service
from outages.alerts.models import EmailSubscription, new_token
from outages.alerts.notifications import confirmation_queue
from outages.alerts.subscriptions import SubscriptionRefused


def email_subscription_create(
    *, service: Service, email: str, client_key: str, now: dt.datetime
) -> EmailSubscription:
    """Ask for alerts: the address gets a confirmation link, and nothing else until it is used.
    Asking again for an unconfirmed address mails the same link again, within the
    recipient's budget (outages.alerts.notifications.confirmation_queue); one that had
    unsubscribed must confirm again. The caller learns nothing of whether a mail was
    queued, so neither does whoever asked."""
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
            return existing
        subscription = existing or EmailSubscription(service=service, email=email, created_at=now)
        if not subscription.is_active:
            # Back after unsubscribing: a new unsubscribe link, and a new confirmation.
            subscription.token, subscription.confirmed_at = new_token(), None
            subscription.confirm_token = new_token()
        subscription.is_active, subscription.client_key = True, client_key
        subscription.language = translation.get_language() or "en"
        try:
            with transaction.atomic():
                subscription.save()
        except IntegrityError:
            raise SubscriptionRefused(_("Please try again."), status=409) from None
        confirmation_queue(subscription=subscription, now=now)
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
