"""Sending the outbox (outages.alerts.notifications writes it).

Delivery claims each row with a conditional UPDATE, so however often it runs (retries, the
sweep, a second worker) a row is sent once. A worker killed between sending and marking
the row sent leaves it `sending`; the sweep retries it after CLAIM_TIMEOUT, so that one
case can send twice: at-least-once, never silently lost.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import F, Q
from django.urls import reverse

from outages.alerts.models import Notification, WebhookSubscription
from outages.models import Incident
from outages.review.models import REVIEWER_GROUP
from reports.api_time import json_datetime

logger = logging.getLogger(__name__)

Channel = Notification.Channel
State = Notification.State

# A claim older than this is taken to belong to a dead worker.
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
# After this many failed attempts a row is left `failed` for a person to look at.
MAX_ATTEMPTS = 8
HTTP_TIMEOUT_SECONDS = 5


class DeliveryError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    sent: int = 0
    failed: int = 0  # gave up on these
    retry: int = 0  # failed this time, worth another attempt


def notifications_deliver(*, incident_id: int, now: dt.datetime) -> DeliveryResult:
    """Send this incident's undelivered notifications, each at most once."""
    sent = failed = retry = 0
    rows = Notification.objects.filter(incident_id=incident_id, state__in=[State.PENDING, State.SENDING])
    for row in rows.select_related("incident__service", "subscription"):
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
            logger.warning("notification %s (%s) failed, attempt %d: %s", row.pk, row.channel, attempts, exc)
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


def notifications_stalled(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Incidents with notifications that no task is looking after: never picked up, or
    claimed by a worker that died."""
    return list(
        Notification.objects.filter(state__in=[State.PENDING, State.SENDING])
        .filter(
            Q(claimed_at__isnull=True, created_at__lt=now - dt.timedelta(minutes=2))
            | Q(claimed_at__lt=now - CLAIM_TIMEOUT)
        )
        .order_by("created_at")
        .values_list("incident_id", flat=True)
        .distinct()[:limit]
    )


# --- channels -------------------------------------------------------------------------------


def _send(row: Notification) -> None:
    incident = row.incident
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
            _post_json(settings.REVIEW_WEBHOOK_URL, _review_payload(incident), check_address=False)
    else:
        subscription = row.subscription
        if subscription is not None and subscription.is_active:
            _post_json(subscription.url, _subscriber_payload(incident, subscription), check_address=True)


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
        f"Peak: {incident.peak_count} reports in 15 minutes\n"
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


def _subscriber_payload(incident: Incident, subscription: WebhookSubscription) -> dict[str, object]:
    unsubscribe = settings.SITE_URL + reverse(
        "subscriptions:unsubscribe", kwargs={"token": subscription.token}
    )
    return {
        "text": f"Possible outage: {incident.service.name} since {incident.started_at:%H:%M} UTC — "
        f"<{_public_url(incident)}|details>",
        "event": "incident.opened",
        "incident": {**_facts(incident), "url": _public_url(incident)},
        "unsubscribe_url": unsubscribe,
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could point a subscriber's webhook at an address we refuse to call.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post_json(url: str, payload: dict[str, object], *, check_address: bool) -> None:
    if check_address:
        webhook_url_check(url)
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "Downradar-Webhook/1"},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from the webhook") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"webhook unreachable: {exc}") from None


def webhook_url_check(url: str) -> None:
    """Refuse URLs that are not http(s) or resolve to private, loopback or link-local
    addresses: anyone can subscribe, and we must not be made to call our own network."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise DeliveryError("webhook URLs must be http or https")
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DeliveryError(f"cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_global:
            raise DeliveryError(f"{parts.hostname} resolves to a non-public address")
