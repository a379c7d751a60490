"""Writing and sending subscribers' email: the confirmation link and an incident's alerts,
both sent by the outbox's delivery (outages.alerts.delivery), never inside a request.
Every SMTP call times out after EMAIL_TIMEOUT seconds (Django's SMTP backend)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from outages.alerts.models import EmailSubscription, Notification
from outages.display_time import time_text, zone_named
from outages.models import Incident, IncidentEscalation, IncidentReopening

Event = Notification.Event
CITIES_NAMED = 5


def site_url(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"token": token})


def confirmation_send(subscription: EmailSubscription) -> None:
    """Mail the confirmation link, in the language of the page subscribed from."""
    with translation.override(subscription.language):
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


def alert_send(
    *,
    incident: Incident,
    subscription: EmailSubscription,
    event: str,
    escalation: IncidentEscalation | None = None,
    reopening: IncidentReopening | None = None,
) -> None:
    """Mail one event of an incident to a subscriber, in the subscriber's language (an
    `escalated` event with its escalation, a `reopened` one with its re-opening). Called by
    the outbox's delivery (outages.alerts.delivery), which claims the row first."""
    with translation.override(subscription.language):
        _alert_message(incident, subscription, event, escalation, reopening).send()


def _alert_message(
    incident: Incident,
    subscription: EmailSubscription,
    event: str,
    escalation: IncidentEscalation | None,
    reopening: IncidentReopening | None,
) -> EmailMessage:
    service = subscription.service
    zone = zone_named(service.timezone)
    cities = [city.city.local_name() for city in incident.affected_cities()[:CITIES_NAMED]]
    unsubscribe = site_url("subscriptions:email-unsubscribe", subscription.token)
    since = time_text(incident.started_at, zone)
    if event == Event.OPENED:
        subject = _("%(name)s: problems since %(time)s") % {"name": service.name, "time": since}
    elif event == Event.CONFIRMED:
        subject = _("%(name)s: outage confirmed") % {"name": service.name}
    elif event == Event.ESCALATED and escalation is not None:
        subject = _("%(name)s: reports rising sharply again at %(time)s") % {
            "name": service.name,
            "time": time_text(escalation.at, zone),
        }
    elif event == Event.REOPENED and reopening is not None:
        subject = _("%(name)s: problems again since %(time)s") % {
            "name": service.name,
            "time": time_text(reopening.at, zone),
        }
    else:
        subject = _("%(name)s: resolved at %(time)s") % {
            "name": service.name,
            "time": time_text(incident.resolved_at or incident.last_elevated_at, zone),
        }
    lines = [subject, ""]
    if event == Event.ESCALATED and escalation is not None:
        lines.append(
            _("%(count)s reports in 15 minutes, up from an earlier peak of %(peak)s.")
            % {
                "count": number_format(escalation.count, force_grouping=True),
                "peak": number_format(escalation.previous_peak, force_grouping=True),
            }
        )
    if event == Event.REOPENED and reopening is not None:
        lines.append(
            _("It had resolved at %(time)s; reports have risen again since.")
            % {"time": time_text(reopening.resolved_at, zone)}
        )
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
