"""Telling people about incidents: the one outbox, and the public's email and webhook subscriptions.

Loaded by outages.models (the last line there imports this module), so these are models
of the `outages` app and live in its migrations.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q


def new_token() -> str:
    """An unguessable token for an unsubscribe or confirmation link."""
    return secrets.token_urlsafe(24)


class WebhookSubscription(models.Model):
    """Someone outside who wants a POST when a service has a new incident."""

    service = models.ForeignKey("catalogue.Service", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    # Shown once on subscribing; the unsubscribe link carries it.
    token = models.CharField(max_length=40, unique=True, default=new_token)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    # Who subscribed, for the per-client limit: reports.hashing.rate_limit_key of the
    # client's address (a keyed HMAC, never the address itself).
    client_key = models.CharField(max_length=32, blank=True, default="")
    # Set when the endpoint echoed our challenge (outages.alerts.subscriptions); until
    # then it gets no deliveries.
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "url"], name="outages_webhooksubscription_key")
        ]
        indexes = [
            # The per-client limit: active subscriptions WHERE client_key = %s.
            models.Index(
                fields=["client_key"],
                condition=Q(is_active=True),
                name="outages_webhook_client_active",
            ),
        ]

    def __str__(self) -> str:
        return f"webhook for service {self.service_id}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class Notification(models.Model):
    """The one outbox, for email and webhooks: one row per incident, event and recipient
    (the reviewers' email, the reviewers' webhook, a subscriber's webhook, a subscriber's
    email), created in the transaction that made the event. Delivery claims a row with a
    conditional UPDATE, so a second detection run, task retry or sweep cannot send it twice.
    An incident can escalate more than once: an `escalated` row names its escalation, and is
    unique per escalation and recipient instead. So can it resolve and re-open: a `reopened`
    row names its re-opening, and so do the `confirmed` and `resolved` rows queued after it
    (the incident's latest re-opening), each unique per re-opening, event and recipient.

    A `confirmation` row is the double opt-in's mail to an email subscriber: no incident,
    and the recipient's key (reports.hashing.recipient_key), by which the mails one inbox
    was sent are counted (outages.alerts.notifications.confirmation_queue)."""

    class Event(models.TextChoices):
        OPENED = "opened", "Incident opened"
        CONFIRMED = "confirmed", "Confirmed by a reviewer"
        RESOLVED = "resolved", "Resolved"
        ESCALATED = "escalated", "Reports rising sharply again"
        REOPENED = "reopened", "Problems again after it resolved"
        CONFIRMATION = "confirmation", "Subscription's confirmation link"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email to reviewers"
        WEBHOOK = "webhook", "Reviewers' webhook"
        SUBSCRIBER = "subscriber", "Subscriber's webhook"
        SUBSCRIBER_EMAIL = "subscriber_email", "Subscriber's email"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    # Null for a `confirmation` only.
    incident = models.ForeignKey(
        "outages.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=12, choices=Event.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # The subscriber, for the subscriber channels (one of the two, by channel).
    subscription = models.ForeignKey(
        WebhookSubscription, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    email_subscription = models.ForeignKey(
        "outages.EmailSubscription", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The escalation an `escalated` row announces (outages.models.IncidentEscalation); null
    # for every other event.
    escalation = models.ForeignKey(
        "outages.IncidentEscalation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The incident's latest re-opening (outages.models.IncidentReopening) when the row was
    # queued: the one a `reopened` row announces, and the stretch of the incident a
    # `confirmed` or `resolved` row speaks of. Null before any re-opening.
    reopening = models.ForeignKey(
        "outages.IncidentReopening", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(max_length=7, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    # A `confirmation`'s recipient: a keyed HMAC of the normalised address, "" otherwise.
    recipient_key = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        constraints = [
            # One message per event and recipient: a second insert is ON CONFLICT DO NOTHING.
            models.UniqueConstraint(
                fields=["incident", "event", "channel"],
                condition=Q(
                    subscription__isnull=True,
                    email_subscription__isnull=True,
                    escalation__isnull=True,
                    reopening__isnull=True,
                ),
                name="outages_notification_one_per_channel",
            ),
            models.UniqueConstraint(
                fields=["incident", "event", "subscription"],
                condition=Q(subscription__isnull=False, escalation__isnull=True, reopening__isnull=True),
                name="outages_notification_one_per_subscriber",
            ),
            models.UniqueConstraint(
                fields=["incident", "event", "email_subscription"],
                condition=Q(
                    email_subscription__isnull=False, escalation__isnull=True, reopening__isnull=True
                ),
                name="outages_notification_one_per_email_subscriber",
            ),
            # After a re-opening: one message per re-opening, event and recipient.
            models.UniqueConstraint(
                fields=["reopening", "event", "channel"],
                condition=Q(
                    reopening__isnull=False, subscription__isnull=True, email_subscription__isnull=True
                ),
                name="outages_notification_reopening_channel",
            ),
            models.UniqueConstraint(
                fields=["reopening", "event", "subscription"],
                condition=Q(reopening__isnull=False, subscription__isnull=False),
                name="outages_notification_reopening_subscriber",
            ),
            models.UniqueConstraint(
                fields=["reopening", "event", "email_subscription"],
                condition=Q(reopening__isnull=False, email_subscription__isnull=False),
                name="outages_notification_reopening_email",
            ),
            # An escalation's messages: one per escalation and recipient.
            models.UniqueConstraint(
                fields=["escalation", "channel"],
                condition=Q(
                    escalation__isnull=False, subscription__isnull=True, email_subscription__isnull=True
                ),
                name="outages_notification_escalation_channel",
            ),
            models.UniqueConstraint(
                fields=["escalation", "subscription"],
                condition=Q(escalation__isnull=False, subscription__isnull=False),
                name="outages_notification_escalation_subscriber",
            ),
            models.UniqueConstraint(
                fields=["escalation", "email_subscription"],
                condition=Q(escalation__isnull=False, email_subscription__isnull=False),
                name="outages_notification_escalation_email",
            ),
            # An escalation is named by the `escalated` event, and only by it.
            models.CheckConstraint(
                condition=Q(event="escalated", escalation__isnull=False)
                | (~Q(event="escalated") & Q(escalation__isnull=True)),
                name="outages_notification_escalation_event",
            ),
            # A `reopened` row names its re-opening; only it, `confirmed` and `resolved` can.
            models.CheckConstraint(
                condition=Q(event="reopened", reopening__isnull=False)
                | Q(event__in=["confirmed", "resolved"])
                | (~Q(event__in=["reopened", "confirmed", "resolved"]) & Q(reopening__isnull=True)),
                name="outages_notification_reopening_event",
            ),
            # A subscriber channel names its subscriber, and only that one.
            models.CheckConstraint(
                condition=(
                    Q(channel="subscriber", subscription__isnull=False, email_subscription__isnull=True)
                    | Q(
                        channel="subscriber_email",
                        subscription__isnull=True,
                        email_subscription__isnull=False,
                    )
                    | Q(
                        channel__in=["email", "webhook"],
                        subscription__isnull=True,
                        email_subscription__isnull=True,
                    )
                ),
                name="outages_notification_recipient",
            ),
            # A confirmation is a subscriber's mail about no incident, counted by its
            # recipient's key; every other event is about an incident.
            models.CheckConstraint(
                condition=Q(
                    event="confirmation",
                    incident__isnull=True,
                    channel="subscriber_email",
                    recipient_key__regex=r"^[0-9a-f]{32}$",
                )
                | (~Q(event="confirmation") & Q(incident__isnull=False, recipient_key="")),
                name="outages_notification_confirmation",
            ),
        ]
        indexes = [
            # The sweep: undelivered rows, oldest first.
            models.Index(
                fields=["created_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="outages_notification_open",
            ),
            # The confirmation budget: confirmations WHERE recipient_key = %s AND
            # created_at > now - 1 day (outages.alerts.notifications.confirmation_queue).
            models.Index(
                fields=["recipient_key", "created_at"],
                condition=Q(event="confirmation"),
                name="outages_notification_budget",
            ),
        ]

    def __str__(self) -> str:
        if self.incident_id is None:
            return f"{self.event} to email subscription {self.email_subscription_id}: {self.state}"
        return f"{self.event} of incident {self.incident_id} by {self.channel}: {self.state}"


class EmailSubscription(models.Model):
    """Someone who wants an email when a service has an incident: confirmed by a link sent
    to the address first (double opt-in); every alert carries a one-click unsubscribe."""

    service = models.ForeignKey(
        "catalogue.Service", on_delete=models.CASCADE, related_name="email_subscriptions"
    )
    email = models.EmailField()
    confirm_token = models.CharField(max_length=40, unique=True, default=new_token)
    # The unsubscribe link carries it (List-Unsubscribe and the footer of every alert).
    token = models.CharField(max_length=40, unique=True, default=new_token)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    # The language the alerts are written in: the page's when subscribing.
    language = models.CharField(max_length=8, default="en")
    # The per-client limit, as for webhooks: a keyed HMAC, never the address.
    client_key = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "email"], name="outages_emailsubscription_key")
        ]

    def __str__(self) -> str:
        return f"email alerts for service {self.service_id}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None
