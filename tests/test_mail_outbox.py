"""Confirmation mails go through the one outbox, never inside the request: a subscribe answers
202 and the same page whatever happens to the mail (a mail server that refuses, one that
hangs), at most EMAIL_CONFIRMATIONS_PER_DAY confirmations reach one inbox in a day and none
within EMAIL_CONFIRMATION_COOLDOWN_SECONDS of the last, over every service and client, even
under concurrent requests. Real SMTP servers (tests/smtp.py), the Celery tasks run as a
worker runs them."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
import time_machine
from django.db import connection
from django.test import Client

from catalogue.models import Service
from outages.alerts.delivery import confirmation_deliver
from outages.alerts.models import EmailSubscription, Notification
from outages.alerts.tasks import deliver_confirmation, notifications_sweep
from outages.detection_pass import PassResult
from outages.tasks import detection_pass_notify
from reports.hashing import recipient_key
from tests.detection_helpers import T0
from tests.outbox_helpers import eager_celery
from tests.review_helpers import incident
from tests.smtp import free_port, link_in, smtp_blackhole, smtp_inbox, use_smtp_server

pytestmark = pytest.mark.django_db

SITE_URL = "https://downradar.example"
ADA = "ada@example.org"


def subscribe(client, slug="chatgpt", address=ADA, remote="93.56.1.1"):
    return client.post(f"/s/{slug}/subscribe/email/", {"email": address}, REMOTE_ADDR=remote)


def page(response) -> str:
    """The page as a visitor reads it: without the CSRF token, masked anew on every answer."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def confirmations(address: str = ADA):
    return Notification.objects.filter(event="confirmation", recipient_key=recipient_key(address))


def four_services() -> list[str]:
    return list(Service.objects.active().order_by("slug").values_list("slug", flat=True)[:4])


# --- the recipient's key ---------------------------------------------------------------------


def test_every_spelling_of_one_inbox_has_one_key_and_the_key_holds_no_address():
    key = recipient_key("ada@example.org")
    for spelling in (
        "ADA@Example.ORG",
        " ada@example.org. ",
        "ada+alerts@example.org",
        "\uff41\uff44\uff41@example.org",
    ):
        assert recipient_key(spelling) == key, spelling
    assert recipient_key("a.d.a@gmail.com") == recipient_key("ada+x@gmail.com")
    assert recipient_key("bob@example.org") != key
    assert recipient_key("a.da@example.org") != key  # dots matter outside Gmail
    assert recipient_key("ada@bücher.example") == recipient_key("ada@xn--bcher-kva.example")
    assert len(key) == 32 and "ada" not in key


# --- a mail server that refuses ------------------------------------------------------------


def test_with_the_mail_server_refusing_a_subscribe_is_202_and_the_link_goes_out_once_it_accepts(
    client, chatgpt, settings, django_capture_on_commit_callbacks
):
    with smtp_inbox(settings, site_url=SITE_URL) as inbox:
        inbox.refusing = True
        with django_capture_on_commit_callbacks(execute=True):
            response = subscribe(client)
        assert response.status_code == 202
        assert inbox.refused == 0  # nothing was sent inside the request

        [row] = confirmations()
        first = confirmation_deliver(notification_id=row.pk, now=T0)  # the worker's first try

        assert (first.sent, first.retry, inbox.refused) == (0, 1, 1)
        row.refresh_from_db()
        assert (row.state, row.attempts) == ("pending", 1)
        assert row.last_error.startswith("(554, b'5.7.1 Message refused')")
        assert EmailSubscription.objects.get().email == ADA  # the subscription is kept

        inbox.refusing = False
        deliver_confirmation.apply(args=[row.pk])  # the task's retry

        [mail] = inbox.messages
    assert mail["To"] == ADA and "Confirm alerts for ChatGPT" in mail["Subject"]
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("sent", 2)
    client.post(link_in(mail, SITE_URL, "/alerts/confirm/").removeprefix(SITE_URL))
    assert EmailSubscription.objects.get().is_confirmed


def test_with_no_mail_server_listening_a_subscribe_is_202_and_the_sweep_delivers_once_it_is_back(
    client, chatgpt, settings, django_capture_on_commit_callbacks
):
    port = free_port()  # nothing listens: every connection is refused
    use_smtp_server(settings, port, site_url=SITE_URL)
    with time_machine.travel(T0, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            assert subscribe(client).status_code == 202
        [row] = confirmations()
        assert confirmation_deliver(notification_id=row.pk, now=T0).retry == 1
        row.refresh_from_db()
        assert row.state == "pending" and "Connection refused" in row.last_error

        # The worker died before its retry: the sweep picks the row up once its claim is stale.
        clock.shift(dt.timedelta(minutes=16))
        with smtp_inbox(settings, site_url=SITE_URL, port=port) as inbox, eager_celery():
            notifications_sweep.apply()
            assert [mail["To"] for mail in inbox.messages] == [ADA]
    row.refresh_from_db()
    assert row.state == "sent"


def test_a_confirmation_never_queued_because_the_broker_was_down_is_sent_by_the_sweep(
    client, chatgpt, settings
):
    with smtp_inbox(settings, site_url=SITE_URL) as inbox, time_machine.travel(T0, tick=False) as clock:
        # No on-commit callbacks run in the test's transaction: as if the broker were down.
        assert subscribe(client).status_code == 202
        clock.shift(dt.timedelta(minutes=3))
        with eager_celery():
            assert notifications_sweep.apply().get() == 1
            assert notifications_sweep.apply().get() == 0
        assert [mail["To"] for mail in inbox.messages] == [ADA]


# --- a mail server that hangs --------------------------------------------------------------


def test_with_a_blackholed_mail_server_the_subscribe_returns_at_once_and_the_worker_times_out(
    client, chatgpt, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_TIMEOUT = 1
    with smtp_blackhole(settings, site_url=SITE_URL) as blackhole:
        subscribe(client, address="warm-up@example.org")  # a process's first request loads its caches
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = subscribe(client)
        request_took = time.monotonic() - started
        assert response.status_code == 202
        assert blackhole.accepted == 0  # the request never opened a connection to it

        [row] = confirmations()
        started = time.monotonic()
        result = confirmation_deliver(notification_id=row.pk, now=T0)
        worker_took = time.monotonic() - started

    assert request_took < 1
    assert 1 <= worker_took < 3  # EMAIL_TIMEOUT, not the server's 5 s hold
    assert result.retry == 1 and blackhole.accepted == 1
    row.refresh_from_db()
    assert (row.state, row.last_error) == ("pending", "Connection unexpectedly closed: timed out")


# --- the budget ----------------------------------------------------------------------------


def test_thirty_subscribes_to_four_services_from_three_clients_mail_one_inbox_three_times_a_day(
    client, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_CONFIRMATION_COOLDOWN_SECONDS = 0
    slugs = four_services()
    clients = ["93.56.1.1", "151.16.2.2", "2a02:b000::1"]
    with (
        smtp_inbox(settings, site_url=SITE_URL) as inbox,
        eager_celery(),
        time_machine.travel(T0, tick=False) as clock,
    ):
        answers = []
        for i in range(30):
            with django_capture_on_commit_callbacks(execute=True):
                answers.append(subscribe(client, slug=slugs[i % 4], remote=clients[i % 3]))
            clock.shift(dt.timedelta(seconds=1))
        assert len(inbox.messages) == 3

        clock.shift(dt.timedelta(days=1))
        with django_capture_on_commit_callbacks(execute=True):
            subscribe(client, slug=slugs[0])
        assert len(inbox.messages) == 4  # a new day, a new budget

    assert {response.status_code for response in answers} == {202}
    # The 29th answer (the first's service, another client), with no mail behind it, is the
    # first's, with one.
    assert page(answers[28]) == page(answers[0])
    assert all(mail["To"] == ADA for mail in inbox.messages)
    assert EmailSubscription.objects.filter(email=ADA).count() == 4
    assert confirmations().count() == 4


def test_a_second_confirmation_waits_for_the_cooldown_across_services(
    client, settings, django_capture_on_commit_callbacks
):
    first, second = four_services()[:2]
    with (
        smtp_inbox(settings, site_url=SITE_URL) as inbox,
        eager_celery(),
        time_machine.travel(T0, tick=False) as clock,
    ):
        for slug, wait in [(first, 0), (second, 60), (first, 8 * 60), (second, 60)]:
            clock.shift(dt.timedelta(seconds=wait))
            with django_capture_on_commit_callbacks(execute=True):
                assert subscribe(client, slug=slug, address="Ada+again@example.org").status_code == 202
        # 0 s: mailed; 60 s and 540 s: within 600 s of it; 600 s: mailed.
        assert len(inbox.messages) == 2
        assert [row.created_at - T0 for row in confirmations().order_by("created_at")] == [
            dt.timedelta(0),
            dt.timedelta(minutes=10),
        ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twelve_concurrent_subscribes_to_four_services_queue_three_confirmations(settings):
    settings.EMAIL_CONFIRMATION_COOLDOWN_SECONDS = 0
    slugs = four_services()
    start = threading.Barrier(12)
    statuses: list[int] = []

    def one(i: int) -> None:
        start.wait()
        try:
            statuses.append(subscribe(Client(), slug=slugs[i % 4], remote=f"198.51.100.{i + 1}").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [202] * 12
    assert confirmations().count() == 3


# --- re-subscribing ------------------------------------------------------------------------


def test_an_address_back_after_unsubscribing_must_confirm_again(
    client, chatgpt, settings, django_capture_on_commit_callbacks
):
    with (
        smtp_inbox(settings, site_url=SITE_URL) as inbox,
        eager_celery(),
        time_machine.travel(T0, tick=False) as clock,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            subscribe(client)
        client.post(link_in(inbox.messages[0], SITE_URL, "/alerts/confirm/").removeprefix(SITE_URL))
        client.post(f"/alerts/unsubscribe/{EmailSubscription.objects.get().token}/")

        clock.shift(dt.timedelta(hours=1))
        with django_capture_on_commit_callbacks(execute=True):
            assert subscribe(client).status_code == 202
        subscription = EmailSubscription.objects.get()
        assert subscription.is_active and not subscription.is_confirmed
        assert len(inbox.messages) == 2  # a new link

        opened = incident(chatgpt, started_at=T0, resolved=False)
        with django_capture_on_commit_callbacks(execute=True):
            detection_pass_notify(lambda: PassResult(opened_ids=[opened.pk]))
        assert len(inbox.messages) == 2  # no alert before the new confirmation


def test_a_confirmed_address_subscribing_again_gets_the_same_answer_and_no_mail(
    client, chatgpt, settings, django_capture_on_commit_callbacks
):
    with smtp_inbox(settings, site_url=SITE_URL) as inbox, eager_celery():
        with django_capture_on_commit_callbacks(execute=True):
            first = subscribe(client)
        client.post(link_in(inbox.messages[0], SITE_URL, "/alerts/confirm/").removeprefix(SITE_URL))
        with django_capture_on_commit_callbacks(execute=True):
            again = subscribe(client, remote="151.16.2.2")

    assert (again.status_code, page(again)) == (first.status_code, page(first))
    assert len(inbox.messages) == 1 and confirmations().count() == 1
