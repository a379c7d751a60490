from __future__ import annotations

import datetime as dt

import pytest
import yaml
from django.core.cache import cache
from django.db.models import Count, F, Sum

from catalogue.models import Service
from geo.models import City
from outages.api_map import MAP_CACHE_SECONDS
from outages.map_selectors import BLOCK_SECONDS, WINDOWS, map_cities
from outages.models import ServiceStatus
from outages.status import status_apply
from reports.models import CityMinute, Report, ServiceMinute
from tests.pages_data import add_reports, city, outage_now, usual_week

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


def test_a_city_without_history_is_read_against_one_report_not_an_infinite_ratio(client, chatgpt):
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=10), cities={"Turin": 1, "Bologna": 6})

    cities = features(client, "?service=chatgpt&minutes=60")

    assert cities["Turin"]["properties"]["baseline"] == 0.0 and cities["Turin"]["properties"]["ratio"] == 1.0
    assert cities["Bologna"]["properties"]["ratio"] == 6.0


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
    # The window's closed slots (the block), its live part, the cities' and services'
    # names, then the baselines.
    with django_assert_num_queries(4):
        client.get("/api/v1/map/")
    outage_now(chatgpt, now=NOW)
    add_reports(Service.objects.get(slug="sora"), at=NOW, cities={"Turin": 3, "Rome": 2})
    add_reports(Service.objects.get(slug="sora"), at=NOW - dt.timedelta(minutes=40), cities={"Naples": 1})
    usual_week(chatgpt, now=NOW, cities={"Turin": 3, "Rome": 2})
    cache.clear()

    with django_assert_num_queries(4):
        body = client.get("/api/v1/map/?minutes=60&service=").json()
    assert len(body["features"]) == 5
    # One service: its lookup as well.
    with django_assert_num_queries(5):
        client.get("/api/v1/map/?minutes=60&service=chatgpt")
    # Once the shared answer expires, the block and the baselines are still cached: the
    # live part and the names only.
    cache.delete_pattern("*map:response:*")
    with django_assert_num_queries(2):
        assert client.get("/api/v1/map/?minutes=60&service=").json()["features"] == body["features"]


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
    assert {parameter["name"] for parameter in operation["parameters"]} == {"service", "minutes", "country"}
    properties = schema["components"]["schemas"]["MapCityProperties"]["properties"]
    assert {
        "city",
        "city_local",
        "name",
        "country",
        "count",
        "count_text",
        "baseline",
        "ratio",
        "ratio_text",
        "services",
    } <= set(properties)


def direct_map(service: Service | None, minutes: int, now: dt.datetime) -> list[tuple]:
    """The window summed straight from the minute rows and the reports not yet counted,
    ranked as the map ranks: (city, total, [(slug, n)] top five), busiest first."""
    since = now - dt.timedelta(minutes=minutes)
    rows = CityMinute.objects.filter(minute__gte=since, minute__lte=now)
    pending = Report.objects.filter(
        is_aggregated=False, counted=True, abusive=False, city__isnull=False, created_at__gte=since
    )
    if service is not None:
        rows, pending = rows.filter(service=service), pending.filter(service=service)
    sums: dict[int, dict[int, int]] = {}
    for part in (
        rows.values_list("city_id", "service_id").annotate(n=Sum("count")),
        pending.values_list("city_id", "service_id").annotate(n=Count("id")),
    ):
        for city_id, service_id, n in part:
            sums.setdefault(city_id, {}).setdefault(service_id, 0)
            sums[city_id][service_id] += n
    slugs = dict(Service.objects.values_list("id", "slug"))
    ranked = [
        (city_id, sum(counts.values()), sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:5])
        for city_id, counts in sums.items()
    ]
    ranked.sort(key=lambda row: (-row[1], row[0]))
    return [(city_id, total, [(slugs[s], n) for s, n in top]) for city_id, total, top in ranked]


def chunked_map(service: Service | None, minutes: int, now: dt.datetime) -> list[tuple]:
    return [
        (row.city_id, row.count, [(slug, n) for slug, _, n in row.services])
        for row in map_cities(service=service, minutes=minutes, now=now)
    ]


def spread_reports(services: list[Service], now: dt.datetime) -> None:
    """Reports over the last day for seven services in five cities, with ties, in closed
    slots, at the window edges and in the current minute."""
    names = ["Milan", "Rome", "Naples", "Bologna", "Turin"]
    for ago in (1439, 1400, 1000, 725, 361, 359, 300, 125, 61, 59, 45, 31, 12, 9, 4, 2, 0):
        for i, service in enumerate(services):
            cities = {name: (ago + i * j) % 4 for j, name in enumerate(names) if (ago + i * j) % 4}
            if cities:
                add_reports(service, at=now - dt.timedelta(minutes=ago), cities=cities)


def test_the_window_summed_in_cached_slots_equals_the_direct_sum(client, chatgpt, time_machine):
    services = list(Service.objects.order_by("id")[:7])
    assert len(services) == 7  # more than the five a city lists
    spread_reports(services, NOW)
    client.post(  # a report not yet counted, in Milan
        "/api/v1/reports/",
        {"service": "chatgpt", "problem": "login"},
        content_type="application/json",
        REMOTE_ADDR="93.56.1.1",
    )
    questions = [(service, minutes) for service in (None, chatgpt) for minutes in WINDOWS]

    for service, minutes in questions:
        assert chunked_map(service, minutes, NOW) == direct_map(service, minutes, NOW), (service, minutes)
    # The blocks are cached now: new reports in the current minute still count at once.
    totals = {city_id: total for city_id, total, _ in chunked_map(None, 60, NOW)}
    add_reports(services[6], at=NOW, cities={"Milan": 40, "Turin": 1})
    for service, minutes in questions:
        assert chunked_map(service, minutes, NOW) == direct_map(service, minutes, NOW), (service, minutes)
    milan = city("Milan").pk
    assert {city_id: total for city_id, total, _ in chunked_map(None, 60, NOW)}[milan] == totals[milan] + 40

    # A late correction to a closed slot (review subtracting abusive reports) shows once the
    # block is renewed, within BLOCK_SECONDS; until then the answer is the block's.
    before = chunked_map(None, 1440, NOW)
    row = CityMinute.objects.filter(minute=NOW.replace(second=0) - dt.timedelta(minutes=300)).first()
    row.count = 0
    row.save(update_fields=["count"])
    assert chunked_map(None, 1440, NOW) == before != direct_map(None, 1440, NOW)
    later = NOW + dt.timedelta(seconds=BLOCK_SECONDS)
    time_machine.move_to(later, tick=False)
    for service, minutes in questions:
        assert chunked_map(service, minutes, later) == direct_map(service, minutes, later), (service, minutes)


def test_over_24_hours_a_small_city_on_a_normal_day_reads_its_own_usual_not_a_floor(client, chatgpt):
    """Three reports a day in Bologna, every day: the 24-hour map says 1x, not 0.25x."""
    for day in range(0, 8):
        add_reports(chatgpt, at=NOW - dt.timedelta(days=day, hours=2), cities={"Bologna": 3})

    bologna = features(client, "?service=chatgpt&minutes=1440")["Bologna"]["properties"]

    assert (bologna["count"], bologna["baseline"], bologna["ratio"]) == (3, 3.0, 1.0)


# --- one country, plurals, the usual over 24 hours ----------------------------------------


def abroad(service: Service, *, at: dt.datetime, name: str, country: str, lat: float, lon: float, n: int):
    """Reports in one minute from a city outside Italy (tests.pages_data knows Italian ones)."""
    place, _ = City.objects.get_or_create(
        country_code=country, region="", name_en=name, defaults={"latitude": lat, "longitude": lon}
    )
    minute = at.replace(second=0, microsecond=0)
    row, created = ServiceMinute.objects.get_or_create(service=service, minute=minute, defaults={"count": n})
    if not created:
        ServiceMinute.objects.filter(pk=row.pk).update(count=F("count") + n)
    CityMinute.objects.create(service=service, city=place, minute=minute, count=n)


def test_a_country_keeps_only_its_own_cities(client, chatgpt):
    outage_now(chatgpt, now=NOW)
    abroad(chatgpt, at=NOW - dt.timedelta(minutes=5), name="Paris", country="FR", lat=48.85, lon=2.35, n=500)

    assert list(features(client, "?service=chatgpt")) == ["Paris", "Milan", "Rome", "Naples", "Bologna"]
    assert list(features(client, "?service=chatgpt&country=it")) == ["Milan", "Rome", "Naples", "Bologna"]
    assert list(features(client, "?service=chatgpt&country=FR")) == ["Paris"]
    assert features(client, "?country=DE") == {}
    assert list(features(client, "?country=all")) == ["Paris", "Milan", "Rome", "Naples", "Bologna"]
    body = client.get("/api/v1/map/?country=FR").json()
    assert body["country"] == "FR"
    assert client.get("/api/v1/map/").json()["country"] is None


@pytest.mark.parametrize("value", ["ZZ", "Italy", "I", "<b>"])
def test_a_bad_country_answers_400_with_a_json_error(client, value):
    response = client.get("/api/v1/map/", {"country": value})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_country"
    assert "two-letter ISO 3166 code" in body["detail"]


def test_the_shared_answer_is_one_per_country(client, chatgpt, django_assert_num_queries):
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=5), cities={"Milan": 3})
    abroad(chatgpt, at=NOW - dt.timedelta(minutes=5), name="Paris", country="FR", lat=48.85, lon=2.35, n=7)
    assert list(features(client, "?country=IT")) == ["Milan"]

    # France is not Italy's shared answer: it is worked out (the names query at least).
    with django_assert_num_queries(2):
        assert list(features(client, "?country=FR")) == ["Paris"]
    with django_assert_num_queries(0):
        assert list(features(client, "?country=IT")) == ["Milan"]
        assert list(features(client, "?country=FR")) == ["Paris"]


def test_over_24_hours_a_normal_day_reads_about_1x_and_a_spike_city_its_real_ratio(client, chatgpt):
    """A week of ordinary days, at different hours, then today: Milan and Rome as usual,
    Naples ten times its usual, Turin (two reports a week) with three today."""
    usual = {"Milan": 40, "Rome": 24, "Naples": 8}
    for day in range(0, 8):
        for hour, share in ((1, 0.25), (9, 0.5), (20, 0.25)):
            at = NOW - dt.timedelta(days=day, hours=hour)
            add_reports(chatgpt, at=at, cities={name: int(n * share) for name, n in usual.items()})
    add_reports(chatgpt, at=NOW - dt.timedelta(days=2, hours=3), cities={"Turin": 1})
    add_reports(chatgpt, at=NOW - dt.timedelta(days=5, hours=3), cities={"Turin": 1})
    add_reports(chatgpt, at=NOW - dt.timedelta(hours=2), cities={"Naples": 72, "Turin": 3})

    cities = {
        name: (row["properties"]["count"], row["properties"]["baseline"], row["properties"]["ratio"])
        for name, row in features(client, "?service=chatgpt&minutes=1440").items()
    }

    assert cities["Milan"] == (40, 40.0, 1.0)
    assert cities["Rome"] == (24, 24.0, 1.0)
    assert cities["Naples"] == (80, 8.0, 10.0)
    # Its own usual is 2/7 of a report: three today read against one report, not 10.5x.
    assert cities["Turin"] == (3, 0.29, 3.0)


def test_the_counts_are_worded_with_the_right_plural_in_each_language(client, chatgpt):
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=5), cities={"Milan": 1, "Rome": 2, "Naples": 1250})

    english = {name: row["properties"]["count_text"] for name, row in features(client).items()}
    italian = {name: row["properties"]["count_text"] for name, row in features(client, language="it").items()}

    assert english == {"Naples": "1,250 reports", "Rome": "2 reports", "Milan": "1 report"}
    assert italian == {"Naples": "1.250 segnalazioni", "Rome": "2 segnalazioni", "Milan": "1 segnalazione"}


def test_the_ratio_is_worded_with_the_right_plural_in_each_language(client, chatgpt):
    # Turin has no history (read against one report); Bologna 2 a day usual.
    usual_week(chatgpt, now=NOW, cities={"Bologna": 2})
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=5), cities={"Turin": 1, "Bologna": 5, "Rome": 2})

    def worded(language: str) -> dict[str, str]:
        return {
            name: row["properties"]["ratio_text"]
            for name, row in features(client, "?minutes=1440", language=language).items()
        }

    assert worded("en") == {
        "Turin": "1 time the usual",
        "Bologna": "2.5 times the usual",
        "Rome": "2 times the usual",
    }
    assert worded("it") == {
        "Turin": "1 volta il solito",
        "Bologna": "2,5 volte il solito",
        "Rome": "2 volte il solito",
    }


def test_the_map_of_a_country_gives_the_service_s_status_in_that_country(client, chatgpt):
    for scope, evidence in (("", "ok"), ("IT", "outage")):
        status_apply(ServiceStatus(service=chatgpt, scope=scope, evidence=evidence, minute=NOW), None).save()

    world = client.get("/api/v1/map/?service=chatgpt").json()
    italy = client.get("/api/v1/map/?service=chatgpt&country=IT").json()
    page = client.get("/api/v1/services/chatgpt/?country=IT").json()

    assert (world["status"], italy["status"]) == ("ok", "outage")
    assert italy["status"] == page["status"]
