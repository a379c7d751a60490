"""One outbox for email and webhooks: every subscriber, by email or by webhook, hears that an
incident opened, that a reviewer confirmed it and that it resolved, once each (once again
after each re-opening), each escalation and each re-opening; the reviewers
are called when it opens. A real SMTP server (aiosmtpd), a real webhook receiver, and the
Celery tasks run as a worker runs them."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from django.utils import timezone

from outages.alerts.delivery import notifications_deliver
from outages.alerts.models import EmailSubscription, Notification, WebhookSubscription
from outages.alerts.notifications import (
    INCIDENT_EVENTS,
    escalations_queue,
    notifications_queue,
    reopenings_queue,
)
from outages.alerts.tasks import deliver_notifications, notifications_sweep
from outages.detection_pass import PassResult
from outages.models import Incident, IncidentEscalation, IncidentReopening
from outages.review.services import incident_act
from outages.tasks import detection_pass_notify
from tests.detection_helpers import T0
from tests.outbox_helpers import eager_celery, webhook_receiver
from tests.review_helpers import incident, reviewer_user
from tests.smtp import Blackhole, smtp_inbox, use_smtp_server

pytestmark = pytest.mark.django_db

SITE_URL = "https://downradar.example"
Event = Notification.Event


@pytest.fixture
def hook_server():
    with webhook_receiver() as server:
        yield server


@pytest.fixture
def inbox(settings):
    with smtp_inbox(settings, site_url=SITE_URL) as handler:
        yield handler


@pytest.fixture
def subscribers(chatgpt, hook_server, settings):
    """A confirmed webhook and a confirmed email subscriber of ChatGPT."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.REVIEW_NOTIFY_EMAILS = []
    settings.REVIEW_WEBHOOK_URL = ""
    hook = WebhookSubscription.objects.create(
        service=chatgpt, url=hook_server.url + "/mine", created_at=T0, confirmed_at=T0
    )
    email = EmailSubscription.objects.create(
        service=chatgpt, email="ada@example.org", created_at=T0, confirmed_at=T0
    )
    return hook, email


def _events(hook_server) -> list[str]:
    return [body["event"] for _, _, body in hook_server.received]


def _mail_to(inbox, address: str) -> list[str]:
    return [message["Subject"] for message in inbox.messages if message["To"] == address]


def test_email_and_webhook_subscribers_hear_opened_confirmed_and_resolved_once_each(
    chatgpt, subscribers, hook_server, inbox, django_capture_on_commit_callbacks
):
    reviewer = reviewer_user()
    ongoing = incident(chatgpt, resolved=False)

    with eager_celery():
        with django_capture_on_commit_callbacks(execute=True):
            detection_pass_notify(lambda: PassResult(opened_ids=[ongoing.pk]))
        with django_capture_on_commit_callbacks(execute=True):
            incident_act(incident_id=ongoing.pk, action="confirm", actor=reviewer, now=timezone.now())
        Incident.objects.filter(pk=ongoing.pk).update(resolved_at=T0 + dt.timedelta(minutes=40))
        with django_capture_on_commit_callbacks(execute=True):
            detection_pass_notify(lambda: PassResult(resolved_ids=[ongoing.pk]))
        # Everything again: a second pass, the task, the sweep.
        with django_capture_on_commit_callbacks(execute=True):
            for event in INCIDENT_EVENTS:
                notifications_queue(incident_ids=[ongoing.pk], event=event)
        deliver_notifications.apply(args=[ongoing.pk])
        notifications_sweep.apply()

    assert _events(hook_server) == ["incident.opened", "incident.confirmed", "incident.resolved"]
    assert _mail_to(inbox, "ada@example.org") == [
        "ChatGPT: problems since 13:00 CET",
        "ChatGPT: outage confirmed",
        "ChatGPT: resolved at 13:40 CET",
    ]
    # The reviewers are called to review it, and hear nothing of what they do themselves.
    assert _mail_to(inbox, "reviewer@example.org") == [
        f"[Downradar] Possible outage: ChatGPT since {T0:%H:%M} UTC"
    ]
    rows = Notification.objects.order_by("created_at", "pk")
    assert [(row.event, row.channel, row.state) for row in rows] == [
        ("opened", "email", "sent"),
        ("opened", "subscriber", "sent"),
        ("opened", "subscriber_email", "sent"),
        ("confirmed", "subscriber", "sent"),
        ("confirmed", "subscriber_email", "sent"),
        ("resolved", "subscriber", "sent"),
        ("resolved", "subscriber_email", "sent"),
    ]


def test_the_opened_webhook_keeps_its_fields_and_later_events_name_themselves(
    chatgpt, subscribers, hook_server, settings
):
    settings.SITE_URL = SITE_URL
    hook, _ = subscribers
    resolved = incident(chatgpt, resolved=True)
    for event in INCIDENT_EVENTS:
        notifications_queue(incident_ids=[resolved.pk], event=event)

    notifications_deliver(incident_id=resolved.pk, now=T0 + dt.timedelta(hours=1))

    opened, confirmed, over = (body for _, _, body in hook_server.received)
    facts = {"id", "service", "service_name", "status", "started_at", "peak_count", "url"}
    assert set(opened) == {"text", "event", "incident", "unsubscribe_url"}
    assert set(opened["incident"]) == facts
    assert opened["event"] == "incident.opened"
    assert opened["text"] == f"Possible outage: ChatGPT since 12:00 UTC — <{SITE_URL}/s/chatgpt/|details>"
    assert opened["unsubscribe_url"] == f"{SITE_URL}/unsubscribe/{hook.token}/"
    assert set(confirmed) == set(opened) and set(confirmed["incident"]) == facts
    assert confirmed["event"] == "incident.confirmed"
    assert confirmed["text"].startswith("Outage confirmed: ChatGPT since 12:00 UTC")
    assert set(over["incident"]) == facts | {"resolved_at"}
    assert over["event"] == "incident.resolved"
    assert over["incident"]["resolved_at"] == "2026-03-10T12:20:00Z"
    assert over["text"].startswith("Resolved: ChatGPT at 12:20 UTC")


def test_subscribers_hear_nothing_of_a_dismissed_incident_and_reviewers_only_of_new_ones(
    chatgpt, subscribers, settings
):
    settings.REVIEW_WEBHOOK_URL = "https://hooks.example.org/reviewers"
    dismissed = incident(chatgpt, status=Incident.Status.DISMISSED)
    ongoing = incident(chatgpt, started_at=T0 + dt.timedelta(hours=2), resolved=False)

    notifications_queue(incident_ids=[dismissed.pk], event=Event.RESOLVED)
    notifications_queue(incident_ids=[ongoing.pk], event=Event.CONFIRMED)

    assert not Notification.objects.filter(incident=dismissed).exists()
    assert set(Notification.objects.values_list("channel", flat=True)) == {"subscriber", "subscriber_email"}


def test_rows_whose_task_was_never_queued_are_delivered_by_the_sweep_email_and_webhook_alike(
    chatgpt, subscribers, hook_server, inbox
):
    ongoing = incident(chatgpt, resolved=False)
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False) as clock:
        # In the test's transaction: the after-commit queueing never runs, as when the broker is down.
        notifications_queue(incident_ids=[ongoing.pk], event=Event.OPENED)
        notifications_queue(incident_ids=[ongoing.pk], event=Event.CONFIRMED)
        clock.shift(dt.timedelta(minutes=3))
        with eager_celery():
            notifications_sweep.apply()

    assert _events(hook_server) == ["incident.opened", "incident.confirmed"]
    assert len(_mail_to(inbox, "ada@example.org")) == 2
    assert set(Notification.objects.values_list("state", flat=True)) == {"sent"}


def test_a_mail_server_that_stops_answering_is_given_up_at_the_email_timeout(chatgpt, settings):
    server = Blackhole()
    use_smtp_server(settings, server.port, site_url=SITE_URL)
    settings.EMAIL_TIMEOUT = 1
    settings.REVIEW_NOTIFY_EMAILS = ["oncall@example.org"]
    opened = incident(chatgpt, resolved=False)
    notifications_queue(incident_ids=[opened.pk], event=Event.OPENED)

    started = time.monotonic()
    try:
        result = notifications_deliver(incident_id=opened.pk, now=T0 + dt.timedelta(hours=1))
    finally:
        took = time.monotonic() - started
        server.close()

    assert took < 3
    assert result.retry == 1
    row = Notification.objects.get()
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error == "Connection unexpectedly closed: timed out"


def test_subscribers_hear_each_escalation_once_in_their_language(
    chatgpt, subscribers, hook_server, inbox, django_capture_on_commit_callbacks
):
    _, email = subscribers
    italian = EmailSubscription.objects.create(
        service=chatgpt, email="bea@example.org", created_at=T0, confirmed_at=T0, language="it"
    )
    ongoing = incident(chatgpt, resolved=False, minutes=120)
    first = IncidentEscalation.objects.create(
        incident=ongoing, at=T0 + dt.timedelta(minutes=52), count=620, baseline=60.0, previous_peak=300
    )
    second = IncidentEscalation.objects.create(
        incident=ongoing, at=T0 + dt.timedelta(minutes=115), count=1900, baseline=60.0, previous_peak=900
    )

    with eager_celery():
        with django_capture_on_commit_callbacks(execute=True):
            detection_pass_notify(lambda: PassResult(escalation_ids=[first.pk]))
        # The same escalation again (a second pass, a retry), then the next one, then the sweep.
        with django_capture_on_commit_callbacks(execute=True):
            escalations_queue(escalation_ids=[first.pk])
            detection_pass_notify(lambda: PassResult(escalation_ids=[first.pk, second.pk]))
        deliver_notifications.apply(args=[ongoing.pk])
        notifications_sweep.apply()

    assert _events(hook_server) == ["incident.escalated", "incident.escalated"]
    bodies = [body for _, _, body in hook_server.received]
    assert bodies[0]["text"].startswith("Reports rising sharply again: ChatGPT at 12:52 UTC")
    assert bodies[0]["incident"]["escalation"] == {
        "at": "2026-03-10T12:52:00Z",
        "count": 620,
        "previous_peak": 300,
    }
    assert bodies[1]["incident"]["escalation"]["at"] == "2026-03-10T13:55:00Z"
    assert _mail_to(inbox, email.email) == [
        "ChatGPT: reports rising sharply again at 13:52 CET",
        "ChatGPT: reports rising sharply again at 14:55 CET",
    ]
    assert _mail_to(inbox, italian.email) == [
        "ChatGPT: segnalazioni di nuovo in forte aumento alle 13:52 CET",
        "ChatGPT: segnalazioni di nuovo in forte aumento alle 14:55 CET",
    ]
    italian_body = (
        next(m for m in inbox.messages if m["To"] == italian.email).get_payload(decode=True).decode()
    )
    assert "620 segnalazioni in 15 minuti, contro un picco precedente di 300." in italian_body
    rows = Notification.objects.filter(event=Event.ESCALATED)
    assert rows.count() == 6 and set(rows.values_list("state", flat=True)) == {"sent"}
    # The reviewers are not called again: they review the incident, not each wave.
    assert not rows.filter(channel__in=["email", "webhook"]).exists()


def test_an_escalation_is_not_an_event_of_the_whole_incident(chatgpt):
    ongoing = incident(chatgpt, resolved=False)

    with pytest.raises(ValueError):
        notifications_queue(incident_ids=[ongoing.pk], event=Event.ESCALATED)


def test_subscribers_hear_that_a_resolved_incident_is_back_and_then_its_second_resolution(
    chatgpt, subscribers, hook_server, inbox, django_capture_on_commit_callbacks
):
    _, email = subscribers
    italian = EmailSubscription.objects.create(
        service=chatgpt, email="bea@example.org", created_at=T0, confirmed_at=T0, language="it"
    )
    first_end = T0 + dt.timedelta(minutes=40)
    again = T0 + dt.timedelta(minutes=70)
    resolved = incident(chatgpt, resolved=True, minutes=40)

    with eager_celery():
        with django_capture_on_commit_callbacks(execute=True):
            detection_pass_notify(lambda: PassResult(opened_ids=[resolved.pk]))
            detection_pass_notify(lambda: PassResult(resolved_ids=[resolved.pk]))
        # The detection pass re-opened it half an hour after it resolved.
        reopening = IncidentReopening.objects.create(incident=resolved, at=again, resolved_at=first_end)
        Incident.objects.filter(pk=resolved.pk).update(resolved_at=None)
        with django_capture_on_commit_callbacks(execute=True):
            detection_pass_notify(lambda: PassResult(reopening_ids=[reopening.pk]))
        Incident.objects.filter(pk=resolved.pk).update(resolved_at=T0 + dt.timedelta(minutes=120))
        with django_capture_on_commit_callbacks(execute=True):
            detection_pass_notify(lambda: PassResult(resolved_ids=[resolved.pk]))
        # Everything again: a second pass, a retry, the sweep.
        with django_capture_on_commit_callbacks(execute=True):
            reopenings_queue(reopening_ids=[reopening.pk])
            for event in (Event.OPENED, Event.RESOLVED):
                notifications_queue(incident_ids=[resolved.pk], event=event)
        deliver_notifications.apply(args=[resolved.pk])
        notifications_sweep.apply()

    assert _events(hook_server) == [
        "incident.opened",
        "incident.resolved",
        "incident.reopened",
        "incident.resolved",
    ]
    back = hook_server.received[2][2]
    assert back["incident"]["reopening"] == {
        "at": "2026-03-10T13:10:00Z",
        "resolved_at": "2026-03-10T12:40:00Z",
    }
    assert back["text"].startswith("Problems again: ChatGPT since 13:10 UTC (resolved at 12:40)")
    assert _mail_to(inbox, email.email) == [
        "ChatGPT: problems since 13:00 CET",
        "ChatGPT: resolved at 13:40 CET",
        "ChatGPT: problems again since 14:10 CET",
        "ChatGPT: resolved at 15:00 CET",
    ]
    assert _mail_to(inbox, italian.email)[2] == "ChatGPT: di nuovo problemi dalle 14:10 CET"
    italian_body = (
        [m for m in inbox.messages if m["To"] == italian.email][2].get_payload(decode=True).decode()
    )
    assert "Si era risolto alle 13:40 CET; da allora le segnalazioni sono tornate a salire." in italian_body
    # The second resolution names the re-opening it ends; the reviewers hear of neither.
    second = Notification.objects.filter(event=Event.RESOLVED, reopening=reopening)
    assert second.count() == 3 and set(second.values_list("state", flat=True)) == {"sent"}
    assert not Notification.objects.filter(event=Event.REOPENED, channel__in=["email", "webhook"]).exists()


def test_a_reviewer_re_opening_a_resolved_incident_tells_its_subscribers(chatgpt, subscribers):
    resolved = incident(chatgpt, resolved=True, minutes=40)
    notifications_queue(incident_ids=[resolved.pk], event=Event.RESOLVED)

    incident_act(
        incident_id=resolved.pk, action="reopen", actor=reviewer_user(), now=T0 + dt.timedelta(hours=2)
    )

    [reopening] = IncidentReopening.objects.filter(incident=resolved)
    assert (reopening.at, reopening.resolved_at) == (
        T0 + dt.timedelta(hours=2),
        T0 + dt.timedelta(minutes=40),
    )
    rows = Notification.objects.filter(event=Event.REOPENED, reopening=reopening)
    assert sorted(rows.values_list("channel", flat=True)) == ["subscriber", "subscriber_email"]
