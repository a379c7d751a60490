"""Merging incidents and excluding a network: what the counts and the incident become."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from outages.baselines import baselines_rebuild
from outages.models import Baseline, DetectionWatermark, Incident, IncidentCity
from outages.public import public_incidents
from outages.review.models import IncidentReview, ReviewAction
from outages.review.selectors import queue_incidents
from outages.watermark import WATERMARK
from reports.aggregation import reports_aggregate_all
from reports.hashing import network_hash_of_prefix
from reports.models import CityMinute, CountryMinute, ProblemMinute, Report, ServiceMinute
from tests.detection_helpers import MINUTE, T0, city
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db

NOW = T0 + dt.timedelta(hours=5)
ABUSER = "93.56.1.0/24"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def milano(db):
    return city("Milano")


@pytest.fixture
def roma(db):
    return city("Roma", lat=41.9, lon=12.5)


# --- merge ----------------------------------------------------------------------------------


def test_merging_an_earlier_incident_folds_its_reports_into_the_later_one(
    reviewer_client, chatgpt, milano, roma
):
    earlier = incident(chatgpt, peak_count=100, excess=200, max_score=6, cities={milano: (40, 30)})
    later = incident(
        chatgpt,
        started_at=T0 + dt.timedelta(hours=3),
        resolved=False,
        peak_count=300,
        excess=500,
        max_score=9,
        problems=[{"code": "login", "count": 100}, {"code": "app", "count": 50}],
        cities={milano: (20, 10), roma: (30, 25)},
    )

    response = reviewer_client.post(
        f"/review/incidents/{earlier.pk}/", {"action": "merge", "merge_into": later.pk, "note": "same outage"}
    )

    assert response.status_code == 302 and response["Location"] == f"/review/incidents/{later.pk}/"
    later.refresh_from_db()
    earlier.refresh_from_db()
    assert (later.started_at, later.resolved_at, later.status) == (T0, None, "suspected")
    assert (later.peak_count, later.excess_reports, later.max_score) == (300, 700, 9)
    assert later.problems == [{"code": "login", "count": 250}, {"code": "app", "count": 50}]
    cities = {
        row.city_id: (row.count, row.excess, row.first_flagged_at)
        for row in IncidentCity.objects.filter(incident=later)
    }
    assert cities == {milano.pk: (60, 40, T0), roma.pk: (30, 25, T0 + dt.timedelta(hours=3))}
    assert earlier.status == "dismissed"
    review = IncidentReview.objects.get(incident=earlier)
    assert (review.merged_into_id, review.dismiss_reason) == (later.pk, "duplicate")
    log = list(
        ReviewAction.objects.values_list("incident_id", "kind", "status_before", "status_after", "details")
    )
    assert log == [
        (earlier.pk, "merge", "suspected", "dismissed", {"merged_into": later.pk}),
        (later.pk, "absorb", "suspected", "suspected", {"merged_from": earlier.pk}),
    ]
    # Gone from the queue and from public pages; it lives on in the later incident.
    assert [i.pk for i in queue_incidents()] == [later.pk]
    assert [i.pk for i in public_incidents(service_id=chatgpt.pk)] == [later.pk]


def test_a_later_incident_cannot_be_merged_into_an_earlier_one(reviewer_client, chatgpt):
    earlier = incident(chatgpt)
    later = incident(chatgpt, started_at=T0 + dt.timedelta(hours=3))

    response = reviewer_client.post(
        f"/review/incidents/{later.pk}/", {"action": "merge", "merge_into": earlier.pk}
    )

    assert response.status_code == 400
    assert "Merge the earlier incident into the later one" in response.content.decode()
    assert Incident.objects.get(pk=later.pk).started_at == T0 + dt.timedelta(hours=3)
    assert not ReviewAction.objects.exists()


def test_incidents_of_different_services_cannot_be_merged(reviewer_client, chatgpt):
    from catalogue.models import Service

    other = Service.objects.exclude(pk=chatgpt.pk).first()
    earlier = incident(chatgpt)
    later = incident(other, started_at=T0 + dt.timedelta(hours=1))

    response = reviewer_client.post(
        f"/review/incidents/{earlier.pk}/", {"action": "merge", "merge_into": later.pk}
    )

    assert response.status_code == 400
    assert Incident.objects.get(pk=earlier.pk).status == "suspected"


# --- exclude network ------------------------------------------------------------------------


def _reports(service, network: str, start: dt.datetime, n: int, *, city=None, source="api", problem="login"):
    Report.objects.bulk_create(
        Report(
            service=service,
            problem=problem,
            created_at=start + (i % 5) * MINUTE + dt.timedelta(seconds=7),
            source=source,
            city=city,
            country_code="IT",
            network_hash=network_hash_of_prefix(network),
        )
        for i in range(n)
    )


@pytest.fixture
def flooded(chatgpt, milano):
    """An incident from T0 for 20 minutes: 30 reports from one /24 in its first five
    minutes, 10 from ten others; one of the flood's reports outside the window."""
    _reports(chatgpt, ABUSER, T0, 30, city=milano)
    for i in range(10):
        _reports(chatgpt, f"2.37.{i}.0/24", T0 + 2 * MINUTE, 1, city=milano, source="web")
    _reports(chatgpt, ABUSER, T0 - dt.timedelta(minutes=10), 1, city=milano)
    reports_aggregate_all()
    DetectionWatermark.objects.update_or_create(
        name=WATERMARK, defaults={"processed_through": T0 + dt.timedelta(minutes=60)}
    )
    return incident(
        chatgpt,
        peak_count=41,
        excess=35,
        problems=[{"code": "login", "count": 40}],
        cities={milano: (40, 34)},
    )


def _window_total(model, service, start=T0, end=T0 + dt.timedelta(minutes=20)) -> int:
    rows = model.objects.filter(service=service, minute__gte=start, minute__lt=end)
    return sum(rows.values_list("count", flat=True))


def test_excluding_a_network_takes_its_reports_out_of_every_count(reviewer_client, chatgpt, flooded, milano):
    # One more report of the flood arrives and is not counted yet.
    _reports(chatgpt, ABUSER, T0 + 3 * MINUTE, 1, city=milano)
    assert _window_total(ServiceMinute, chatgpt) == 40

    response = reviewer_client.post(
        f"/review/incidents/{flooded.pk}/exclude-network/",
        {"prefix": "93.56.1.77", "note": "one /24, all API"},
    )

    assert response.status_code == 302
    assert Report.objects.filter(abusive=True).count() == 31
    for model in (ServiceMinute, CityMinute, CountryMinute, ProblemMinute):
        assert _window_total(model, chatgpt) == 10, model.__name__
    # Outside the incident's window the network still counts.
    assert _window_total(ServiceMinute, chatgpt, T0 - dt.timedelta(minutes=10), T0) == 1
    # The pending report is never counted.
    reports_aggregate_all()
    assert _window_total(ServiceMinute, chatgpt) == 10
    row = ReviewAction.objects.get()
    assert row.kind == "exclude_network" and row.note == "one /24, all API"
    assert row.details == {"network_hash": network_hash_of_prefix(ABUSER), "reports": 31, "uncounted": 30}
    assert ABUSER not in str(row.details)


def test_excluding_a_network_recomputes_the_incident(reviewer_client, chatgpt, flooded, milano):
    reviewer_client.post(f"/review/incidents/{flooded.pk}/exclude-network/", {"prefix": ABUSER})

    flooded.refresh_from_db()
    assert flooded.excess_reports == 5
    assert flooded.problems == [{"code": "login", "count": 10}]
    # The busiest aligned 15-minute bucket now holds the ten honest reports.
    assert (flooded.peak_count, flooded.peak_at) == (10, T0)
    assert IncidentCity.objects.values_list("count", "excess").get() == (10, 4)


def test_the_baseline_never_learns_from_excluded_reports(reviewer_client, chatgpt, flooded):
    reviewer_client.post(f"/review/incidents/{flooded.pk}/exclude-network/", {"prefix": ABUSER})
    # Dismissed as abuse, the window is part of the history the baseline learns from.
    reviewer_client.post(f"/review/incidents/{flooded.pk}/", {"action": "dismiss", "reason": "abuse"})

    baselines_rebuild(service_ids=[chatgpt.pk], now=NOW)

    assert Baseline.objects.get(service=chatgpt, city__isnull=True).history_reports == 11


def test_excluding_twice_changes_nothing_more(reviewer_client, chatgpt, flooded):
    reviewer_client.post(f"/review/incidents/{flooded.pk}/exclude-network/", {"prefix": ABUSER})
    reviewer_client.post(f"/review/incidents/{flooded.pk}/exclude-network/", {"prefix": ABUSER})

    assert _window_total(ServiceMinute, chatgpt) == 10
    assert Incident.objects.get().excess_reports == 5
    assert [row.details["reports"] for row in ReviewAction.objects.all()] == [30, 0]


@pytest.mark.parametrize("prefix", ["93.56.0.0/16", "not an address", "2001:db8::/40", "operator:"])
def test_only_a_level_the_signals_show_can_be_excluded(reviewer_client, flooded, prefix):
    response = reviewer_client.post(f"/review/incidents/{flooded.pk}/exclude-network/", {"prefix": prefix})

    assert response.status_code == 400
    assert not Report.objects.filter(abusive=True).exists()
    assert not ReviewAction.objects.exists()
