"""What a visitor does beyond reading a page, in Chromium: follow a service by email and get
its alerts, find a service by another name, show its badge and embed it on another site."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalogue.models import Service
from geo.models import City
from outages.alerts.models import EmailSubscription
from outages.alerts.tasks import deliver_notifications
from outages.detection_pass import PassResult
from outages.models import IncidentCity
from outages.tasks import detection_pass_notify
from tests.outbox_helpers import eager_celery
from tests.review_helpers import incident
from tests.smtp import body_of, link_in, smtp_inbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@contextmanager
def other_site(html: str) -> Iterator[str]:
    """A page of another origin (127.0.0.1 beside the live server's localhost)."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def inbox(settings, live_server):
    # The confirmation link goes through the outbox's Celery task: run here, as a worker would.
    with smtp_inbox(settings, site_url=live_server.url) as handler, eager_celery():
        yield handler


def open_incident_in(service: Service, cities: dict[str, str]):
    ongoing = incident(service, started_at=timezone.now(), resolved=False)
    for name_en, name_it in cities.items():
        city = City.objects.create(
            name_en=name_en, name_it=name_it, country_code="IT", region="", latitude=45.0, longitude=9.0
        )
        IncidentCity.objects.create(
            incident=ongoing, city=city, count=60, excess=50, first_flagged_at=ongoing.started_at
        )
    detection_pass_notify(lambda: PassResult(opened_ids=[ongoing.pk]))
    deliver_notifications.apply(args=[ongoing.pk])
    return ongoing


def test_follow_a_service_by_email_confirm_from_the_mail_and_get_its_alert(open_page, inbox, live_server):
    chatgpt = Service.objects.get(slug="chatgpt")
    page = open_page()
    page.goto("/s/chatgpt/")
    page.get_by_role("link", name="Get alerts").click()
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_role("button", name="Email me").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    [confirmation] = inbox.wait_for(1)
    assert confirmation["To"] == "ada@example.org"
    page.goto(link_in(confirmation, live_server.url, "/alerts/confirm/"))
    assert EmailSubscription.objects.get().confirmed_at is None  # opening the link confirms nothing
    page.get_by_role("button", name="Yes, email me about ChatGPT").click()
    expect(page.get_by_role("heading", name="Alerts confirmed")).to_be_visible()

    open_incident_in(chatgpt, {"Milan": "Milano", "Rome": "Roma"})

    alert = inbox.wait_for(2)[1]
    assert alert["Subject"].startswith("ChatGPT: problems")
    assert "Most affected cities: Milan, Rome." in body_of(alert)
    unsubscribe = re.search(r"<(http[^>]+)>", alert["List-Unsubscribe"])[1]
    page.goto(unsubscribe)
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="Unsubscribed")).to_be_visible()
    assert not EmailSubscription.objects.get().is_active


def test_an_italian_visitor_follows_in_italian_and_is_alerted_in_italian(open_page, inbox, live_server):
    page = open_page("it")
    page.goto("/s/chatgpt/subscribe/")
    page.get_by_label("Email").fill("bice@example.org")
    page.locator("form[action$='/subscribe/email/'] button").click()
    [confirmation] = inbox.wait_for(1)
    assert "Conferma gli avvisi per ChatGPT" in confirmation["Subject"]
    page.goto(link_in(confirmation, live_server.url, "/alerts/confirm/"))
    page.locator("main form button").click()

    open_incident_in(Service.objects.get(slug="chatgpt"), {"Milan": "Milano", "Naples": "Napoli"})

    assert "Milano, Napoli" in body_of(inbox.wait_for(2)[1])


@pytest.mark.parametrize(
    ("typed", "found"), [("chat gpt", "ChatGPT"), ("open ai", "ChatGPT"), ("psn", "PlayStation Network")]
)
def test_a_service_is_found_by_another_name(open_page, typed, found):
    # Each is an alias spelled exactly (up to case and spacing): the search goes straight to
    # the service's page.
    page = open_page()
    page.goto("/")
    page.get_by_label("Find a service").fill(typed)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/s/[a-z0-9-]+/"))
    expect(page.get_by_role("heading", level=1, name=found, exact=True)).to_be_visible()


def test_the_badge_shows_the_status_and_the_embed_can_be_framed_by_another_site(open_page, live_server):
    page = open_page()
    badge = page.goto("/s/chatgpt/badge.svg")
    assert badge.headers["content-type"].startswith("image/svg+xml")
    assert "max-age" in badge.headers["cache-control"]
    drawn = page.locator("svg").text_content()
    assert "ChatGPT" in drawn
    assert page.locator("svg").bounding_box()["width"] > 50

    # Another site (another origin, served by its own server), framing the widget: it must
    # load and show the status.
    blog = open_page()
    with other_site(
        f'<!doctype html><title>A blog</title><iframe title="status" src="{live_server.url}/s/chatgpt/embed/" width="400" height="120"></iframe>'
    ) as blog_url:
        blog.route(f"{blog_url}**", lambda route: route.continue_())  # allowed: it is the test's own
        blog.goto(blog_url)
        frame = blog.frame_locator("iframe")
        assert frame.locator(".widget-name").inner_text() == "ChatGPT"
        assert frame.locator(".status-text").inner_text() == "No problems"


def test_the_search_field_suggests_services_by_alias_and_a_pick_opens_its_page(open_page):
    page = open_page()
    page.goto("/")
    with page.expect_response(lambda response: "/api/v1/services/?q=" in response.url):
        page.get_by_label("Find a service").press_sequentially("open a")
    suggestions = page.locator("#service-suggestions option")
    suggestions.first.wait_for(state="attached")
    assert "ChatGPT" in [option.get_attribute("value") for option in suggestions.all()]

    # What the browser does when a suggestion is picked from the list.
    page.evaluate(
        """() => { const field = document.getElementById("q"); field.value = "ChatGPT";
        field.dispatchEvent(new InputEvent("input", {inputType: "insertReplacementText", bubbles: true})); }"""
    )
    page.wait_for_url("**/s/chatgpt/")
