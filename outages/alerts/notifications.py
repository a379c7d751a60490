"""The one outbox, for email and webhooks: who is told of an incident's event, queued once.

Who hears which event:
- opened: the reviewers (by email and, if REVIEW_WEBHOOK_URL is set, a Slack-compatible
  webhook), a call to review it;
- opened, confirmed, escalated, reopened and resolved: every active, confirmed subscriber of
  the service, by webhook or by email, for public incidents only (Incident.objects.public()).
  An incident escalates at most once an hour (outages.escalations); each escalation is an
  event of its own (`escalations_queue`). An incident that resolved can re-open
  (outages.models.IncidentReopening): each re-opening is an event of its own
  (`reopenings_queue`), and the incident's next confirmation and resolution are told again,
  each naming the latest re-opening (one message per re-opening, event and recipient).

Email subscribers are also sent their confirmation link through it (`confirmation_queue`):
one `confirmation` row per mail, at most EMAIL_CONFIRMATIONS_PER_DAY a day to one inbox and
none within EMAIL_CONFIRMATION_COOLDOWN_SECONDS of the last, whoever asks.

Callers hand over the ids in the transaction that made the event: the detection task
(outages.tasks.detection_pass_notify: opened, escalated, reopened and resolved) and the
reviewers' actions (outages.review.services: confirmed, reopened, resolved). One outbox row
per incident, event and recipient is inserted there (unique constraints make a second insert
a no-op), and delivery is queued once the transaction commits. Sending is
outages.alerts.delivery.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Manager, QuerySet
from django.utils import timezone

from outages.alerts import tasks
from outages.alerts.models import EmailSubscription, Notification, WebhookSubscription
from outages.models import Incident, IncidentEscalation, IncidentReopening
from reports.hashing import recipient_key

logger = logging.getLogger(__name__)

Channel = Notification.Channel
Event = Notification.Event

# The reviewers are called to review a new incident; they make the other events themselves.
REVIEWER_EVENTS = frozenset({Event.OPENED})
# The events of an incident as a whole, once each (once again after each re-opening);
# escalations and re-openings are queued by escalations_queue and reopenings_queue.
INCIDENT_EVENTS = (Event.OPENED, Event.CONFIRMED, Event.RESOLVED)


def notifications_queue(*, incident_ids: Iterable[int], event: str) -> int:
    """Queue the event's notifications of these incidents; rows that exist already are left
    alone. Call inside the transaction that made the change: nothing is sent if it rolls
    back, and delivery starts once it commits."""
    if event not in INCIDENT_EVENTS:
        raise ValueError(f"{event!r} is not an event of an incident as a whole (see escalations_queue)")
    ids = sorted(set(incident_ids))
    if not ids:
        return 0
    now = timezone.now()
    public = dict(Incident.objects.public().filter(pk__in=ids).values_list("pk", "service_id"))
    latest = _latest_reopenings(ids) if event != Event.OPENED else {}
    return _rows_queue(
        [
            Notification(
                incident_id=incident_id,
                event=event,
                reopening_id=latest.get(incident_id),
                created_at=now,
                **recipient,
            )
            for incident_id, recipient in [*_reviewers(ids, event), *_subscribers(public)]
        ]
    )


def _latest_reopenings(incident_ids: list[int]) -> dict[int, int]:
    """Each incident's latest re-opening, for those that have one."""
    latest: dict[int, int] = {}
    for pk, incident_id in (
        IncidentReopening.objects.filter(incident_id__in=incident_ids)
        .order_by("incident_id", "at", "pk")
        .values_list("pk", "incident_id")
    ):
        latest[incident_id] = pk
    return latest


def escalations_queue(*, escalation_ids: Iterable[int]) -> int:
    """Queue the `escalated` notifications of these escalations, one per escalation and
    subscriber, under the same rules and in the same outbox as notifications_queue."""
    return _updates_queue(
        IncidentEscalation.objects, escalation_ids, event=Event.ESCALATED, names="escalation_id"
    )


def reopenings_queue(*, reopening_ids: Iterable[int]) -> int:
    """Queue the `reopened` notifications of these re-openings, one per re-opening and
    subscriber, under the same rules and in the same outbox as notifications_queue."""
    return _updates_queue(
        IncidentReopening.objects, reopening_ids, event=Event.REOPENED, names="reopening_id"
    )


def _updates_queue(updates: Manager, ids: Iterable[int], *, event: str, names: str) -> int:
    """One row per update (an escalation or a re-opening, whose id the row's field `names`
    holds) and subscriber of its incident, public incidents only."""
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    now = timezone.now()
    found = updates.filter(pk__in=wanted, incident__in=Incident.objects.public()).values_list(
        "pk", "incident_id", "incident__service_id"
    )
    rows = []
    for update_id, incident_id, service_id in found:
        rows += [
            Notification(
                incident_id=incident_id, event=event, created_at=now, **{names: update_id}, **recipient
            )
            for _, recipient in _subscribers({incident_id: service_id})
        ]
    return _rows_queue(rows)


def _rows_queue(rows: list[Notification]) -> int:
    # ON CONFLICT DO NOTHING on the partial unique constraints: one row per recipient.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    queued = sorted({row.incident_id for row in rows if row.incident_id is not None})
    if queued:
        transaction.on_commit(lambda: _queue_delivery(queued))
    return len(rows)


Recipient = tuple[int, dict[str, object]]  # an incident id, and the row's recipient fields


def _reviewers(incident_ids: list[int], event: str) -> list[Recipient]:
    if event not in REVIEWER_EVENTS:
        return []
    channels = [Channel.EMAIL, *([Channel.WEBHOOK] if settings.REVIEW_WEBHOOK_URL else [])]
    existing = Incident.objects.filter(pk__in=incident_ids).values_list("pk", flat=True)
    return [(pk, {"channel": channel}) for pk in existing for channel in channels]


def _subscribers(services: dict[int, int]) -> list[Recipient]:
    """Each subscriber of each incident's service, webhook and email alike."""
    webhooks = _by_service(WebhookSubscription.objects.filter(service_id__in=set(services.values())))
    emails = _by_service(EmailSubscription.objects.filter(service_id__in=set(services.values())))
    recipients: list[Recipient] = []
    for incident_id, service_id in services.items():
        recipients += [
            (incident_id, {"channel": Channel.SUBSCRIBER, "subscription_id": pk})
            for pk in webhooks.get(service_id, ())
        ]
        recipients += [
            (incident_id, {"channel": Channel.SUBSCRIBER_EMAIL, "email_subscription_id": pk})
            for pk in emails.get(service_id, ())
        ]
    return recipients


def _by_service(subscriptions: QuerySet) -> dict[int, list[int]]:
    """The active, confirmed subscriptions' ids by service: an unconfirmed one hears nothing."""
    found: dict[int, list[int]] = {}
    for pk, service_id in subscriptions.filter(is_active=True, confirmed_at__isnull=False).values_list(
        "pk", "service_id"
    ):
        found.setdefault(service_id, []).append(pk)
    return found


def _queue_delivery(incident_ids: list[int]) -> None:
    for incident_id in incident_ids:
        try:
            tasks.deliver_notifications.delay(incident_id)
        except Exception:  # the broker is down: the sweep delivers later
            logger.exception("could not queue notifications of incident %s", incident_id)


def confirmation_queue(*, subscription: EmailSubscription, now: dt.datetime) -> bool:
    """Queue the subscription's confirmation mail, unless its inbox had one in the last
    EMAIL_CONFIRMATION_COOLDOWN_SECONDS or EMAIL_CONFIRMATIONS_PER_DAY in the last 24 hours,
    over every service and client. Call inside the subscribing transaction; delivery starts
    once it commits. Whether a mail was queued is for the caller to keep to itself: the
    answer to a subscribe must not tell."""
    key = recipient_key(subscription.email)
    with connection.cursor() as cursor:
        # Subscribes for one inbox take turns until they commit, so concurrent requests
        # (to other services, from other clients) cannot both pass the count below.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"confirmations:{key}"])
    recent = Notification.objects.filter(
        event=Event.CONFIRMATION, recipient_key=key, created_at__gt=now - dt.timedelta(days=1)
    )
    cooldown = dt.timedelta(seconds=settings.EMAIL_CONFIRMATION_COOLDOWN_SECONDS)
    last = recent.order_by("-created_at").values_list("created_at", flat=True).first()
    # `now` is the request's, taken before the lock: a concurrent subscribe that took the lock
    # first may have stored a later moment. Without a cooldown that is no reason to refuse.
    if cooldown and last is not None and last > now - cooldown:
        return False
    if recent.count() >= settings.EMAIL_CONFIRMATIONS_PER_DAY:
        return False
    row = Notification.objects.create(
        event=Event.CONFIRMATION,
        channel=Channel.SUBSCRIBER_EMAIL,
        email_subscription=subscription,
        recipient_key=key,
        created_at=now,
    )
    transaction.on_commit(lambda: _queue_confirmation(row.pk))
    return True


def _queue_confirmation(notification_id: int) -> None:
    try:
        tasks.deliver_confirmation.delay(notification_id)
    except Exception:  # the broker is down: the sweep delivers later
        logger.exception("could not queue confirmation %s", notification_id)
