"""The status API: shapes, errors, and a fixed number of queries per endpoint."""

from __future__ import annotations

import datetime as dt

import pytest

from catalogue.models import Service
from geo.models import City
from outages.detection_pass import detection_run_range
from outages.models import Incident, IncidentCity, IncidentEscalation, IncidentReopening, ServiceStatus
from tests.detection_helpers import MINUTE, T0, city, flat_baseline, put_counts

pytestmark = pytest.mark.django_db

NOW = T0 + 10 * MINUTE + dt.timedelta(seconds=30)


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def outage(chatgpt):
    """ChatGPT at 4 a minute for two hours, then 40 a minute from T0, mostly from Milan."""
    milan = city("Milan", name_it="Milano", lat=45.46, lon=9.19)
    rome = city("Rome", name_it="Roma", lat=41.89, lon=12.48)
    flat_baseline(chatgpt, per_minute=4)
    flat_baseline(chatgpt, per_minute=2, city=milan)
    start = T0 - dt.timedelta(hours=2)
    put_counts(chatgpt, start, 120, 4)
    put_counts(chatgpt, start, 120, 2, city=milan)
    put_counts(chatgpt, T0, 11, 40)
    put_counts(chatgpt, T0, 11, 30, city=milan)
    put_counts(chatgpt, T0, 11, 1, city=rome)
    detection_run_range(start=T0 - 30 * MINUTE, end=T0 + 9 * MINUTE)
    return chatgpt


def test_the_service_list_shows_each_service_s_status(client, outage, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/api/v1/services/")

    assert response.status_code == 200
    rows = {row["slug"]: row for row in response.json()}
    assert len(rows) == Service.objects.active().count()
    assert rows["chatgpt"]["status"] == "outage"
    assert rows["chatgpt"]["count"] == 10 * 40  # the quarter-hour from T0 (12:00), up to T0+9
    assert rows["chatgpt"]["baseline"] == 40.0  # 4 a minute over the same 10 minutes
    assert moment(rows["chatgpt"]["updated_at"]) == T0 + 9 * MINUTE
    assert rows["sora"] == {
        "slug": "sora",
        "name": "Sora",
        "category": "AI",
        "country": "",
        "status": "ok",
        "status_reason": "normal",
        "since": None,
        "score": 0.0,
        "count": 0,
        "baseline": None,
        "updated_at": None,
        "operator": None,
        "official": None,
    }


def test_a_service_shows_status_problems_cities_and_its_open_incident(
    client, outage, django_assert_num_queries
):
    # The incident comes with the status row (one join), not from a query of its own.
    with django_assert_num_queries(6):
        response = client.get("/api/v1/services/chatgpt/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "outage"
    assert body["problems"] == [
        {"code": "login", "label": "Login", "count": 120 * 4 + 11 * 40, "percent": 100}
    ]
    assert [row["city_local"] for row in body["cities"]] == ["Milano", "Roma"]
    incident = Incident.objects.get()
    assert body["status_reason"] == "spike"
    assert moment(body["since"]) == incident.started_at
    assert body["incident"]["id"] == incident.pk
    assert (body["incident"]["status"], body["incident"]["ongoing"], body["incident"]["resolved_at"]) == (
        "suspected",
        True,
        None,
    )


def test_the_timeseries_has_buckets_with_count_baseline_and_upper(client, outage, django_assert_num_queries):
    with django_assert_num_queries(3):
        response = client.get("/api/v1/services/chatgpt/timeseries/?hours=2&bucket=15")

    assert response.status_code == 200
    buckets = response.json()
    assert len(buckets) == 8
    assert moment(buckets[-1]["start"]) == T0
    assert buckets[-1]["count"] == 11 * 40
    assert moment(buckets[-2]["start"]) == T0 - 15 * MINUTE
    assert (buckets[-2]["count"], buckets[-2]["baseline"]) == (60, 60.0)
    assert 60 + 8 <= buckets[-2]["upper"] < 11 * 40


def test_the_timeseries_of_a_service_without_history_has_no_baseline(client, chatgpt):
    response = client.get("/api/v1/services/sora/timeseries/?hours=1&bucket=60")

    [bucket] = response.json()
    assert moment(bucket.pop("start")) == T0
    assert bucket == {"count": 0, "baseline": None, "upper": None}


def test_cities_are_listed_most_affected_first_with_local_names(client, outage, django_assert_num_queries):
    milan = City.objects.get(name_en="Milan")
    for day in range(1, 8):  # Milan's usual: 2 a minute at this time on each of the last 7 days
        put_counts(outage, T0 - dt.timedelta(days=day), 11, 2, city=milan)
    # The service, the cities' counts and their usual (outages.cities).
    with django_assert_num_queries(3):
        response = client.get("/api/v1/services/chatgpt/cities/?minutes=10")

    assert response.status_code == 200
    milan, rome = response.json()
    assert milan == {
        "city": "Milan",
        "city_local": "Milano",
        "country": "IT",
        "lat": 45.46,
        "lon": 9.19,
        "count": 300,
        "baseline": 20.0,
        "ratio": 15.0,
    }
    assert (rome["city_local"], rome["count"]) == ("Roma", 10)
    # No history: read against one report, not an infinite ratio.
    assert (rome["baseline"], rome["ratio"]) == (0.0, 10.0)


def test_incidents_are_listed_with_their_cities_ranked(client, outage, django_assert_num_queries):
    naples = city("Naples", name_it="Napoli")
    incident = Incident.objects.get()
    IncidentCity.objects.create(incident=incident, city=naples, count=5, excess=1.5, first_flagged_at=T0)
    # The incidents, their cities, their escalations and their re-openings, whatever their number.
    with django_assert_num_queries(5):
        response = client.get("/api/v1/incidents/?service=chatgpt&status=suspected")

    assert response.status_code == 200
    [row] = response.json()
    assert set(row) >= {
        "id",
        "service",
        "status",
        "started_at",
        "resolved_at",
        "peak_count",
        "peak_at",
        "cities",
    }
    assert (row["service"], row["status"], row["resolved_at"]) == ("chatgpt", "suspected", None)
    assert (row["peak_count"], moment(row["peak_at"])) == (400, T0)
    assert [c["city_local"] for c in row["cities"] if c["city_local"] != "Roma"] == ["Milano", "Napoli"]


def test_the_incident_list_runs_four_queries_however_many_incidents(
    client, outage, django_assert_num_queries
):
    first = Incident.objects.get()
    for hours in range(1, 6):
        copy = Incident.objects.get(pk=first.pk)
        copy.pk = None
        copy.started_at = first.started_at - dt.timedelta(hours=hours)
        copy.save()
        IncidentCity.objects.create(incident=copy, city=city(f"Town {hours}"), count=1, first_flagged_at=T0)
        IncidentEscalation.objects.create(
            incident=copy,
            at=copy.started_at + dt.timedelta(minutes=40),
            count=90,
            baseline=5.0,
            previous_peak=40,
        )
        IncidentReopening.objects.create(
            incident=copy, at=copy.started_at + dt.timedelta(minutes=50), resolved_at=copy.started_at
        )

    # The incidents, their cities, their escalations, their re-openings.
    with django_assert_num_queries(4):
        response = client.get("/api/v1/incidents/")

    assert len(response.json()) == 6
    assert [len(row["reopenings"]) for row in response.json()] == [0, 1, 1, 1, 1, 1]
    assert ServiceStatus.objects.world().exists()


def test_the_incident_list_hides_dismissed_and_merged_incidents_and_filters_on_ongoing(client, outage):
    ongoing = Incident.objects.get()
    resolved = Incident.objects.create(
        service=ongoing.service,
        status=Incident.Status.CONFIRMED,
        started_at=T0 - dt.timedelta(hours=3),
        last_spike_at=T0 - dt.timedelta(hours=3),
        last_elevated_at=T0 - dt.timedelta(hours=3),
        resolved_at=T0 - dt.timedelta(hours=2),
        peak_at=T0 - dt.timedelta(hours=3),
    )
    Incident.objects.create(
        service=ongoing.service,
        status=Incident.Status.DISMISSED,
        started_at=T0 - dt.timedelta(hours=5),
        last_spike_at=T0 - dt.timedelta(hours=5),
        last_elevated_at=T0 - dt.timedelta(hours=5),
        peak_at=T0 - dt.timedelta(hours=5),
    )

    def listed(query: str) -> list[tuple]:
        response = client.get(f"/api/v1/incidents/{query}")
        assert response.status_code == 200
        return [(row["id"], row["status"], row["ongoing"]) for row in response.json()]

    assert listed("") == [(ongoing.pk, "suspected", True), (resolved.pk, "confirmed", False)]
    assert listed("?ongoing=true") == [(ongoing.pk, "suspected", True)]
    assert listed("?ongoing=false&status=confirmed") == [(resolved.pk, "confirmed", False)]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/services/chatgpt/timeseries/?hours=0", "hours"),
        ("/api/v1/services/chatgpt/timeseries/?hours=abc", "hours"),
        ("/api/v1/services/chatgpt/timeseries/?bucket=7", "bucket"),
        ("/api/v1/services/chatgpt/timeseries/?hour=24", "hour"),
        ("/api/v1/services/chatgpt/cities/?minutes=99999", "minutes"),
        ("/api/v1/incidents/?status=open", "status"),
        ("/api/v1/incidents/?service=nope", "service"),
        ("/api/v1/incidents/?limit=-1", "limit"),
        ("/api/v1/incidents/?status=dismissed", "status"),
        ("/api/v1/incidents/?ongoing=maybe", "ongoing"),
    ],
)
def test_bad_query_parameters_answer_400_naming_the_field(client, chatgpt, url, field):
    response = client.get(url)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert field in body["fields"]


@pytest.mark.parametrize("suffix", ["", "timeseries/", "cities/"])
def test_an_unknown_service_answers_404_in_json(client, db, suffix):
    response = client.get(f"/api/v1/services/nope/{suffix}")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_writes_are_refused_in_json(client, chatgpt):
    response = client.post("/api/v1/services/", {}, content_type="application/json")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_the_status_endpoints_are_in_the_openapi_schema(client, db):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    for path in [
        "/api/v1/services/",
        "/api/v1/services/{slug}/",
        "/api/v1/services/{slug}/timeseries/",
        "/api/v1/services/{slug}/cities/",
        "/api/v1/incidents/",
    ]:
        assert "get" in paths[path]
    parameters = {p["name"] for p in paths["/api/v1/services/{slug}/timeseries/"]["get"]["parameters"]}
    assert {"hours", "bucket"} <= parameters
