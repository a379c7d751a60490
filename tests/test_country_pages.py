"""Every surface shown for one country: the home page, the service page and its JSON, the
read APIs, the badge and the embed, from reports sent through the real intake (located by
the bundled address database) and statuses from a real detection pass."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.conf import settings

from catalogue.models import Service
from geo.models import City
from outages.detection_pass import detection_run_range
from outages.models import Incident, IncidentCity, ServiceStatus
from outages.status import status_apply
from reports.aggregation import reports_aggregate
from reports.models import CountryMinute
from tests.detection_helpers import MINUTE, T0, city, flat_baseline
from tests.helpers import BOLOGNA_IP, MILAN_IP, MOUNTAIN_VIEW_IP, SYDNEY_IP, post_report
from tests.review_helpers import incident as review_incident
from tests.test_country_status import country_baseline, quiet_then_italy_down

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 31, 15, 0, 30, tzinfo=dt.UTC)  # 17:00 in Rome


@pytest.fixture
def reports(client, chatgpt, time_machine):
    """Two reports from Italy (Milan: login, Bologna: app), one from the United States and
    one from Australia; the first three aggregated, the last still pending."""
    time_machine.move_to(NOW - dt.timedelta(minutes=5), tick=False)
    for ip, problem in ((MILAN_IP, "login"), (BOLOGNA_IP, "app"), (MOUNTAIN_VIEW_IP, "login")):
        assert post_report(client, {"service": "chatgpt", "problem": problem}, ip=ip).status_code == 201
    reports_aggregate()
    time_machine.move_to(NOW - dt.timedelta(minutes=1), tick=False)
    assert post_report(client, {"service": "chatgpt", "problem": "login"}, ip=SYDNEY_IP).status_code == 201
    time_machine.move_to(NOW, tick=False)
    return chatgpt


def html(client, url: str, language: str = "en", status: int = 200) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == status
    return response.content.decode()


def last_hour(page: str) -> int:
    return int(re.search(r'<strong id="count-last-hour">([\d,.]+)</strong>', page)[1].replace(",", ""))


def cities(page: str) -> list[str]:
    listed = re.search(r'<ol class="cities" id="cities">(.*?)</ol>', page, re.S)[1]
    return re.findall(r'<span class="label">([\w ]+)</span>', listed)


def problems(page: str) -> dict[str, str]:
    listed = re.search(r'<ul class="problems" id="problems">(.*?)</ul>', page, re.S)[1]
    return dict(re.findall(r'<span class="label">(\w+)</span> <span class="percent">(\d+%)</span>', listed))


def banner(page: str) -> str:
    return re.search(r'class="banner status-(\w+)"', page)[1]


def test_the_service_page_shows_a_country_s_own_reports_cities_and_problems(client, reports):
    worldwide = html(client, "/s/chatgpt/?country=all")
    italy = html(client, "/s/chatgpt/?country=IT")
    usa = html(client, "/s/chatgpt/?country=us")

    assert (last_hour(worldwide), last_hour(italy), last_hour(usa)) == (4, 2, 1)
    assert sorted(cities(italy)) == ["Bologna", "Milan"]
    assert "Mountain View" in cities(worldwide) and "Mountain View" not in cities(italy)
    assert problems(italy) == {"App": "50%", "Login": "50%"}
    assert problems(usa) == {"Login": "100%"}
    assert problems(worldwide) == {"Login": "75%", "App": "25%"}


def test_the_page_json_and_the_chart_follow_the_country_asked_for(client, reports):
    worldwide = client.get("/s/chatgpt/data.json").json()
    italy = client.get("/s/chatgpt/data.json?country=IT").json()

    assert (worldwide["count_last_day"], italy["count_last_day"]) == (4, 2)
    assert sum(bucket["count"] for bucket in italy["timeseries"]) == 2
    assert sum(bucket["count"] for bucket in worldwide["timeseries"]) == 4
    assert italy["headline"] == "ChatGPT in Italy: 2 reports at 16:45 CEST"
    assert worldwide["headline"] == "ChatGPT worldwide: 4 reports at 16:45 CEST"
    # The page names its own country in the address its script refreshes from.
    assert 'data-url="/s/chatgpt/data.json?country=IT"' in html(client, "/s/chatgpt/?country=IT")


def test_the_home_page_draws_each_sparkline_from_the_country_shown(client, reports):
    def reports_shown(page: str) -> str:
        row = page[page.index('data-slug="chatgpt"') :]
        return re.search(r'aria-label="(\d+) reports? in the 24 clock hours', row)[1]

    reports_aggregate()  # the sparklines read the minute counts only
    assert reports_shown(html(client, "/?country=all")) == "4"
    assert reports_shown(html(client, "/?country=IT")) == "2"
    home = client.get("/data.json?country=AU").json()
    assert sum(next(row for row in home["services"] if row["slug"] == "chatgpt")["sparkline"]) == 1
    # Links from a page opened for a country keep it.
    assert 'href="/s/chatgpt/?country=IT"' in html(client, "/?country=IT")


def test_the_chosen_country_is_remembered_by_the_pages_but_never_by_the_apis(client, reports):
    client.cookies[settings.COUNTRY_COOKIE_NAME] = "IT"

    assert last_hour(html(client, "/s/chatgpt/")) == 2
    assert client.get("/s/chatgpt/data.json").json()["count_last_day"] == 4
    assert client.get("/api/v1/services/chatgpt/").json()["country"] == ""


def test_the_read_apis_answer_for_the_country_asked_for(client, reports):
    italy = client.get("/api/v1/services/chatgpt/?country=IT").json()
    worldwide = client.get("/api/v1/services/chatgpt/").json()

    assert italy["country"] == "IT" and worldwide["country"] == ""
    assert {row["code"]: row["count"] for row in italy["problems"]} == {"login": 1, "app": 1}
    assert {row["code"]: row["count"] for row in worldwide["problems"]} == {"login": 3, "app": 1}
    assert {row["country"] for row in italy["cities"]} == {"IT"}
    assert {row["country"] for row in worldwide["cities"]} >= {"IT", "US"}
    series = client.get("/api/v1/services/chatgpt/timeseries/?country=US&hours=1").json()
    assert sum(bucket["count"] for bucket in series) == 1
    listed = client.get("/api/v1/services/?country=US").json()
    assert {row["country"] for row in listed} == {"US"}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/services/?country=XX",
        "/api/v1/services/chatgpt/?country=Italy",
        "/api/v1/services/chatgpt/timeseries/?country=1",
        "/api/v1/services/chatgpt/cities/?country=ZZ",
        "/api/v1/incidents/?country=EU",
        "/s/chatgpt/data.json?country=XX",
        "/data.json?country=XX",
        "/s/chatgpt/badge.svg?country=XX",
        "/s/chatgpt/embed/?country=XX",
    ],
)
def test_a_bad_country_code_is_a_400_that_says_what_to_use(client, chatgpt, url):
    response = client.get(url)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_country"
    assert "two-letter ISO 3166 code" in body["detail"]


def test_a_page_with_a_bad_country_code_says_so_and_shows_every_country(client, reports):
    page = html(client, "/s/chatgpt/?country=XX", status=400)

    assert "That is not a country code we know, so this page shows every country." in page
    assert last_hour(page) == 4
    assert "That is not a country code we know" in html(client, "/?country=Narnia", status=400)


@pytest.fixture
def italy_down(chatgpt):
    """A real detection pass over an outage confined to Italy."""
    flat_baseline(chatgpt, per_minute=4)
    country_baseline(chatgpt, "IT", per_minute=2)
    country_baseline(chatgpt, "US", per_minute=2)
    quiet_then_italy_down(chatgpt)
    detection_run_range(start=T0, end=T0 + 8 * MINUTE)
    return chatgpt


def test_an_outage_confined_to_italy_shows_on_every_italian_surface_only(client, italy_down, time_machine):
    time_machine.move_to(T0 + 9 * MINUTE, tick=False)

    assert banner(html(client, "/s/chatgpt/?country=IT")) == "outage"
    assert banner(html(client, "/s/chatgpt/?country=US")) == "ok"
    assert banner(html(client, "/s/chatgpt/?country=all")) == "outage"
    italy_badge = client.get("/s/chatgpt/badge.svg?country=IT")
    assert "ChatGPT · IT: Problems detected" in italy_badge.content.decode()
    assert "ChatGPT · US: No problems" in client.get("/s/chatgpt/badge.svg?country=US").content.decode()
    assert "public" in italy_badge["Cache-Control"] and "max-age=60" in italy_badge["Cache-Control"]
    embed = client.get("/s/chatgpt/embed/?country=US")
    assert "ChatGPT · US: No problems" in embed.content.decode()
    assert "/s/chatgpt/?country=US" in embed.content.decode()
    statuses = {row["slug"]: row["status"] for row in client.get("/api/v1/services/?country=IT").json()}
    assert statuses["chatgpt"] == "outage"
    assert client.get("/api/v1/services/chatgpt/?country=US").json()["status"] == "ok"
    home = html(client, "/?country=US")
    row = home[home.index('data-slug="chatgpt"') :]
    assert 'class="status status-ok"' in row[: row.index("</li>")]


def test_the_headline_names_the_country_and_its_peak_in_italian(client, chatgpt, time_machine):
    time_machine.move_to(NOW, tick=False)
    CountryMinute.objects.bulk_create(
        [
            CountryMinute(
                service=chatgpt, country_code="IT", minute=NOW - dt.timedelta(minutes=40), count=400
            ),
            CountryMinute(service=chatgpt, country_code="IT", minute=NOW.replace(second=0), count=1251),
            CountryMinute(service=chatgpt, country_code="FR", minute=NOW.replace(second=0), count=9),
        ]
    )
    Service.objects.filter(pk=chatgpt.pk).update(timezone="Europe/Rome")

    italian = html(client, "/s/chatgpt/?country=IT", "it")
    english = html(client, "/s/chatgpt/?country=IT")

    assert (
        '<p class="headline" id="headline">ChatGPT in Italia: 1.251 segnalazioni alle 17:00 CEST</p>'
        in italian
    )
    assert '<p class="headline" id="headline">ChatGPT in Italy: 1,251 reports at 17:00 CEST</p>' in english
    assert "ChatGPT in Francia: 9 segnalazioni alle 17:00 CEST" in html(
        client, "/s/chatgpt/?country=FR", "it"
    )
    assert "ChatGPT in Spagna: nessuna segnalazione nelle ultime 24 ore" in html(
        client, "/s/chatgpt/?country=ES", "it"
    )


def peaks(page: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"peak ([\d,]+) reports per 15 minutes", page)]


def test_a_country_page_gives_each_incident_s_peak_in_that_country_never_the_world_s(
    client, italy_down, time_machine
):
    time_machine.move_to(T0 + 9 * MINUTE, tick=False)
    incident = Incident.objects.get(service=italy_down)
    # The list's country filter takes the incidents that name a city there.
    IncidentCity.objects.create(incident=incident, city=city("Milan"), count=40, first_flagged_at=T0)
    world_peak = incident.peak_count
    chart = client.get("/s/chatgpt/data.json?country=IT").json()["timeseries"]

    in_italy = peaks(html(client, "/s/chatgpt/?country=IT"))
    listed_in_italy = peaks(html(client, "/incidents/?country=IT"))

    # Italy sent 40 a minute from T0, the world 42: the world's peak is the one detection
    # stored through T0+8, Italy's is measured like its chart, through the minute in progress.
    assert peaks(html(client, "/s/chatgpt/")) == [world_peak] == [9 * 42]
    assert in_italy == listed_in_italy == [max(bucket["count"] for bucket in chart)] == [10 * 40]


def test_the_incidents_api_for_a_country_gives_the_peak_its_pages_show(client, italy_down, time_machine):
    time_machine.move_to(T0 + 9 * MINUTE, tick=False)
    incident = Incident.objects.get(service=italy_down)
    IncidentCity.objects.create(incident=incident, city=city("Milan"), count=40, first_flagged_at=T0)

    [in_italy] = client.get("/api/v1/incidents/?country=IT").json()
    [worldwide] = client.get("/api/v1/incidents/").json()

    assert [in_italy["peak_count"]] == peaks(html(client, "/incidents/?country=IT")) == [10 * 40]
    assert worldwide["peak_count"] == incident.peak_count == 9 * 42
    assert in_italy["peak_at"] == "2026-03-10T12:00:00Z"


@pytest.fixture
def ongoing_in_italy_and_beyond(reports):
    """An incident going on since before the four reports, naming Milan, Bologna and Mountain
    View; detection stored its problems worldwide (login 3, app 1). Both the world's and
    Italy's statuses point at it."""
    incident = review_incident(
        reports,
        started_at=NOW - dt.timedelta(minutes=10),
        minutes=11,
        resolved=False,
        peak_count=4,
        problems=[{"code": "login", "count": 3}, {"code": "app", "count": 1}],
        cities={
            City.objects.get(name_en=name): (count, count - 1)
            for name, count in (("Mountain View", 9), ("Milan", 5), ("Bologna", 4))
        },
    )
    for scope in ("", "IT"):
        row = ServiceStatus(
            service=reports, scope=scope, evidence="outage", count=4, baseline=1.0, minute=NOW
        )
        status_apply(row, incident, {"IT", "US"}).save()
    return incident


def incident_problems(page: str) -> dict[str, str]:
    listed = re.search(r'<ul class="problems" id="incident-problems">(.*?)</ul>', page, re.S)[1]
    return dict(re.findall(r'<span class="label">(\w+)</span> <span class="percent">(\d+%)</span>', listed))


def test_a_country_page_gives_the_ongoing_incident_s_problems_and_cities_in_that_country(
    client, ongoing_in_italy_and_beyond
):
    italy = html(client, "/s/chatgpt/?country=IT")
    worldwide = html(client, "/s/chatgpt/?country=all")

    assert incident_problems(italy) == {"App": "50%", "Login": "50%"}  # Milan login, Bologna app
    assert incident_problems(worldwide) == {"Login": "75%", "App": "25%"}  # what detection stored
    assert cities(italy) == ["Milan", "Bologna"]
    assert cities(worldwide) == ["Mountain View", "Milan", "Bologna"]


def test_the_country_page_its_json_and_the_incidents_api_for_that_country_tell_one_truth(
    client, ongoing_in_italy_and_beyond
):
    page = html(client, "/s/chatgpt/?country=IT")
    data = client.get("/s/chatgpt/data.json?country=IT").json()
    [incident] = client.get("/api/v1/incidents/?country=IT").json()
    service = client.get("/api/v1/services/chatgpt/?country=IT").json()

    on_page = incident_problems(page)
    assert {row["label"]: f"{row['percent']}%" for row in data["incident_problems"]} == on_page
    total = sum(row["count"] for row in incident["problems"])
    labels = {"login": "Login", "app": "App"}
    assert {
        labels[row["code"]]: f"{round(100 * row['count'] / total)}%" for row in incident["problems"]
    } == on_page
    assert (
        [row["city"] for row in incident["cities"]] == cities(page) == [row["city"] for row in data["cities"]]
    )
    assert incident["peak_count"] == 2  # Italy's two reports, as the page's recent incidents say
    assert "peak 2 reports per 15 minutes" in page
    assert service["incident"]["id"] == incident["id"] and service["count"] == 4
    assert {row["code"]: row["count"] for row in service["problems"]} == {"login": 1, "app": 1}
    assert problems(page) == {"App": "50%", "Login": "50%"}
    # Worldwide, the API keeps what detection stored, and every city.
    [world] = client.get("/api/v1/incidents/").json()
    assert world["problems"] == [{"code": "login", "count": 3}, {"code": "app", "count": 1}]
    assert [row["city"] for row in world["cities"]] == ["Mountain View", "Milan", "Bologna"]


def test_a_country_page_labels_the_official_status_as_worldwide(client, chatgpt):
    Service.objects.filter(pk=chatgpt.pk).update(
        official_format=Service.OfficialFormat.STATUSPAGE, official_url="https://status.openai.com"
    )

    assert "Official status page (worldwide):" in html(client, "/s/chatgpt/?country=IT")
    assert "Official status page:" in html(client, "/s/chatgpt/?country=all")
    assert "Pagina di stato ufficiale (mondiale):" in html(client, "/s/chatgpt/?country=IT", "it")


def incident_page_figures(page: str) -> tuple[int, list[str], dict[str, str], int]:
    """(peak, cities, problems, reports on the timeline) of an incident page."""
    peak = int(re.search(r"<dt>Peak</dt><dd>([\d,]+) reports? in 15 minutes", page)[1].replace(",", ""))
    listed = re.search(r'<ol class="cities">(.*?)</ol>', page, re.S)[1]
    shown = re.search(r'<ul class="problems">(.*?)</ul>', page, re.S)[1]
    chart = re.search(r'<script id="timeseries-data" type="application/json">(.*?)</script>', page, re.S)[1]
    return (
        peak,
        re.findall(r'<span class="label">([\w ]+)</span>', listed),
        dict(re.findall(r'<span class="label">(\w+)</span> <span class="percent">(\d+%)</span>', shown)),
        sum(bucket["count"] for bucket in json.loads(chart)),
    )


def test_the_incident_page_opened_from_a_country_s_page_gives_that_country_s_figures(
    client, ongoing_in_italy_and_beyond
):
    reports_aggregate()  # the timeline reads the minute counts only
    incident = ongoing_in_italy_and_beyond
    service_page = html(client, "/s/chatgpt/?country=IT")
    assert f'href="/incidents/{incident.pk}/?country=IT"' in service_page
    assert f'href="/incidents/{incident.pk}/?country=IT"' in html(client, "/incidents/?country=IT")

    italy = html(client, f"/incidents/{incident.pk}/?country=IT")
    worldwide = html(client, f"/incidents/{incident.pk}/")
    [in_api] = client.get("/api/v1/incidents/?country=IT").json()

    assert incident_page_figures(italy) == (2, ["Milan", "Bologna"], {"App": "50%", "Login": "50%"}, 2)
    assert incident_page_figures(worldwide) == (
        4,
        ["Mountain View", "Milan", "Bologna"],
        {"Login": "75%", "App": "25%"},
        4,
    )
    assert in_api["peak_count"] == 2 and [row["city"] for row in in_api["cities"]] == ["Milan", "Bologna"]
    assert "Figures from reports in: Italy" in italy and "Figures from reports in" not in worldwide
    assert 'href="/s/chatgpt/?country=IT"' in italy
    assert client.get(f"/incidents/{incident.pk}/?country=XX").status_code == 400
