"""The official status beside the crowd: polling a service's own status page over real HTTP
(a server on loopback serving Statuspage JSON and an Atom feed), storing its changes, and
showing them, with the lead time, on the page, its JSON and the API alike."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalogue.models import Service
from outages.models import Incident, ServiceStatus
from outages.official.models import OfficialSource, OfficialState
from outages.official.parse import Unreadable, feed_read, statuspage_read
from outages.official.selectors import with_official_first
from outages.official.services import official_poll, official_sources_due
from tests.detection_helpers import MINUTE, T0
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db

State = OfficialState.State


def _summary(indicator: str, updated_at: str) -> bytes:
    return json.dumps(
        {
            "page": {
                "id": "x",
                "name": "ChatGPT",
                "url": "https://status.openai.com",
                "updated_at": updated_at,
            },
            "status": {"indicator": indicator, "description": "whatever"},
            "components": [],
            "incidents": [],
        }
    ).encode()


def _atom(entries: list[tuple[str, str]]) -> bytes:
    items = "".join(
        f"<entry><id>urn:x:{i}</id><title>{title}</title><updated>{when}</updated>"
        f"<summary>{title}</summary></entry>"
        for i, (title, when) in enumerate(entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Status</title><id>urn:x</id><updated>2026-03-10T12:00:00Z</updated>{items}</feed>"
    ).encode()


class _OfficialPage(BaseHTTPRequestHandler):
    """Statuspage JSON with an ETag (304 to a matching If-None-Match), an Atom feed, and the
    misbehaving answers: slow, huge, not JSON, a redirect to a private address."""

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("If-None-Match")))
        if self.path == "/api/v2/summary.json":
            body = server.summary
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._answer(body, "application/json", etag=etag)
        elif self.path == "/history.atom":
            self._answer(server.feed, "application/atom+xml")
        elif self.path == "/slow.json":
            time.sleep(3)
            self._answer(_summary("none", "2026-03-10T12:00:00Z"), "application/json")
        elif self.path == "/huge.json":
            self._answer(b" " * 200_000 + _summary("none", "2026-03-10T12:00:00Z"), "application/json")
        elif self.path == "/bad.json":
            self._answer(b'{"status": {"indicator": "none"', "application/json")
        elif self.path == "/moved.json":
            self.send_response(302)
            self.send_header("Location", "/api/v2/summary.json")
            self.end_headers()
        elif self.path == "/to-private.json":
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/api/v2/summary.json")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def _answer(self, body: bytes, content_type: str, *, etag: str = "") -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client hung up: what the deadline and the cap do

    def log_message(self, *args):
        pass


@pytest.fixture
def official_page(settings) -> Iterator[ThreadingHTTPServer]:
    settings.OFFICIAL_STATUS_ALLOW_LOOPBACK = True
    settings.OFFICIAL_STATUS_DEADLINE_SECONDS = 1
    settings.OFFICIAL_STATUS_MAX_BYTES = 100_000
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OfficialPage)
    server.daemon_threads = True
    server.requests = []
    server.summary = _summary("none", "2026-03-10T09:00:00Z")
    server.feed = _atom([])
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _name_page(service: Service, url: str, format: str = Service.OfficialFormat.STATUSPAGE) -> None:
    service.official_format = format
    service.official_url = url
    service.save()


@pytest.fixture
def polled_chatgpt(chatgpt, official_page):
    _name_page(chatgpt, official_page.url + "/api/v2/summary.json")
    return chatgpt


def _states(service: Service) -> list[tuple[str, dt.datetime]]:
    return list(OfficialState.objects.filter(service=service).values_list("state", "changed_at"))


# --- polling ---------------------------------------------------------------------------------


def test_each_change_of_the_official_state_is_stored_with_the_page_s_own_time(polled_chatgpt, official_page):
    assert official_poll(service_id=polled_chatgpt.pk, now=T0) == "changed"
    official_page.summary = _summary("major", "2026-03-10T12:01:30Z")

    assert official_poll(service_id=polled_chatgpt.pk, now=T0 + 2 * MINUTE) == "changed"

    assert _states(polled_chatgpt) == [
        ("ok", dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)),
        ("major", dt.datetime(2026, 3, 10, 12, 1, 30, tzinfo=dt.UTC)),
    ]
    source = OfficialSource.objects.get(service=polled_chatgpt)
    assert source.current.state == "major" and source.current.seen_at == T0 + 2 * MINUTE
    assert (source.failures, source.problem, source.last_error) == (0, "", "")


def test_a_change_is_never_dated_before_the_last_poll_that_saw_the_old_state(polled_chatgpt, official_page):
    official_poll(service_id=polled_chatgpt.pk, now=T0)
    # The page changed state but kept an old updated_at.
    official_page.summary = _summary("minor", "2026-03-10T09:00:00Z")

    official_poll(service_id=polled_chatgpt.pk, now=T0 + 2 * MINUTE)

    assert _states(polled_chatgpt)[-1] == ("minor", T0)


def test_an_unchanged_page_is_asked_with_its_etag_and_answers_304(polled_chatgpt, official_page):
    official_poll(service_id=polled_chatgpt.pk, now=T0)
    etag = OfficialSource.objects.get(service=polled_chatgpt).etag

    outcome = official_poll(service_id=polled_chatgpt.pk, now=T0 + MINUTE)

    assert outcome == "unchanged"
    assert official_page.requests == [("/api/v2/summary.json", None), ("/api/v2/summary.json", etag)]
    assert etag and len(_states(polled_chatgpt)) == 1
    assert OfficialSource.objects.get(service=polled_chatgpt).checked_at == T0 + MINUTE


def test_a_page_is_polled_at_most_once_a_minute(polled_chatgpt, official_page):
    official_poll(service_id=polled_chatgpt.pk, now=T0)

    assert official_poll(service_id=polled_chatgpt.pk, now=T0 + dt.timedelta(seconds=59)) == "skipped"
    assert official_sources_due(now=T0 + dt.timedelta(seconds=59)) == []
    assert official_sources_due(now=T0 + MINUTE) == [polled_chatgpt.pk]
    assert len(official_page.requests) == 1


def test_a_redirect_on_the_same_public_rules_is_followed(chatgpt, official_page):
    _name_page(chatgpt, official_page.url + "/moved.json")

    assert official_poll(service_id=chatgpt.pk, now=T0) == "changed"
    assert [path for path, _ in official_page.requests] == ["/moved.json", "/api/v2/summary.json"]


def test_a_slow_page_is_cut_at_the_deadline_and_backs_off(chatgpt, official_page):
    _name_page(chatgpt, official_page.url + "/slow.json")

    started = time.monotonic()
    outcome = official_poll(service_id=chatgpt.pk, now=T0)
    took = time.monotonic() - started

    assert outcome == "unreachable" and took < 2
    source = OfficialSource.objects.get(service=chatgpt)
    assert source.last_error == "status page too slow: no complete answer in 1 s"
    assert (source.failures, source.next_poll) == (1, T0 + MINUTE)
    # Each failure in a row doubles the wait.
    official_poll(service_id=chatgpt.pk, now=T0 + MINUTE)
    source.refresh_from_db()
    assert (source.failures, source.next_poll) == (2, T0 + 3 * MINUTE)


def test_a_huge_page_is_not_read_past_the_cap(chatgpt, official_page):
    _name_page(chatgpt, official_page.url + "/huge.json")

    assert official_poll(service_id=chatgpt.pk, now=T0) == "unreadable"

    source = OfficialSource.objects.get(service=chatgpt)
    assert source.last_error == "status page larger than 100000 bytes"
    assert not OfficialState.objects.exists()


def test_bad_json_is_unreadable_and_keeps_the_last_state(polled_chatgpt, official_page):
    official_poll(service_id=polled_chatgpt.pk, now=T0)
    _name_page(polled_chatgpt, official_page.url + "/bad.json")

    assert official_poll(service_id=polled_chatgpt.pk, now=T0 + MINUTE) == "unreadable"

    source = OfficialSource.objects.select_related("current").get(service=polled_chatgpt)
    assert source.problem == "unreadable" and source.last_error.startswith("status page unreadable: not JSON")
    assert source.current.state == "ok" and source.url.endswith("/bad.json") and source.etag == ""


def test_a_redirect_to_a_private_address_is_refused(chatgpt, official_page):
    _name_page(chatgpt, official_page.url + "/to-private.json")

    assert official_poll(service_id=chatgpt.pk, now=T0) == "unreachable"

    source = OfficialSource.objects.get(service=chatgpt)
    assert source.last_error == "status page host 10.0.0.1 resolves to a non-public address"
    assert [path for path, _ in official_page.requests] == ["/to-private.json"]


def test_a_page_on_loopback_is_refused_unless_allowed(polled_chatgpt, official_page, settings):
    settings.OFFICIAL_STATUS_ALLOW_LOOPBACK = False

    assert official_poll(service_id=polled_chatgpt.pk, now=T0) == "unreachable"

    assert "non-public address" in OfficialSource.objects.get(service=polled_chatgpt).last_error
    assert official_page.requests == []


def test_an_incident_feed_is_read_open_then_resolved(chatgpt, official_page):
    _name_page(chatgpt, official_page.url + "/history.atom", Service.OfficialFormat.FEED)
    official_page.feed = _atom(
        [("Elevated error rates", "2026-03-10T12:04:00Z"), ("Resolved: login issue", "2026-03-09T08:00:00Z")]
    )
    official_poll(service_id=chatgpt.pk, now=T0 + 5 * MINUTE)
    official_page.feed = _atom([("Resolved: elevated error rates", "2026-03-10T12:40:00Z")])

    official_poll(service_id=chatgpt.pk, now=T0 + 41 * MINUTE)

    assert _states(chatgpt) == [("incident", T0 + 4 * MINUTE), ("ok", T0 + 40 * MINUTE)]


@pytest.mark.parametrize(
    ("body", "state"),
    [
        (_summary("none", "2026-03-10T12:00:00.000-07:00"), "ok"),
        (_summary("minor", "2026-03-10T12:00:00Z"), "minor"),
        (_summary("critical", "2026-03-10T12:00:00Z"), "critical"),
        (_summary("maintenance", "nonsense"), "maintenance"),
    ],
)
def test_statuspage_indicators_read_as_states(body, state):
    assert statuspage_read(body).state == state


@pytest.mark.parametrize("body", [b"<html><body>Status</body></html>", b"", b'{"status": "fine"}'])
def test_a_page_that_is_not_its_format_is_unreadable(body):
    with pytest.raises(Unreadable):
        statuspage_read(body)
    if body.startswith(b"<html") or not body:
        with pytest.raises(Unreadable):
            feed_read(body, now=T0)


def test_a_stale_feed_entry_that_never_says_resolved_is_not_an_open_incident():
    reading = feed_read(_atom([("Degraded performance", "2026-03-08T12:00:00Z")]), now=T0)
    assert reading.state == "ok"


# --- what the pages and the API show ---------------------------------------------------------


def _official_at(service: Service, *changes: tuple[str, dt.datetime]) -> None:
    """A source whose history holds these changes, the last one in force."""
    rows = [
        OfficialState.objects.create(service=service, state=s, changed_at=at, seen_at=at) for s, at in changes
    ]
    OfficialSource.objects.update_or_create(
        service=service, defaults={"url": service.official_url, "current": rows[-1]}
    )


@pytest.fixture
def outage_with_official(chatgpt, settings):
    """ChatGPT down since T0 (an open incident behind its status); its official page went
    red 11 minutes later."""
    _name_page(chatgpt, "https://status.example.org/api/v2/summary.json")
    opened = incident(chatgpt, started_at=T0, resolved=False)
    ServiceStatus.objects.create(
        service=chatgpt,
        status="outage",
        reason="incident_open",
        incident=opened,
        count=400,
        baseline=60.0,
        minute=T0 + 20 * MINUTE,
    )
    _official_at(chatgpt, ("ok", T0 - dt.timedelta(days=2)), ("major", T0 + 11 * MINUTE))
    return opened


def _page_block(html: str) -> dict[str, str]:
    found = {}
    for name in ("text", "since", "lead", "record"):
        match = re.search(rf'class="official-{name}[^"]*"[^>]*>([^<]*)<', html)
        found[name] = match.group(1).strip() if match else ""
    return found


def test_page_json_and_api_show_the_same_official_status_and_lead(client, outage_with_official, time_machine):
    time_machine.move_to(T0 + 30 * MINUTE, tick=False)

    page = _page_block(client.get("/s/chatgpt/").content.decode())
    data = client.get("/s/chatgpt/data.json").json()["official"]
    detail = client.get("/api/v1/services/chatgpt/").json()["official"]
    [listed] = [row["official"] for row in client.get("/api/v1/services/").json() if row["slug"] == "chatgpt"]

    assert data == detail
    assert {
        key: listed[key] for key in ("state", "problem", "text", "changed_at", "changed_text", "url")
    } == {key: data[key] for key in ("state", "problem", "text", "changed_at", "changed_text", "url")}
    assert page == {
        "text": data["text"],
        "since": data["changed_text"],
        "lead": data["lead_text"],
        "record": data["record"]["text"],
    }
    assert data["state"] == "major" and data["changed_at"] == "2026-03-10T12:11:00Z"
    assert data["changed_text"] == "since 13:11 CET"
    assert data["lead_minutes"] == 11
    assert data["lead_text"] == "Downradar saw this 11 minutes before the official status page"


def test_the_incident_page_and_api_give_the_lead_time(client, outage_with_official):
    html = client.get(f"/incidents/{outage_with_official.pk}/").content.decode()
    [row] = client.get("/api/v1/incidents/").json()

    assert "Downradar saw this 11 minutes before the official status page" in html
    assert row["official_lead_minutes"] == 11


def test_the_service_page_keeps_a_running_record_of_lead_times(client, chatgpt, time_machine):
    _name_page(chatgpt, "https://status.example.org/api/v2/summary.json")
    changes = [("ok", T0 - dt.timedelta(days=30))]
    # Four past incidents: Downradar first by 12, 20 and 5 minutes, the official page first
    # by 3; a fifth the official page never marked is not compared.
    for day, lead in enumerate([12, 20, -3, 5, None], start=1):
        started = T0 - dt.timedelta(days=day)
        incident(chatgpt, started_at=started, minutes=60)
        if lead is not None:
            changes += [("major", started + lead * MINUTE), ("ok", started + 70 * MINUTE)]
    # A dismissed incident is not public and not counted.
    dismissed = incident(chatgpt, started_at=T0 - dt.timedelta(days=6), status=Incident.Status.DISMISSED)
    changes += [("major", dismissed.started_at + MINUTE), ("ok", dismissed.started_at + 70 * MINUTE)]
    _official_at(chatgpt, *sorted(changes, key=lambda change: change[1]))
    time_machine.move_to(T0, tick=False)

    record = client.get("/s/chatgpt/data.json").json()["official"]["record"]

    assert record == {
        "compared": 4,
        "earlier": 3,
        "median_minutes": 12,
        "text": "Earlier than the official status page in 3 of 4 incidents, by a median of 12 minutes",
    }
    assert record["text"] in client.get("/s/chatgpt/").content.decode()


def test_an_unreadable_official_page_is_one_word_and_the_page_still_works(client, chatgpt, official_page):
    _name_page(chatgpt, official_page.url + "/bad.json")
    official_poll(service_id=chatgpt.pk, now=T0)

    response = client.get("/s/chatgpt/")

    assert response.status_code == 200
    assert _page_block(response.content.decode())["text"] == "unreadable"
    assert client.get("/api/v1/services/chatgpt/").json()["official"]["problem"] == "unreadable"
    assert "report" in response.content.decode()  # the rest of the page is there


def test_a_service_without_an_official_page_shows_no_block(client, chatgpt):
    assert 'id="official"' not in client.get("/s/chatgpt/").content.decode()
    assert client.get("/api/v1/services/chatgpt/").json()["official"] is None
    assert client.get("/s/chatgpt/data.json").json()["official"] is None


def test_the_official_status_costs_the_api_one_query_for_the_record_and_none_in_lists(
    client, outage_with_official, django_assert_num_queries
):
    # tests/test_status_api.py pins these without an official page: the services list at 1
    # (its states come in the same JOIN) and the detail at 6, plus the record's one query.
    with django_assert_num_queries(1):
        client.get("/api/v1/services/")
    with django_assert_num_queries(7):
        client.get("/api/v1/services/chatgpt/")
    with django_assert_num_queries(4):  # incidents_list's four: the lead is in the first
        client.get("/api/v1/incidents/")


def test_beat_s_task_queues_one_poll_per_due_page_and_the_poll_reads_it(polled_chatgpt, official_page):
    from outages.official.tasks import official_poll_due
    from tests.outbox_helpers import eager_celery

    with eager_celery():
        assert official_poll_due.delay().get() == 1

    assert _states(polled_chatgpt) == [("ok", dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))]
    assert official_page.requests == [("/api/v2/summary.json", None)]


def test_an_admin_names_the_official_page_on_the_service_and_sees_how_polling_goes(
    client, outage_with_official, django_user_model
):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.org", "x" * 12)
    client.force_login(admin)

    form = client.get(f"/admin/catalogue/service/{outage_with_official.service_id}/change/")
    sources = client.get("/admin/outages/officialsource/")

    assert (
        'name="official_format"' in form.content.decode() and 'name="official_url"' in form.content.decode()
    )
    assert sources.status_code == 200 and "major" in sources.content.decode()


# --- the demo: the crowd process serves ChatGPT's official page ------------------------------


def test_the_demo_s_official_page_turns_red_some_minutes_after_the_crowd_and_green_when_it_ends():
    from simulator.demo import CYCLE, OFFICIAL_DELAY, DemoSchedule, official_indicator

    schedule = DemoSchedule(anchor=T0)
    [outage] = [i for i in schedule.incidents(T0 - dt.timedelta(hours=1), T0) if i.service == "chatgpt"]

    assert official_indicator(schedule, outage.start + OFFICIAL_DELAY - MINUTE)[0] == "none"
    assert official_indicator(schedule, outage.start + OFFICIAL_DELAY) == (
        "major",
        outage.start + OFFICIAL_DELAY,
    )
    assert official_indicator(schedule, outage.end) == ("none", outage.end)
    # The next cycle's outage turns it red again, as long after its own start.
    later = outage.start + CYCLE + OFFICIAL_DELAY
    assert official_indicator(schedule, later) == ("major", later)


def test_the_crowd_s_official_page_is_polled_and_gives_the_demo_its_lead_time(chatgpt, settings):
    from simulator.demo import OFFICIAL_DELAY, DemoSchedule, official_indicator
    from simulator.official_page import official_page_serve, official_page_url

    settings.OFFICIAL_STATUS_ALLOW_LOOPBACK = True
    schedule = DemoSchedule(anchor=T0)
    [outage] = [i for i in schedule.incidents(T0 - dt.timedelta(hours=1), T0) if i.service == "chatgpt"]
    now = outage.start + 20 * MINUTE
    server = official_page_serve(
        host="127.0.0.1", port=0, name="ChatGPT", state=lambda: official_indicator(schedule, now)
    )
    try:
        _name_page(chatgpt, official_page_url(server.server_address[1]))
        official_poll(service_id=chatgpt.pk, now=now)
    finally:
        server.shutdown()
        server.server_close()
    crowd = incident(chatgpt, started_at=outage.start, resolved=False)

    assert _states(chatgpt) == [("major", outage.start + OFFICIAL_DELAY)]
    assert with_official_first(Incident.objects.filter(pk=crowd.pk)).get().official_lead_minutes == 12
