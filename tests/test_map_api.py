from __future__ import annotations

import datetime as dt

import pytest
import yaml
from django.core.cache import cache

from outages.api_map import MAP_CACHE_SECONDS
from outages.models import Service
from tests.pages_data import add_reports, outage_now, usual_week

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 31, 15, 0, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def features(client, query: str = "", language: str = "en") -> dict[str, dict]:
    response = client.get(f"/api/v1/map/{query}", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return {feature["properties"]["city"]: feature for feature in body["features"]}


def test_map_gives_each_city_as_a_geojson_point_with_its_count(client, chatgpt):
    outage_now(chatgpt, now=NOW)

    cities = features(client, "?service=chatgpt&minutes=60")

    assert list(cities) == ["Milan", "Rome", "Naples", "Bologna"]
    milan = cities["Milan"]
    assert milan["geometry"] == {"type": "Point", "coordinates": [9.1895, 45.4643]}
    assert milan["properties"]["count"] == 240
    assert milan["properties"]["services"] == [{"slug": "chatgpt", "name": "ChatGPT", "count": 240}]


def test_a_city_is_hot_when_unusual_for_itself_not_when_big(client, chatgpt):
    # Milan is big and as busy as usual; Bologna is small and ten times its usual.
    usual_week(chatgpt, now=NOW, cities={"Milan": 100, "Bologna": 2})
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=10), cities={"Milan": 100, "Bologna": 20})

    cities = features(client, "?service=chatgpt&minutes=60")

    assert cities["Milan"]["properties"]["baseline"] == 100.0
    assert cities["Milan"]["properties"]["ratio"] == 1.0
    assert cities["Bologna"]["properties"]["ratio"] == 10.0


def test_a_city_without_history_gets_a_floor_not_an_infinite_ratio(client, chatgpt):
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=10), cities={"Turin": 1})

    turin = features(client, "?service=chatgpt&minutes=60")["Turin"]["properties"]

    assert turin["baseline"] == 0.5 and turin["ratio"] == 2.0


def test_all_services_adds_them_up_and_lists_each_city_s_services(client, chatgpt):
    sora = Service.objects.get(slug="sora")
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=10), cities={"Milan": 30})
    add_reports(sora, at=NOW - dt.timedelta(minutes=10), cities={"Milan": 12, "Rome": 4})

    cities = features(client, "?minutes=60")

    milan = cities["Milan"]["properties"]
    assert milan["count"] == 42
    assert [row["slug"] for row in milan["services"]] == ["chatgpt", "sora"]
    assert features(client, "?service=sora")["Milan"]["properties"]["count"] == 12


def test_the_window_chooses_which_reports_count(client, chatgpt):
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=30), cities={"Rome": 1})
    add_reports(chatgpt, at=NOW - dt.timedelta(hours=5), cities={"Rome": 2})
    add_reports(chatgpt, at=NOW - dt.timedelta(hours=20), cities={"Rome": 4})

    counts = [features(client, f"?minutes={m}")["Rome"]["properties"]["count"] for m in (60, 360, 1440)]

    assert counts == [1, 3, 7]


def test_city_names_follow_the_request_language(client, chatgpt):
    outage_now(chatgpt, now=NOW)

    cities = features(client, "?service=chatgpt", language="it")

    assert [f["properties"]["name"] for f in cities.values()] == ["Milano", "Roma", "Napoli", "Bologna"]
    english = features(client, "?service=chatgpt", language="en")
    assert [f["properties"]["name"] for f in english.values()] == ["Milan", "Rome", "Naples", "Bologna"]
    # city_local means the same as in the other APIs: the name used there, whatever the language.
    assert [f["properties"]["city_local"] for f in english.values()] == [
        "Milano",
        "Roma",
        "Napoli",
        "Bologna",
    ]


def test_a_report_not_yet_counted_shows_on_the_map_at_once(client, chatgpt):
    client.post(
        "/api/v1/reports/",
        {"service": "chatgpt", "problem": "login"},
        content_type="application/json",
        REMOTE_ADDR="93.56.1.1",
    )

    assert features(client, "?service=chatgpt")["Milan"]["properties"]["count"] == 1


@pytest.mark.parametrize(
    ("query", "status"), [("?minutes=5", 400), ("?minutes=abc", 400), ("?service=myspace", 404)]
)
def test_bad_parameters_answer_with_a_json_error(client, query, status):
    response = client.get(f"/api/v1/map/{query}")

    assert response.status_code == status
    assert "detail" in response.json()


def test_the_map_runs_the_same_queries_for_any_number_of_cities(client, chatgpt, django_assert_num_queries):
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=3), cities={"Milan": 1})
    # The window's sums with their cities and services, then the baselines.
    with django_assert_num_queries(2):
        client.get("/api/v1/map/")
    outage_now(chatgpt, now=NOW)
    add_reports(Service.objects.get(slug="sora"), at=NOW, cities={"Turin": 3, "Rome": 2})
    usual_week(chatgpt, now=NOW, cities={"Turin": 3, "Rome": 2})
    cache.clear()

    with django_assert_num_queries(2):
        body = client.get("/api/v1/map/?minutes=60&service=").json()
    assert len(body["features"]) == 5
    # One service: its lookup as well.
    with django_assert_num_queries(3):
        client.get("/api/v1/map/?minutes=60&service=chatgpt")


def test_the_same_answer_is_shared_for_a_few_seconds_per_language(
    client, chatgpt, time_machine, django_assert_num_queries
):
    outage_now(chatgpt, now=NOW)
    assert features(client, language="it")["Milan"]["properties"]["count"] == 240
    add_reports(chatgpt, at=NOW, cities={"Milan": 6})

    with django_assert_num_queries(0):
        shared = features(client, language="it")
    assert shared["Milan"]["properties"]["count"] == 240
    assert shared["Milan"]["properties"]["name"] == "Milano"
    # Another language is another answer, never the Italian one with English numbers.
    english = features(client, language="en")
    assert english["Milan"]["properties"]["name"] == "Milan"
    assert english["Milan"]["properties"]["count"] == 246
    vary = client.get("/api/v1/map/")["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary
    time_machine.move_to(NOW + dt.timedelta(seconds=MAP_CACHE_SECONDS + 1), tick=False)
    assert features(client, language="it")["Milan"]["properties"]["count"] == 246


def test_the_map_endpoint_is_in_the_openapi_schema(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    operation = schema["paths"]["/api/v1/map/"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"service", "minutes"}
    properties = schema["components"]["schemas"]["MapCityProperties"]["properties"]
    assert {"city", "city_local", "name", "country", "count", "baseline", "ratio", "services"} <= set(
        properties
    )
