"""Sending email alerts and confirmation links (outages.alerts.email queues them)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from outages.alerts.models import EmailAlert, EmailSubscription
from outages.display_time import time_text, zone_named

Event = EmailAlert.Event
CITIES_NAMED = 5


def site_url(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"token": token})


def confirmation_send(subscription_id: int, language: str) -> None:
    subscription = EmailSubscription.objects.select_related("service").get(pk=subscription_id)
    with translation.override(language):
        message = EmailMessage(
            subject=_("Confirm alerts for %(name)s") % {"name": subscription.service.name},
            body=_(
                "Someone (we hope you) asked for an email when %(name)s has problems.\n\n"
                "To confirm, open this link and press the button:\n%(link)s\n\n"
                "If it was not you, ignore this message: you will get nothing else."
            )
            % {
                "name": subscription.service.name,
                "link": site_url("subscriptions:email-confirm", subscription.confirm_token),
            },
            to=[subscription.email],
        )
        message.send()


def email_alerts_send(*, limit: int = 200) -> int:
    """Send the unsent alerts, oldest first; each row is claimed before it is sent, so two
    workers never mail one twice."""
    sent = 0
    for alert_id in (
        EmailAlert.objects.filter(sent_at__isnull=True)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    ):
        with transaction.atomic():
            alert = (
                EmailAlert.objects.select_for_update(skip_locked=True)
                .select_related("subscription__service", "incident")
                .filter(pk=alert_id, sent_at__isnull=True)
                .first()
            )
            if alert is None or not alert.subscription.is_active:
                continue
            try:
                with translation.override(alert.subscription.language):
                    _alert_message(alert).send()
            except OSError as error:
                alert.last_error = str(error)[:500]
                alert.save(update_fields=["last_error"])
                continue
            alert.sent_at = timezone.now()
            alert.save(update_fields=["sent_at"])
            sent += 1
    return sent


def _alert_message(alert: EmailAlert) -> EmailMessage:
    incident, subscription = alert.incident, alert.subscription
    service = subscription.service
    zone = zone_named(service.timezone)
    cities = [
        city.city.local_name() for city in incident.cities.listed().select_related("city")[:CITIES_NAMED]
    ]
    unsubscribe = site_url("subscriptions:email-unsubscribe", subscription.token)
    since = time_text(incident.started_at, zone)
    if alert.event == Event.OPENED:
        subject = _("%(name)s: problems since %(time)s") % {"name": service.name, "time": since}
    elif alert.event == Event.CONFIRMED:
        subject = _("%(name)s: outage confirmed") % {"name": service.name}
    else:
        subject = _("%(name)s: resolved at %(time)s") % {
            "name": service.name,
            "time": time_text(incident.resolved_at or incident.last_elevated_at, zone),
        }
    lines = [subject, ""]
    if cities:
        lines.append(_("Most affected cities: %(cities)s.") % {"cities": ", ".join(cities)})
    lines += [
        _("Details: %(link)s")
        % {"link": settings.SITE_URL + reverse("outages:incident", kwargs={"pk": incident.pk})},
        "",
        _("Stop these alerts: %(link)s") % {"link": unsubscribe},
    ]
    return EmailMessage(
        subject=subject,
        body="\n".join(lines),
        to=[subscription.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
