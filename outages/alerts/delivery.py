"""Sending the one outbox (outages.alerts.notifications writes it): every channel, email
and webhook, an incident's events and subscribers' confirmation links alike, through one
send loop, one claim and one sweep.

Delivery claims each row with a conditional UPDATE, so however often it runs (retries, the
sweep, a second worker) a row is sent once. No row lock or transaction is held while a
message is on the wire (an SMTP or HTTP call can take its whole timeout). A worker killed
between sending and marking the row sent leaves it `sending`; the sweep retries it after
CLAIM_TIMEOUT, so that one case can send twice: at-least-once, never silently lost.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils.formats import number_format

from outages import outbound
from outages.alerts.email_delivery import alert_send, confirmation_send
from outages.alerts.models import EmailSubscription, Notification, WebhookSubscription
from outages.models import REVIEWER_GROUP, Incident, IncidentEscalation, IncidentReopening
from reports.api_time import json_datetime

logger = logging.getLogger(__name__)

Channel = Notification.Channel
Event = Notification.Event
State = Notification.State

# A claim older than this is taken to belong to a dead worker.
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
# After this many failed attempts a row is left `failed` for a person to look at.
MAX_ATTEMPTS = 8


class DeliveryError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    sent: int = 0
    failed: int = 0  # gave up on these
    retry: int = 0  # failed this time, worth another attempt


def notifications_deliver(*, incident_id: int, now: dt.datetime) -> DeliveryResult:
    """Send this incident's undelivered notifications, each at most once, in the order its
    events happened."""
    return _rows_deliver(_undelivered().filter(incident_id=incident_id), now)


def confirmation_deliver(*, notification_id: int, now: dt.datetime) -> DeliveryResult:
    """Send one subscriber's confirmation link (outages.alerts.notifications.confirmation_queue
    queued it), at most once."""
    return _rows_deliver(_undelivered().filter(pk=notification_id, event=Event.CONFIRMATION), now)


def _undelivered() -> QuerySet[Notification]:
    return Notification.objects.filter(state__in=[State.PENDING, State.SENDING])


def _rows_deliver(rows: QuerySet[Notification], now: dt.datetime) -> DeliveryResult:
    """The one send loop: claim each row, send it, mark it sent, or note the error for a retry."""
    sent = failed = retry = 0
    for row in rows.order_by("created_at", "pk").select_related(
        "incident__service", "subscription", "email_subscription__service", "escalation", "reopening"
    ):
        if not _claim(row.pk, now):
            continue  # sent, or being sent, by someone else
        try:
            _send(row)
        except Exception as exc:  # any failure is the same to the outbox: note it, retry
            attempts = row.attempts + 1
            gave_up = attempts >= MAX_ATTEMPTS
            Notification.objects.filter(pk=row.pk).update(
                state=State.FAILED if gave_up else State.PENDING, last_error=str(exc)[:1000]
            )
            logger.warning(
                "notification %s (%s, %s) failed, attempt %d: %s",
                row.pk,
                row.channel,
                row.event,
                attempts,
                exc,
            )
            failed += gave_up
            retry += not gave_up
        else:
            Notification.objects.filter(pk=row.pk).update(state=State.SENT, sent_at=now, last_error="")
            sent += 1
    return DeliveryResult(sent=sent, failed=failed, retry=retry)


def _claim(pk: int, now: dt.datetime) -> bool:
    """UPDATE ... WHERE state = 'pending' (or a dead worker's claim): one caller wins."""
    return bool(
        Notification.objects.filter(pk=pk)
        .filter(Q(state=State.PENDING) | Q(state=State.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT))
        .update(state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )


def _stalled(now: dt.datetime) -> QuerySet[Notification]:
    """Rows no task is looking after: never picked up, or claimed by a worker that died."""
    return _undelivered().filter(
        Q(claimed_at__isnull=True, created_at__lt=now - dt.timedelta(minutes=2))
        | Q(claimed_at__lt=now - CLAIM_TIMEOUT)
    )


def notifications_stalled(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Incidents with notifications that no task is looking after."""
    return list(
        _stalled(now)
        .filter(incident__isnull=False)
        .order_by("created_at")
        .values_list("incident_id", flat=True)
        .distinct()[:limit]
    )


def confirmations_stalled(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Confirmation rows that no task is looking after."""
    return list(
        _stalled(now)
        .filter(event=Event.CONFIRMATION)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- channels -------------------------------------------------------------------------------


def _send(row: Notification) -> None:
    """Send one row. A subscriber who has unsubscribed since it was queued (or, for a
    webhook, been taken over and not confirmed again) gets nothing: the row is done; so does
    one whose confirmation link is no longer needed."""
    if row.event == Event.CONFIRMATION:
        subscription = row.email_subscription
        if subscription is not None and subscription.is_active and not subscription.is_confirmed:
            confirmation_send(subscription)
        return
    incident = row.incident
    assert incident is not None  # only a confirmation has none (the check constraint)
    if row.channel == Channel.EMAIL:
        recipients = reviewer_emails()
        if recipients:
            send_mail(
                _subject(incident),
                _email_body(incident),
                settings.DEFAULT_FROM_EMAIL,
                recipients,
                fail_silently=False,
            )
    elif row.channel == Channel.WEBHOOK:
        if settings.REVIEW_WEBHOOK_URL:
            post_json(settings.REVIEW_WEBHOOK_URL, _review_payload(incident), check_address=False)
    elif row.channel == Channel.SUBSCRIBER:
        hook = row.subscription
        if hook is not None and _still_subscribed(hook):
            post_json(
                hook.url,
                subscriber_payload(
                    incident, hook, event=row.event, escalation=row.escalation, reopening=row.reopening
                ),
                check_address=True,
            )
    else:
        email = row.email_subscription
        if email is not None and _still_subscribed(email):
            alert_send(
                incident=incident,
                subscription=email,
                event=row.event,
                escalation=row.escalation,
                reopening=row.reopening,
            )


def _still_subscribed(subscription: WebhookSubscription | EmailSubscription) -> bool:
    return subscription.is_active and subscription.is_confirmed


def reviewer_emails() -> list[str]:
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(groups__name=REVIEWER_GROUP)
            | Q(
                user_permissions__codename="review_incidents",
                user_permissions__content_type__app_label="outages",
            )
        )
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    return sorted({*users, *settings.REVIEW_NOTIFY_EMAILS})


def _review_url(incident: Incident) -> str:
    return settings.SITE_URL + reverse("review:incident", kwargs={"pk": incident.pk})


def _public_url(incident: Incident) -> str:
    return settings.SITE_URL + reverse("outages:service", kwargs={"slug": incident.service.slug})


def _subject(incident: Incident) -> str:
    return f"[Downradar] Possible outage: {incident.service.name} since {incident.started_at:%H:%M} UTC"


def _email_body(incident: Incident) -> str:
    problems = ", ".join(f"{row['code']} ({row['count']})" for row in incident.problems[:3]) or "none yet"
    return (
        f"Detection flagged a possible outage of {incident.service.name}.\n\n"
        f"Started: {incident.started_at:%Y-%m-%d %H:%M} UTC\n"
        f"Peak: {number_format(incident.peak_count, force_grouping=True)} reports in 15 minutes\n"
        f"Top problems: {problems}\n\n"
        f"Review it: {_review_url(incident)}\n"
    )


def _facts(incident: Incident) -> dict[str, object]:
    return {
        "id": incident.pk,
        "service": incident.service.slug,
        "service_name": incident.service.name,
        "status": incident.status,
        "started_at": json_datetime(incident.started_at),
        "peak_count": incident.peak_count,
    }


def _review_payload(incident: Incident) -> dict[str, object]:
    return {
        "text": f"{_subject(incident)} — <{_review_url(incident)}|review>",
        "incident": {**_facts(incident), "review_url": _review_url(incident)},
    }


def _subscriber_text(
    incident: Incident,
    event: str,
    escalation: IncidentEscalation | None,
    reopening: IncidentReopening | None,
) -> str:
    name = incident.service.name
    if event == Event.OPENED:
        return f"Possible outage: {name} since {incident.started_at:%H:%M} UTC"
    if event == Event.CONFIRMED:
        return f"Outage confirmed: {name} since {incident.started_at:%H:%M} UTC"
    if event == Event.ESCALATED and escalation is not None:
        return f"Reports rising sharply again: {name} at {escalation.at:%H:%M} UTC"
    if event == Event.REOPENED and reopening is not None:
        return f"Problems again: {name} since {reopening.at:%H:%M} UTC (resolved at {reopening.resolved_at:%H:%M})"
    return f"Resolved: {name} at {incident.resolved_at or incident.last_elevated_at:%H:%M} UTC"


def subscriber_payload(
    incident: Incident,
    subscription: WebhookSubscription,
    *,
    event: str,
    escalation: IncidentEscalation | None = None,
    reopening: IncidentReopening | None = None,
) -> dict[str, object]:
    """A subscriber's webhook: `event` is incident.opened, incident.confirmed,
    incident.escalated, incident.reopened or incident.resolved; a resolved incident also says
    when (`incident.resolved_at`), an escalation when and how big (`incident.escalation`: `at`,
    its `count` of reports in 15 minutes and the `previous_peak` it more than doubled), a
    re-opening when and which resolution it undid (`incident.reopening`: `at`, `resolved_at`)."""
    unsubscribe = settings.SITE_URL + reverse(
        "subscriptions:unsubscribe", kwargs={"token": subscription.token}
    )
    facts = {**_facts(incident), "url": _public_url(incident)}
    if event == Event.RESOLVED:
        facts["resolved_at"] = json_datetime(incident.resolved_at or incident.last_elevated_at)
    if event == Event.ESCALATED and escalation is not None:
        facts["escalation"] = {
            "at": json_datetime(escalation.at),
            "count": escalation.count,
            "previous_peak": escalation.previous_peak,
        }
    if event == Event.REOPENED and reopening is not None:
        facts["reopening"] = {
            "at": json_datetime(reopening.at),
            "resolved_at": json_datetime(reopening.resolved_at),
        }
    text = _subscriber_text(incident, event, escalation, reopening)
    return {
        "text": f"{text} — <{_public_url(incident)}|details>",
        "event": f"incident.{event}",
        "incident": facts,
        "unsubscribe_url": unsubscribe,
    }


# --- the subscription handshake --------------------------------------------------------------


def subscription_verify(*, subscription_id: int, token: str, now: dt.datetime) -> bool:
    """The handshake of outages.alerts.subscriptions: send the challenge; confirm the subscription if the endpoint echoes it. The token
    pins the subscription as it was when queued: a handshake for a taken-over one is void."""
    subscription = (
        WebhookSubscription.objects.select_related("service")
        .filter(pk=subscription_id, token=token, is_active=True, confirmed_at__isnull=True)
        .first()
    )
    if subscription is None:
        return False
    challenge = secrets.token_urlsafe(32)
    payload = {"type": "url_verification", "challenge": challenge, "service": subscription.service.slug}
    try:
        answer = post_json(subscription.url, payload, check_address=True)
    except DeliveryError as exc:
        logger.info("subscription %s not confirmed: %s", subscription_id, exc)
        return False
    if not _echoes(answer, challenge):
        logger.info("subscription %s not confirmed: the answer did not echo the challenge", subscription_id)
        return False
    return bool(
        WebhookSubscription.objects.filter(pk=subscription_id, token=token, confirmed_at__isnull=True).update(
            confirmed_at=now
        )
    )


def _echoes(answer: bytes, challenge: str) -> bool:
    text = answer.decode("utf-8", "replace").strip()
    if text == challenge:
        return True
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("challenge") == challenge


# --- the webhook transport: outages.outbound, with the webhooks' own rules ----------------


def post_json(url: str, payload: Mapping[str, object], *, check_address: bool) -> bytes:
    """POST the payload; the first KiB of a 2xx answer. Subscribers' URLs (check_address)
    must resolve to public addresses only: anyone can subscribe, and we must not be made to
    call our own network."""
    any_address = not check_address or settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES
    try:
        target = outbound.url_check(url, allowed=None if any_address else outbound.address_allowed)
        answer = outbound.call(
            target,
            method="POST",
            body=json.dumps(payload).encode(),
            headers=_HEADERS,
            deadline=float(settings.WEBHOOK_DEADLINE_SECONDS),
            limit=1024,
        )
    except outbound.OutboundError as exc:
        raise DeliveryError(f"webhook {exc}") from None
    # Redirects are not followed: one could point a subscriber's webhook at an address we
    # refuse to call.
    if not 200 <= answer.status < 300:
        raise DeliveryError(f"HTTP {answer.status} from the webhook")
    return answer.body


_HEADERS = {"Content-Type": "application/json", "User-Agent": "Downradar-Webhook/1"}
