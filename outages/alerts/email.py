"""Email alerts for the public: subscribing with double opt-in, confirming and a one-click
unsubscribe (RFC 8058). The alerts themselves (an incident opened, confirmed by a reviewer,
resolved) go through the one outbox (outages.alerts.notifications) like webhooks; their
message is outages.alerts.email_delivery."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from catalogue.models import Service
from outages.alerts.email_delivery import confirmation_send
from outages.alerts.models import EmailSubscription
from outages.alerts.subscriptions import SubscriptionRefused


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
