"""The official status block on the service page, in a browser: read from a real status page
on loopback, with the lead time, and refreshed in place when the official page changes."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from catalogue.models import Service
from outages.models import Incident, ServiceStatus
from outages.official.models import OfficialSource
from outages.official.services import official_poll
from outages.status import status_apply
from tests.pages_data import outage_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


class _Statuspage(BaseHTTPRequestHandler):
    def do_GET(self):
        indicator, updated_at = self.server.state
        body = json.dumps(
            {"page": {"updated_at": updated_at}, "status": {"indicator": indicator, "description": ""}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def official_page(settings):
    settings.OFFICIAL_STATUS_ALLOW_LOOPBACK = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Statuspage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_service_page_shows_the_official_status_beside_the_crowd_and_refreshes_it(
    open_page, official_page
):
    now = timezone.now().replace(microsecond=0)
    chatgpt = Service.objects.get(slug="chatgpt")
    chatgpt.official_format = Service.OfficialFormat.STATUSPAGE
    chatgpt.official_url = f"http://127.0.0.1:{official_page.server_address[1]}/api/v2/summary.json"
    chatgpt.save()
    outage_now(chatgpt, now=now)
    started = now - dt.timedelta(minutes=50)
    incident = Incident.objects.create(
        service=chatgpt, started_at=started, last_spike_at=now, last_elevated_at=now, peak_at=started
    )
    status_apply(
        ServiceStatus(service=chatgpt, evidence="outage", count=131, baseline=4.0, minute=now), incident
    ).save()
    # The official page went red 11 minutes after the crowd.
    official_page.state = ("major", _stamp(started + dt.timedelta(minutes=11)))
    assert official_poll(service_id=chatgpt.pk, now=now) == "changed"

    page = open_page()
    page.clock.install()  # so the minute's refresh can be made to come now
    page.goto("/s/chatgpt/")

    block = page.locator("#official")
    assert block.locator(".official-text").inner_text() == "Major outage"
    assert block.locator(".official-lead").inner_text() == (
        "Downradar saw this 11 minutes before the official status page"
    )
    assert "official-major" in block.get_attribute("class")

    # The official page recovers; the next minute's refresh says so without a reload.
    official_page.state = ("none", _stamp(now + dt.timedelta(minutes=1)))
    OfficialSource.objects.update(next_poll=None)
    assert official_poll(service_id=chatgpt.pk, now=now + dt.timedelta(minutes=1)) == "changed"
    page.clock.fast_forward("01:05")
    page.wait_for_selector("#official.official-ok")
    assert block.locator(".official-text").inner_text() == "Operational"
    assert block.locator(".official-lead").inner_text() == (
        "Downradar saw this 11 minutes before the official status page"
    )
