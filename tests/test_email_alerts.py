"""Email alerts through Django's SMTP backend to a real SMTP server the test starts
(aiosmtpd): double opt-in, an alert on open, confirm and resolve naming the cities (through
the one outbox, its Celery task run as a worker would), and a one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

from email.message import Message

import pytest
from django.utils import timezone

from geo.models import City
from outages.alerts.models import EmailSubscription, Notification
from outages.alerts.tasks import deliver_notifications, notifications_sweep
from outages.detection_pass import PassResult
from outages.models import IncidentCity
from outages.review.services import incident_act
from outages.tasks import detection_pass_notify
from tests.outbox_helpers import eager_celery
from tests.review_helpers import incident, reviewer_user
from tests.smtp import link_in, smtp_inbox

pytestmark = pytest.mark.django_db


SITE_URL = "https://downradar.example"


@pytest.fixture
def inbox(settings):
    with smtp_inbox(settings, site_url=SITE_URL) as handler, eager_celery():
        yield handler


def link(message: Message, path: str) -> str:
    return link_in(message, SITE_URL, path).removeprefix(SITE_URL)


def subscribe(client, django_capture_on_commit_callbacks, address="ada@example.org", language="en"):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/s/chatgpt/subscribe/email/",
            {"email": address},
            HTTP_ACCEPT_LANGUAGE=language,
            REMOTE_ADDR="93.56.1.1",
        )
    assert response.status_code == 202
    return response


def test_an_address_gets_a_confirmation_link_and_nothing_else_until_it_is_used(
    client, chatgpt, inbox, django_capture_on_commit_callbacks
):
    subscribe(client, django_capture_on_commit_callbacks)

    [confirmation] = inbox.messages
    assert confirmation["To"] == "ada@example.org" and "Confirm alerts for ChatGPT" in confirmation["Subject"]
    opened = incident(chatgpt, resolved=False)
    with django_capture_on_commit_callbacks(execute=True):
        detection_pass_notify(lambda: PassResult(opened_ids=[opened.pk]))
    assert len(inbox.messages) == 1  # unconfirmed: no alert
    assert not Notification.objects.filter(channel="subscriber_email", incident__isnull=False).exists()

    confirm = link(confirmation, "/alerts/confirm/")
    assert client.get(confirm).status_code == 200
    assert EmailSubscription.objects.get().confirmed_at is None  # a link scanner's GET confirms nothing
    client.post(confirm)
    assert EmailSubscription.objects.get().confirmed_at is not None


def test_a_confirmed_address_is_alerted_on_open_confirm_and_resolve_with_the_cities(
    client, chatgpt, inbox, django_capture_on_commit_callbacks
):
    subscribe(client, django_capture_on_commit_callbacks)
    client.post(link(inbox.messages[0], "/alerts/confirm/"))
    ongoing = incident(chatgpt, resolved=False)
    for name in ("Milan", "Rome"):
        city = City.objects.create(
            name_en=name,
            name_it={"Milan": "Milano", "Rome": "Roma"}[name],
            country_code="IT",
            region="",
            latitude=45.0,
            longitude=9.0,
        )
        IncidentCity.objects.create(
            incident=ongoing, city=city, count=50, excess=40, first_flagged_at=ongoing.started_at
        )

    with django_capture_on_commit_callbacks(execute=True):
        detection_pass_notify(lambda: PassResult(opened_ids=[ongoing.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        for action in ("confirm", "resolve"):
            incident_act(
                incident_id=ongoing.pk, action=action, actor=reviewer_user(f"r{action}"), now=timezone.now()
            )

    alerts = inbox.messages[1:]
    assert [m["Subject"].split(": ", 1)[1].split(" ")[0] for m in alerts] == [
        "problems",
        "outage",
        "resolved",
    ]
    for message in alerts:
        assert "Most affected cities: Milan, Rome." in message.get_payload(decode=True).decode()
        assert (
            message["List-Unsubscribe"].strip().startswith("<https://downradar.example/alerts/unsubscribe/")
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    rows = Notification.objects.filter(channel="subscriber_email").order_by("created_at", "pk")
    assert [(row.event, row.state) for row in rows] == [
        ("confirmation", "sent"),
        ("opened", "sent"),
        ("confirmed", "sent"),
        ("resolved", "sent"),
    ]
    deliver_notifications.apply(args=[ongoing.pk])
    notifications_sweep.apply()
    assert len(inbox.messages) == 4  # each event is mailed once


def test_one_click_unsubscribe_works_without_a_cookie_or_token_of_the_site(
    client, chatgpt, inbox, django_capture_on_commit_callbacks
):
    subscribe(client, django_capture_on_commit_callbacks)
    subscription = EmailSubscription.objects.get()
    client.post(link(inbox.messages[0], "/alerts/confirm/"))

    from django.test import Client

    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        f"/alerts/unsubscribe/{subscription.token}/",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert not EmailSubscription.objects.get().is_active


def test_alerts_and_the_confirmation_are_written_in_the_subscriber_s_language(
    client, chatgpt, inbox, django_capture_on_commit_callbacks
):
    subscribe(client, django_capture_on_commit_callbacks, language="it")

    assert "Conferma gli avvisi per ChatGPT" in inbox.messages[0]["Subject"]
    assert EmailSubscription.objects.get().language == "it"
