"""Reviewers hear about a new incident once: email, the reviewers' webhook, subscribers."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from outages.alerts.delivery import notifications_deliver, notifications_stalled
from outages.alerts.models import Notification, WebhookSubscription
from outages.alerts.notifications import notifications_queue
from outages.detection_pass import detection_run_range
from outages.models import Incident
from outages.tasks import detection_pass_notify
from tests.detection_helpers import MINUTE, T0, flat_baseline, put_counts
from tests.outbox_helpers import eager_celery, webhook_receiver
from tests.review_helpers import incident, reviewer_user

pytestmark = pytest.mark.django_db

LATER = T0 + dt.timedelta(hours=1)
OPENED = Notification.Event.OPENED


@pytest.fixture
def hook_server():
    with webhook_receiver() as server:
        yield server


def _confirmed_subscription(service, url: str) -> WebhookSubscription:
    return WebhookSubscription.objects.create(service=service, url=url, created_at=T0, confirmed_at=T0)


@pytest.fixture
def eager_tasks():
    with eager_celery():
        yield


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.REVIEW_NOTIFY_EMAILS = ["oncall@example.org"]
    settings.REVIEW_WEBHOOK_URL = ""
    settings.SITE_URL = "https://downradar.example.org"


@pytest.fixture
def spiking_chatgpt(chatgpt):
    flat_baseline(chatgpt, per_minute=4)
    put_counts(chatgpt, T0 - dt.timedelta(hours=1), 60, 4)
    put_counts(chatgpt, T0, 10, 40)
    return chatgpt


def test_a_new_incident_emails_the_reviewers_once_even_when_detection_runs_twice(
    spiking_chatgpt, eager_tasks, django_capture_on_commit_callbacks
):
    reviewer_user()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        detection_pass_notify(
            lambda: detection_run_range(start=T0 - dt.timedelta(minutes=30), end=T0 + 9 * MINUTE)
        )
    with django_capture_on_commit_callbacks(execute=True):
        detection_pass_notify(
            lambda: detection_run_range(start=T0 - dt.timedelta(minutes=30), end=T0 + 9 * MINUTE)
        )
        detection_pass_notify(lambda: detection_run_range(start=T0 + 10 * MINUTE, end=T0 + 12 * MINUTE))

    opened = Incident.objects.get()
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["oncall@example.org", "reviewer@example.org"]
    assert "ChatGPT" in message.subject
    assert f"https://downradar.example.org/review/incidents/{opened.pk}/" in message.body
    assert Notification.objects.get().state == "sent"


def test_a_pass_that_rolls_back_leaves_no_outbox_row_and_queues_nothing(
    spiking_chatgpt, eager_tasks, django_capture_on_commit_callbacks
):
    reviewer_user()

    def pass_then_crash():
        detection_run_range(start=T0 - dt.timedelta(minutes=30), end=T0 + 9 * MINUTE)
        raise RuntimeError("worker lost mid-pass")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        detection_pass_notify(pass_then_crash)

    assert not Incident.objects.exists()
    assert not Notification.objects.exists()
    assert callbacks == []
    assert mail.outbox == []


def test_a_repeated_hook_or_delivery_still_sends_one_message(chatgpt, hook_server, settings):
    settings.REVIEW_WEBHOOK_URL = hook_server.url + "/reviewers"
    opened = incident(chatgpt, resolved=False)

    notifications_queue(event=OPENED, incident_ids=[opened.pk])
    notifications_queue(event=OPENED, incident_ids=[opened.pk, opened.pk])
    first = notifications_deliver(incident_id=opened.pk, now=LATER)
    second = notifications_deliver(incident_id=opened.pk, now=LATER)

    assert (first.sent, second.sent) == (2, 0)
    assert len(mail.outbox) == 1
    assert len(hook_server.received) == 1
    assert Notification.objects.count() == 2


def test_the_reviewers_webhook_gets_slack_compatible_json(chatgpt, hook_server, settings):
    settings.REVIEW_WEBHOOK_URL = hook_server.url + "/reviewers"
    opened = incident(chatgpt, resolved=False)
    notifications_queue(event=OPENED, incident_ids=[opened.pk])

    notifications_deliver(incident_id=opened.pk, now=LATER)

    [(path, content_type, payload)] = hook_server.received
    assert (path, content_type) == ("/reviewers", "application/json")
    assert "ChatGPT" in payload["text"]
    assert payload["incident"]["id"] == opened.pk
    assert payload["incident"]["review_url"] == f"https://downradar.example.org/review/incidents/{opened.pk}/"


def test_a_failing_webhook_is_retried_and_then_sent_once(chatgpt, hook_server, settings):
    settings.REVIEW_WEBHOOK_URL = hook_server.url + "/reviewers"
    hook_server.statuses = [500]
    opened = incident(chatgpt, resolved=False)
    notifications_queue(event=OPENED, incident_ids=[opened.pk])

    first = notifications_deliver(incident_id=opened.pk, now=LATER)
    row = Notification.objects.get(channel="webhook")
    assert (first.retry, row.state, row.attempts, row.last_error) == (
        1,
        "pending",
        1,
        "HTTP 500 from the webhook",
    )

    second = notifications_deliver(incident_id=opened.pk, now=LATER + MINUTE)
    third = notifications_deliver(incident_id=opened.pk, now=LATER + 2 * MINUTE)

    assert (second.sent, third.sent) == (1, 0)
    assert len(hook_server.received) == 2
    assert Notification.objects.get(channel="webhook").state == "sent"


def test_the_task_retries_with_backoff_until_the_webhook_answers(chatgpt, hook_server, settings, eager_tasks):
    from outages.alerts.tasks import deliver_notifications

    settings.REVIEW_WEBHOOK_URL = hook_server.url + "/reviewers"
    hook_server.statuses = [503, 502]
    opened = incident(chatgpt, resolved=False)
    notifications_queue(event=OPENED, incident_ids=[opened.pk])

    deliver_notifications.delay(opened.pk)

    assert len(hook_server.received) == 3
    assert Notification.objects.get(channel="webhook").attempts == 3
    assert set(Notification.objects.values_list("state", flat=True)) == {"sent"}


def test_a_row_claimed_by_another_worker_is_left_alone(chatgpt):
    opened = incident(chatgpt, resolved=False)
    notifications_queue(event=OPENED, incident_ids=[opened.pk])
    Notification.objects.update(state="sending", claimed_at=LATER)

    result = notifications_deliver(incident_id=opened.pk, now=LATER + MINUTE)

    assert result.sent == 0 and mail.outbox == []
    # A claim older than the timeout is a dead worker's: the sweep hands it out again.
    assert notifications_stalled(now=LATER + dt.timedelta(minutes=16)) == [opened.pk]
    assert notifications_deliver(incident_id=opened.pk, now=LATER + dt.timedelta(minutes=16)).sent == 1


def test_subscribers_of_the_service_get_a_webhook_with_an_unsubscribe_link(chatgpt, hook_server, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    subscription = _confirmed_subscription(chatgpt, hook_server.url + "/mine")
    opened = incident(chatgpt, resolved=False)
    notifications_queue(event=OPENED, incident_ids=[opened.pk])

    notifications_deliver(incident_id=opened.pk, now=LATER)

    [(path, _, payload)] = hook_server.received
    assert path == "/mine"
    assert payload["event"] == "incident.opened"
    assert payload["incident"]["url"] == "https://downradar.example.org/s/chatgpt/"
    assert payload["unsubscribe_url"] == f"https://downradar.example.org/unsubscribe/{subscription.token}/"
    assert "review_url" not in payload["incident"]


def test_subscribers_webhooks_to_private_addresses_are_refused(chatgpt, hook_server, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    _confirmed_subscription(chatgpt, hook_server.url + "/internal")
    opened = incident(chatgpt, resolved=False)
    notifications_queue(event=OPENED, incident_ids=[opened.pk])

    notifications_deliver(incident_id=opened.pk, now=LATER)

    assert hook_server.received == []
    row = Notification.objects.get(channel="subscriber")
    assert "non-public address" in row.last_error


def test_the_public_can_subscribe_with_https_and_unsubscribe(client, chatgpt):
    refused = client.post("/s/chatgpt/subscribe/", {"url": "http://example.org/hook"})
    assert refused.status_code == 400 and not WebhookSubscription.objects.exists()

    created = client.post("/s/chatgpt/subscribe/", {"url": "https://example.org/hook"})

    assert created.status_code == 201
    subscription = WebhookSubscription.objects.get()
    assert f"/unsubscribe/{subscription.token}/" in created.content.decode()
    client.post(f"/unsubscribe/{subscription.token}/")
    assert not WebhookSubscription.objects.get().is_active


# --- the webhook transport: checked addresses, one lookup, a total deadline ------------------


# IANA's IPv4 and IPv6 special-purpose address registries, written out here apart from
# outages.special_addresses, so that a block dropped from the module fails a test.
SPECIAL_BLOCKS = [
    "0.0.0.0/8",
    "0.0.0.0/32",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.0.0/29",
    "192.0.0.8/32",
    "192.0.0.9/32",
    "192.0.0.10/32",
    "192.0.0.170/32",
    "192.0.0.171/32",
    "192.0.2.0/24",
    "192.31.196.0/24",
    "192.52.193.0/24",
    "192.88.99.0/24",
    "192.88.99.2/32",
    "192.168.0.0/16",
    "192.175.48.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "224.0.0.0/4",  # multicast (IPv4 address space registry)
    "::1/128",
    "::/128",
    "64:ff9b:1::/48",
    "100::/64",
    "100:0:0:1::/64",
    "2001::/23",
    "2001::/32",
    "2001:1::1/128",
    "2001:1::2/128",
    "2001:1::3/128",
    "2001:2::/48",
    "2001:3::/32",
    "2001:4:112::/48",
    "2001:10::/28",
    "2001:20::/28",
    "2001:30::/28",
    "2001:db8::/32",
    "2002::/16",
    "2620:4f:8000::/48",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",  # site-local, deprecated (IPv6 address space registry)
    "ff00::/8",  # multicast
]


def _first_middle_last(cidr):
    network = ipaddress.ip_network(cidr)
    return [network[0], network[network.num_addresses // 2], network[-1]]


@pytest.mark.parametrize("cidr", SPECIAL_BLOCKS)
def test_every_special_purpose_block_is_refused_from_its_first_to_its_last_address(cidr):
    from outages.outbound import address_allowed as webhook_address_allowed

    refused = [
        str(address) for address in _first_middle_last(cidr) if not webhook_address_allowed(str(address))
    ]

    assert refused == [str(address) for address in _first_middle_last(cidr)]


def test_the_registry_module_holds_each_listed_block_with_its_name_and_rfc():
    from outages.special_addresses import IPV4_SPECIAL, IPV6_SPECIAL

    rows = {str(block.network): block for block in IPV4_SPECIAL + IPV6_SPECIAL}

    assert set(SPECIAL_BLOCKS) <= set(rows)
    assert all(block.name and block.rfc.startswith("RFC ") for block in rows.values())


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:127.0.0.1",
        "::ffff:192.88.99.1",
        "::10.0.0.1",  # IPv4-compatible (deprecated, outside 2000::/3)
        "::8.8.8.8",
        "::169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
        "64:ff9b::c058:6301",  # NAT64 of 192.88.99.1
        "64:ff9b:1::808:808",  # local-use NAT64, even of a public address
        "2002:808:808::1",  # 6to4, even of a public address: its relays are deprecated
        "2002:7f00:1::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "4000::1",  # reserved by the IETF, not global unicast
        "fe80::1%eth0",
        "not an address",
    ],
)
def test_private_addresses_are_refused_in_every_ipv6_form_that_embeds_them(address):
    from outages.outbound import address_allowed

    assert address_allowed(address) is False


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "192.88.98.255",  # either side of the 6to4 relay block
        "192.88.100.0",
        "64:ff9b::808:808",  # NAT64 of 8.8.8.8: how an IPv6-only host reaches it
        "::ffff:8.8.8.8",
        "2606:4700::1111",
        "2001:200::1",  # just past 2001::/23
        "3fff:1000::1",  # just past 3fff::/20
    ],
)
def test_public_addresses_and_their_ipv6_forms_are_allowed(address):
    from outages.outbound import address_allowed

    assert address_allowed(address) is True


@pytest.mark.parametrize("address", ["fec0::1", "192.88.99.1", "3fff::1", "5f00::1"])
def test_a_webhook_resolving_to_a_special_block_is_refused_before_any_connection(
    settings, monkeypatch, address
):
    """The four blocks a worker really connected to (issue 23). Connections are watched:
    anything but loopback would fail the test rather than leave the machine."""
    import socket

    from outages import outbound
    from outages.alerts import delivery

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    connected = []
    real_create_connection = socket.create_connection

    def loopback_only(address_port, *args, **kwargs):
        connected.append(address_port[0])
        assert ipaddress.ip_address(address_port[0]).is_loopback
        return real_create_connection(address_port, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", loopback_only)
    monkeypatch.setattr(outbound, "resolver", lambda host, port: [address])

    with pytest.raises(delivery.DeliveryError, match="non-public address"):
        delivery.post_json("https://hooks.downradar.test/x", {"text": "hi"}, check_address=True)
    assert connected == []


def test_a_name_resolving_to_a_nat64_form_of_a_private_address_is_refused(monkeypatch, settings):
    from outages import outbound
    from outages.alerts.delivery import DeliveryError, post_json

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(outbound, "resolver", lambda host, port: ["64:ff9b::a00:1"])

    with pytest.raises(DeliveryError, match="non-public address"):
        post_json("https://hooks.downradar.test/x", {"a": 1}, check_address=True)


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.hosts.append(self.headers["Host"])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_delivery_connects_to_the_address_it_checked_without_a_second_lookup(
    chatgpt, settings, monkeypatch
):
    """The name resolves only through our hook (.test never resolves in DNS): a delivery
    that looked it up again would fail."""
    from outages import outbound

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    lookups = []

    def resolver(host, port):
        lookups.append((host, port))
        return ["127.0.0.1"]

    monkeypatch.setattr(outbound, "resolver", resolver)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.hosts = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        _confirmed_subscription(chatgpt, f"http://hooks.downradar.test:{port}/mine")
        opened = incident(chatgpt, resolved=False)
        notifications_queue(event=OPENED, incident_ids=[opened.pk])

        result = notifications_deliver(incident_id=opened.pk, now=LATER)
    finally:
        server.shutdown()
        server.server_close()

    assert result.sent == 2  # the email and the subscriber
    assert lookups == [("hooks.downradar.test", port)]
    assert server.hosts == [f"hooks.downradar.test:{port}"]


class _Trickle(BaseHTTPRequestHandler):
    """Answers one byte every 0.2 s: each read succeeds well within the socket timeout.
    Gives up after 6 s, so the code before the deadline finished too (and failed)."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        started = time.monotonic()
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self.wfile.flush()
            while time.monotonic() - started < 6:
                self.wfile.write(b"z")
                self.wfile.flush()
                time.sleep(0.2)
            self.wfile.write(b"\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass  # the client hung up: what the deadline does

    def log_message(self, *args):
        pass


def test_a_slow_endpoint_that_trickles_bytes_is_cut_at_the_total_deadline(chatgpt, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_DEADLINE_SECONDS = 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _confirmed_subscription(chatgpt, f"http://127.0.0.1:{server.server_address[1]}/slow")
        opened = incident(chatgpt, resolved=False)
        notifications_queue(event=OPENED, incident_ids=[opened.pk])

        started = time.monotonic()
        result = notifications_deliver(incident_id=opened.pk, now=LATER)
        took = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()

    assert took < 2.5
    assert result.retry == 1
    row = Notification.objects.get(channel="subscriber")
    assert (row.state, row.last_error) == ("pending", "webhook too slow: no complete answer in 1 s")


# --- subscriptions: limits, the handshake, tokens --------------------------------------------


def test_100_subscriptions_from_one_client_are_refused_past_the_limit(client, chatgpt, settings):
    settings.WEBHOOK_MAX_PER_CLIENT = 5

    answers = [
        client.post("/s/chatgpt/subscribe/", {"url": f"https://example.org/hook/{i}"}) for i in range(100)
    ]

    assert [a.status_code for a in answers] == [201] * 5 + [429] * 95
    assert "You already have 5 webhook subscriptions" in answers[-1].content.decode()
    assert WebhookSubscription.objects.count() == 5
    # The client is a keyed hash, never its address.
    [key] = set(WebhookSubscription.objects.values_list("client_key", flat=True))
    assert len(key) == 32 and "127.0.0.1" not in key


def test_a_service_takes_subscriptions_up_to_its_limit(client, chatgpt, settings):
    settings.WEBHOOK_MAX_PER_SERVICE = 3

    answers = [
        client.post(
            "/s/chatgpt/subscribe/", {"url": f"https://example.org/{i}"}, REMOTE_ADDR=f"198.51.100.{i}"
        )
        for i in range(1, 5)
    ]

    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert "as many webhook subscriptions as it can take" in answers[-1].content.decode()


def _subscribe_then_incident(service, url, capture_on_commit) -> WebhookSubscription:
    """Subscribe through the service (the handshake runs after commit, as a worker would
    run it), then open an incident and deliver its notifications."""
    from outages.alerts.subscriptions import subscription_create

    with capture_on_commit(execute=True):
        subscription = subscription_create(service=service, url=url, client_key="k" * 32, now=T0)
    opened = incident(service, resolved=False)
    notifications_queue(event=OPENED, incident_ids=[opened.pk])
    notifications_deliver(incident_id=opened.pk, now=LATER)
    subscription.refresh_from_db()
    return subscription


def test_an_endpoint_that_does_not_echo_the_challenge_gets_no_delivery(
    chatgpt, hook_server, settings, eager_tasks, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True

    subscription = _subscribe_then_incident(
        chatgpt, hook_server.url + "/mine", django_capture_on_commit_callbacks
    )

    [(path, _, handshake)] = hook_server.received  # the challenge, and nothing else
    assert path == "/mine"
    assert handshake["type"] == "url_verification" and handshake["challenge"]
    assert subscription.confirmed_at is None
    assert not Notification.objects.filter(channel="subscriber").exists()


def test_an_endpoint_that_echoes_the_challenge_is_confirmed_and_gets_incidents(
    chatgpt, hook_server, settings, eager_tasks, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    hook_server.echo = True

    subscription = _subscribe_then_incident(
        chatgpt, hook_server.url + "/mine", django_capture_on_commit_callbacks
    )

    assert subscription.confirmed_at is not None
    assert [body.get("type", body.get("event")) for _, _, body in hook_server.received] == [
        "url_verification",
        "incident.opened",
    ]


def test_a_repeat_subscription_never_reveals_the_first_token(client, chatgpt):
    url = {"url": "https://example.org/hook"}
    client.post("/s/chatgpt/subscribe/", url)
    first = WebhookSubscription.objects.get().token
    WebhookSubscription.objects.update(confirmed_at=T0)

    repeat = client.post("/s/chatgpt/subscribe/", url, REMOTE_ADDR="198.51.100.7")

    assert repeat.status_code == 409
    assert first not in repeat.content.decode()
    assert "already gets ChatGPT" in repeat.content.decode()
    assert WebhookSubscription.objects.get().token == first


def test_an_unconfirmed_subscription_subscribed_again_gets_a_new_token_and_the_old_one_dies(client, chatgpt):
    url = {"url": "https://example.org/hook"}
    client.post("/s/chatgpt/subscribe/", url)
    first = WebhookSubscription.objects.get().token

    again = client.post("/s/chatgpt/subscribe/", url, REMOTE_ADDR="198.51.100.7")

    assert again.status_code == 201
    second = WebhookSubscription.objects.get().token
    assert second != first
    assert first not in again.content.decode() and f"/unsubscribe/{second}/" in again.content.decode()
    assert client.get(f"/unsubscribe/{first}/").status_code == 404


@pytest.fixture
def tls_hook(tmp_path, monkeypatch):
    """An HTTPS server on 127.0.0.1 with a certificate for hooks.downradar.test only (made
    with openssl), and deliveries trusting it; the name resolves through our hook alone."""
    from outages import outbound

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", key, "-out", cert, "-subj", "/CN=hooks.downradar.test"),
            *("-addext", "subjectAltName=DNS:hooks.downradar.test"),
        ],
        check=True,
        capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.hosts = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(outbound, "tls_context", lambda: ssl.create_default_context(cafile=str(cert)))
    server.lookups = []
    monkeypatch.setattr(outbound, "resolver", lambda host, port: server.lookups.append(host) or ["127.0.0.1"])
    server.port = server.server_address[1]
    yield server
    server.shutdown()
    server.server_close()


def test_https_goes_to_the_checked_address_with_sni_and_certificate_for_the_name(tls_hook, settings):
    from outages.alerts.delivery import post_json

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True

    post_json(f"https://hooks.downradar.test:{tls_hook.port}/x", {"a": 1}, check_address=True)

    assert tls_hook.lookups == ["hooks.downradar.test"]
    assert tls_hook.hosts == [f"hooks.downradar.test:{tls_hook.port}"]


def test_https_to_a_name_the_certificate_does_not_cover_is_refused(tls_hook, settings):
    from outages.alerts.delivery import DeliveryError, post_json

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True

    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        post_json(f"https://other.downradar.test:{tls_hook.port}/x", {"a": 1}, check_address=True)
    assert tls_hook.hosts == []
