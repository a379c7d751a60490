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

import contextlib
import datetime as dt
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import F, Q, QuerySet
from django.urls import reverse

from outages.alerts.email_delivery import alert_send, confirmation_send
from outages.alerts.models import EmailSubscription, Notification, WebhookSubscription
from outages.alerts.special_addresses import publicly_routed
from outages.models import REVIEWER_GROUP, Incident, IncidentEscalation
from reports.api_time import json_datetime

logger = logging.getLogger(__name__)

Channel = Notification.Channel
Event = Notification.Event
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
        "incident__service", "subscription", "email_subscription__service", "escalation"
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
                subscriber_payload(incident, hook, event=row.event, escalation=row.escalation),
                check_address=True,
            )
    else:
        email = row.email_subscription
        if email is not None and _still_subscribed(email):
            alert_send(incident=incident, subscription=email, event=row.event, escalation=row.escalation)


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


def _subscriber_text(incident: Incident, event: str, escalation: IncidentEscalation | None) -> str:
    name = incident.service.name
    if event == Event.OPENED:
        return f"Possible outage: {name} since {incident.started_at:%H:%M} UTC"
    if event == Event.CONFIRMED:
        return f"Outage confirmed: {name} since {incident.started_at:%H:%M} UTC"
    if event == Event.ESCALATED and escalation is not None:
        return f"Reports rising sharply again: {name} at {escalation.at:%H:%M} UTC"
    return f"Resolved: {name} at {incident.resolved_at or incident.last_elevated_at:%H:%M} UTC"


def subscriber_payload(
    incident: Incident,
    subscription: WebhookSubscription,
    *,
    event: str,
    escalation: IncidentEscalation | None = None,
) -> dict[str, object]:
    """A subscriber's webhook: `event` is incident.opened, incident.confirmed,
    incident.escalated or incident.resolved; a resolved incident also says when
    (`incident.resolved_at`), an escalation when and how big (`incident.escalation`: `at`, its
    `count` of reports in 15 minutes and the `previous_peak` it more than doubled)."""
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
    return {
        "text": f"{_subscriber_text(incident, event, escalation)} — <{_public_url(incident)}|details>",
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


# --- the webhook transport ------------------------------------------------------------------
#
# The host is resolved once (`resolver`), every address it resolves to is checked, and the
# connection goes to the checked address: a second lookup at connect time could answer
# differently (DNS rebinding). The stdlib's http.client does the HTTP; only its connect()
# is ours (TCP to the checked address, TLS with SNI and certificate check for the name), so
# the Host header, SNI and certificate all name the host of the URL. urllib3 would need the
# same override plus private hooks to reach the raw socket that the deadline cuts.

Resolver = Callable[[str, int], list[str]]


def _getaddrinfo(host: str, port: int) -> list[str]:
    # str(): an AF_INET or AF_INET6 socket address starts with the address as text.
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


# The one lookup of a webhook's host (tests point it at a resolver of their own).
resolver: Resolver = _getaddrinfo
# TLS: the system's CAs, the chain and the host name checked (tests trust their own CA).
tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """A webhook URL with the address it was checked at: the one to connect to."""

    host: str
    port: int
    address: str
    tls: bool
    path: str


def webhook_address_allowed(address: str) -> bool:
    """May a subscriber's webhook be called at this address? Ordinary public unicast only:
    no IANA special-purpose block of either family (outages.alerts.special_addresses), and
    an IPv6 spelling of an IPv4 address (IPv4-mapped, NAT64) is judged by that address:
    64:ff9b::7f00:1 reaches 127.0.0.1 through a gateway."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return publicly_routed(ip)


def webhook_url_check(url: str, *, check_address: bool = True) -> WebhookTarget:
    """Resolve the URL's host once and pick the address to call. Subscribers' URLs
    (check_address) must resolve to public addresses only: anyone can subscribe, and we
    must not be made to call our own network."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise DeliveryError("webhook URLs must be http or https")
    tls = parts.scheme == "https"
    try:
        port = parts.port or (443 if tls else 80)
    except ValueError:
        raise DeliveryError("the webhook URL has a bad port") from None
    try:
        addresses = resolver(parts.hostname, port)
    except OSError as exc:
        raise DeliveryError(f"cannot resolve {parts.hostname}: {exc}") from None
    if not addresses:
        raise DeliveryError(f"cannot resolve {parts.hostname}")
    any_address = not check_address or settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES
    if not any_address and not all(webhook_address_allowed(address) for address in addresses):
        raise DeliveryError(f"{parts.hostname} resolves to a non-public address")
    path = parts.path or "/"
    return WebhookTarget(
        host=parts.hostname,
        port=port,
        address=addresses[0],
        tls=tls,
        path=f"{path}?{parts.query}" if parts.query else path,
    )


class _PinnedConnection(http.client.HTTPConnection):
    """http.client, connecting to the checked address instead of looking the host up."""

    def __init__(self, target: WebhookTarget, *, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target
        self.raw: socket.socket | None = None

    def connect(self) -> None:
        self.raw = socket.create_connection((self.target.address, self.target.port), self.timeout)
        if self.target.tls:
            self.sock = tls_context().wrap_socket(self.raw, server_hostname=self.target.host)
        else:
            self.sock = self.raw

    def cut(self) -> None:
        # From the deadline's timer thread: shutting the raw socket down wakes any blocked
        # read or write, whatever http.client or TLS is in the middle of.
        if self.raw is not None:
            with contextlib.suppress(OSError):
                self.raw.shutdown(socket.SHUT_RDWR)


def webhook_call(target: WebhookTarget, body: bytes, *, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST body to the target; (status, first KiB of the answer). Never longer than
    WEBHOOK_DEADLINE_SECONDS in all: socket timeouts are per operation, so an endpoint that
    trickles a byte every few seconds would hold a worker for as long as it liked."""
    deadline = float(settings.WEBHOOK_DEADLINE_SECONDS)
    started = time.monotonic()
    connection = _PinnedConnection(target, timeout=min(HTTP_TIMEOUT_SECONDS, deadline))
    timer = threading.Timer(deadline, connection.cut)
    timer.daemon = True
    timer.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read(1024)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        if time.monotonic() - started >= deadline:
            raise DeliveryError(f"webhook too slow: no complete answer in {deadline:g} s") from None
        raise DeliveryError(f"webhook unreachable: {exc}") from None
    finally:
        timer.cancel()
        connection.close()
    if time.monotonic() - started >= deadline:
        raise DeliveryError(f"webhook too slow: no complete answer in {deadline:g} s")
    return status, answer


_HEADERS = {"Content-Type": "application/json", "User-Agent": "Downradar-Webhook/1"}


def post_json(url: str, payload: Mapping[str, object], *, check_address: bool) -> bytes:
    target = webhook_url_check(url, check_address=check_address)
    status, answer = webhook_call(target, json.dumps(payload).encode(), headers=_HEADERS)
    # Redirects are not followed: one could point a subscriber's webhook at an address we
    # refuse to call.
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status} from the webhook")
    return answer
