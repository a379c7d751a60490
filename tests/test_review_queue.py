"""The review queue: order, chart, facts, manipulation signals, filters, fixed queries."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalogue.models import Service
from outages.review.selectors import queue_items
from reports.hashing import network_hash_of_prefix
from reports.models import Report
from tests.detection_helpers import MINUTE, T0, city, flat_baseline, put_counts
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db

NOW = T0 + dt.timedelta(hours=6)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _report(service, network: str, at: dt.datetime, *, source: str = "web", n: int = 1) -> None:
    Report.objects.bulk_create(
        Report(
            service=service,
            problem="login",
            created_at=at,
            source=source,
            country_code="IT",
            network_hash=network_hash_of_prefix(network),
            is_aggregated=True,
        )
        for _ in range(n)
    )


def _services(n: int) -> list[Service]:
    return list(Service.objects.order_by("pk")[:n])


def test_ongoing_incidents_come_first_then_those_waiting_then_the_newest(reviewer_client, chatgpt):
    other, third = _services(3)[1:]
    resolved_waiting = incident(chatgpt, started_at=T0 + dt.timedelta(hours=3), excess=900)
    ongoing_confirmed = incident(other, resolved=False, status="confirmed", excess=50)
    ongoing_waiting = incident(chatgpt, started_at=T0 + dt.timedelta(hours=4), resolved=False, excess=50)
    resolved_confirmed = incident(third, started_at=T0 + dt.timedelta(hours=5), status="confirmed")
    # A dismissed rise that goes on is no news: it sorts with the finished ones.
    ongoing_dismissed = incident(
        third, started_at=T0 + dt.timedelta(hours=1), resolved=False, status="dismissed"
    )
    older_waiting = incident(other, started_at=T0 + dt.timedelta(hours=2))

    page = reviewer_client.get("/review/").content.decode()

    order = [
        ongoing_waiting,
        ongoing_confirmed,
        resolved_waiting,
        older_waiting,
        resolved_confirmed,
        ongoing_dismissed,
    ]
    positions = [page.index(f'id="incident-{item.pk}"') for item in order]
    assert positions == sorted(positions)


def test_each_incident_shows_a_chart_against_the_baseline_and_its_facts(reviewer_client, chatgpt):
    milano = city("Milano")
    flat_baseline(chatgpt, per_minute=4)
    put_counts(chatgpt, T0 - dt.timedelta(hours=1), 60, 4)
    put_counts(chatgpt, T0, 20, 40)
    incident(chatgpt, peak_count=600, excess=720, cities={milano: (300, 250)})

    page = reviewer_client.get("/review/").content.decode()

    assert '<svg class="sparkline"' in page
    assert 'class="spark-baseline"' in page and 'class="spark-count"' in page
    assert "600 reports in 15 min" in page
    assert "720 reports above usual" in page
    assert "20 min" in page
    assert "Milano (300)" in page
    assert "Login (150)" in page  # the problem's name, not its code
    assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]


def test_the_signals_show_a_flood_from_few_new_networks(chatgpt):
    flagged = incident(chatgpt)
    _report(chatgpt, "93.56.1.0/24", T0 + MINUTE, source="api", n=12)
    for i in range(4):
        _report(chatgpt, f"2.37.{i}.0/24", T0 + 2 * MINUTE)
    # One of those networks reported this service two days earlier: not new.
    _report(chatgpt, "2.37.0.0/24", T0 - dt.timedelta(days=2))
    # Outside the window, and a report that was never counted: both ignored.
    _report(chatgpt, "2.37.9.0/24", T0 + dt.timedelta(hours=1))
    Report.objects.create(
        service=chatgpt,
        problem="login",
        created_at=T0 + MINUTE,
        source="web",
        network_hash=network_hash_of_prefix("5.5.5.0/24"),
        counted=False,
        is_aggregated=True,
    )

    [item] = queue_items([flagged], now=NOW)

    signals = item.signals
    assert (signals.reports, signals.networks) == (16, 5)
    assert signals.top3_share == pytest.approx(14 / 16)
    assert signals.api_share == pytest.approx(12 / 16)
    assert signals.new_network_share == pytest.approx(15 / 16)
    assert signals.top_networks[0] == (network_hash_of_prefix("93.56.1.0/24")[:8], 12, True)


def test_api_and_new_network_shares_are_flagged_only_above_the_services_usual(chatgpt):
    # An incident from new networks, 80% through the API.
    flagged = incident(chatgpt)
    for i in range(10):
        _report(chatgpt, f"2.38.{i}.0/24", T0 + MINUTE, source="api" if i < 8 else "web")
    [item] = queue_items([flagged], now=NOW)
    assert (item.signals.api_flag, item.signals.new_networks_flag) == (True, True)
    assert item.signals.usual_api_share is None  # no ordinary traffic the day before: fixed levels

    # The same service's ordinary day: its people report through its app (the API) and from
    # networks that never reported before, as most people do. The same incident is ordinary.
    for i in range(40):
        _report(chatgpt, f"5.90.{i}.0/24", T0 - dt.timedelta(hours=3), source="api" if i < 30 else "web")
    [item] = queue_items([flagged], now=NOW)
    assert item.signals.usual_api_share == pytest.approx(0.75)
    assert item.signals.usual_new_network_share == pytest.approx(1.0)
    assert (item.signals.api_flag, item.signals.new_networks_flag) == (False, False)


def test_an_api_only_flood_is_flagged_against_a_service_whose_people_use_the_form(reviewer_client, chatgpt):
    # The service's ordinary day: three in four reports through the web form.
    for i in range(40):
        _report(chatgpt, f"5.90.{i}.0/24", T0 - dt.timedelta(hours=3), source="web" if i % 4 else "api")
    # A flood through the API alone, from networks that reported the day before.
    flood = incident(chatgpt)
    for i in range(10):
        _report(chatgpt, f"5.90.{i}.0/24", T0 + MINUTE, source="api", n=6)

    [item] = queue_items([flood], now=NOW)

    assert item.signals.usual_api_share == pytest.approx(0.25)
    assert item.signals.api_share == 1.0
    assert (item.signals.api_flag, item.signals.new_networks_flag) == (True, False)
    assert '<dd class="flag">100% API</dd>' in reviewer_client.get("/review/").content.decode()


def test_other_services_spiking_at_the_same_moment_are_named(reviewer_client, chatgpt):
    others = [s for s in _services(4) if s.pk != chatgpt.pk]
    flagged = incident(chatgpt)
    incident(others[0], started_at=T0 + 5 * MINUTE)
    incident(others[1], started_at=T0 + dt.timedelta(hours=1))  # too late to be related
    incident(others[2], started_at=T0 - 3 * MINUTE, status="dismissed")  # dismissed: not a spike

    [item] = queue_items([flagged], now=NOW)

    assert item.together == [(others[0].name, "Suspected")]


def test_the_queue_filters_by_service_status_and_day(reviewer_client, chatgpt):
    other = next(s for s in _services(2) if s.pk != chatgpt.pk)
    mine = incident(chatgpt)
    theirs = incident(other, started_at=T0 + 5 * MINUTE, status="confirmed")
    yesterday = incident(chatgpt, started_at=T0 - dt.timedelta(days=1))

    def shown(query: str) -> set[int]:
        page = reviewer_client.get(f"/review/?{query}").content.decode()
        return {pk for pk in (mine.pk, theirs.pk, yesterday.pk) if f'id="incident-{pk}"' in page}

    assert shown("") == {mine.pk, theirs.pk, yesterday.pk}
    assert shown(f"service={chatgpt.pk}") == {mine.pk, yesterday.pk}
    assert shown("status=confirmed") == {theirs.pk}
    assert shown(f"day={T0.date().isoformat()}") == {mine.pk, theirs.pk}


def _queue_queries(client) -> int:
    cache.clear()  # each count starts cold
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/review/").status_code == 200
    return len(queries)


def _busy_incidents(services: list[Service], *, first: int = 0) -> None:
    for i, service in enumerate(services, start=first):
        start = T0 + i * 7 * MINUTE
        flat_baseline(service, per_minute=2)
        put_counts(service, start - dt.timedelta(hours=1), 90, 3)
        _report(service, f"93.56.{i}.0/24", start + MINUTE, source="api", n=3)
        _report(service, f"93.56.{i}.0/24", start - dt.timedelta(days=1))
        incident(service, started_at=start, cities={city(f"City {i}"): (10, 8)})


def test_the_queue_takes_a_fixed_number_of_queries_whatever_it_shows(reviewer_client):
    services = _services(6)
    _busy_incidents(services[:2])
    two = _queue_queries(reviewer_client)
    _busy_incidents(services[2:], first=2)
    six = _queue_queries(reviewer_client)

    # session, user, whether the user has a second factor (config.two_factor), permissions (2),
    # services for the filter, count, page, cities, minute counts, baselines, network signals,
    # usual operator mix, the day before's reports (the usual shares), network newness,
    # incidents nearby, the services' problem names, and the countries of the selector.
    assert two == six == 18
