"""One number format per language: every count a person reads on the home page, a service
page (worldwide and for a country), an incident page and the incident list is grouped the
language's way (1,830 in English, 1.830 in Italian), in the template's numbers and in the
sentences built in Python alike; what a machine reads (data attributes, the chart's JSON,
data.json, the API) stays a plain integer."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser

import pytest

from outages.models import Incident, IncidentCity, ServiceStatus
from outages.status import status_apply
from tests.pages_data import add_reports, city

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 31, 15, 0, 30, tzinfo=dt.UTC)  # 17:00 in Rome
PEAK = 1830
GROUPING = {"en": ",", "it": "."}


@pytest.fixture
def big_outage(chatgpt, time_machine):
    """An ongoing outage with four-digit counts everywhere: the status's quarter-hour, the
    peak, the cities, the problems and the chart's buckets."""
    time_machine.move_to(NOW, tick=False)
    started = NOW - dt.timedelta(minutes=40)
    for minutes_ago in (2, 17, 32):
        add_reports(chatgpt, at=NOW - dt.timedelta(minutes=minutes_ago), cities={"Milan": 1121, "Rome": 709})
    incident = Incident.objects.create(
        service=chatgpt,
        started_at=started,
        last_spike_at=NOW,
        last_elevated_at=NOW,
        peak_at=NOW - dt.timedelta(minutes=15),
        peak_count=PEAK,
        problems=[{"code": "login", "count": 3 * PEAK}],
    )
    for name, count in (("Milan", 3 * 1121), ("Rome", 3 * 709)):
        IncidentCity.objects.create(
            incident=incident, city=city(name), count=count, excess=count - 10, first_flagged_at=started
        )
    for scope in ("", "IT"):
        row = ServiceStatus(
            service=chatgpt, scope=scope, evidence="outage", count=PEAK, baseline=1219.4, minute=NOW
        )
        status_apply(row, incident, {"IT"}).save()
    return incident


class _VisibleText(HTMLParser):
    """What a person reads or hears: text outside scripts and styles, and the attributes a
    browser shows or speaks."""

    SPOKEN = {"aria-label", "title", "alt", "placeholder"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._hidden += 1
        self.parts += [value or "" for name, value in attrs if name in self.SPOKEN]
        if tag == "meta" and dict(attrs).get("name") == "description":
            self.parts.append(dict(attrs).get("content") or "")

    def handle_endtag(self, tag):
        if tag in {"script", "style"}:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def assert_grouped_the_language_s_way(html: str, language: str) -> str:
    text = visible_text(html)
    # A count of four digits or more with no separator; the year of a date is not a count.
    ungrouped = [n for n in re.findall(r"(?<![\d.,:])\d{4,}(?![\d:])", text) if n != str(NOW.year)]
    assert ungrouped == [], f"ungrouped counts in the {language} page: {ungrouped}"
    other = GROUPING["it" if language == "en" else "en"]
    wrong = re.findall(rf"(?<![\d.,])\d{{1,3}}(?:{re.escape(other)}\d{{3}})+(?![\d.,])", text)
    assert wrong == [], f"counts grouped another language's way in the {language} page: {wrong}"
    return text


def page(client, url: str, language: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, url
    return response.content.decode()


def grouped(n: int, language: str) -> str:
    return f"{n:,}".replace(",", GROUPING[language])


@pytest.mark.parametrize("language", ["en", "it"])
@pytest.mark.parametrize("url", ["/s/chatgpt/", "/s/chatgpt/?country=IT"])
def test_the_service_page_groups_every_count_the_language_s_way(client, big_outage, language, url):
    text = assert_grouped_the_language_s_way(page(client, url, language), language)

    for count in (PEAK, 3 * PEAK, 3 * 1121, 1219):  # the peak, the last hour, a city, the usual
        assert grouped(count, language) in text, count


@pytest.mark.parametrize("language", ["en", "it"])
def test_the_incident_page_groups_its_peak_cities_and_chart_the_language_s_way(client, big_outage, language):
    html = page(client, f"/incidents/{big_outage.pk}/", language)
    text = assert_grouped_the_language_s_way(html, language)

    for count in (PEAK, 3 * 1121, 3 * 709):
        assert grouped(count, language) in text, count
    chart = re.search(r'<script id="timeseries-data" type="application/json">(.*?)</script>', html, re.S)[1]
    assert max(bucket["count"] for bucket in json.loads(chart)) == PEAK  # a number, not a text


@pytest.mark.parametrize("language", ["en", "it"])
def test_the_home_page_and_the_incident_list_group_their_counts_the_language_s_way(
    client, big_outage, language
):
    home = assert_grouped_the_language_s_way(page(client, "/", language), language)
    listed = assert_grouped_the_language_s_way(page(client, "/incidents/", language), language)

    assert grouped(3 * PEAK, language) in home  # the sparkline's 24 hours, as it is spoken
    assert grouped(PEAK, language) in listed


@pytest.mark.parametrize("language", ["en", "it"])
def test_machine_values_in_a_page_stay_plain_integers(client, big_outage, language):
    service_page = page(client, "/s/chatgpt/", language)
    map_page = page(client, "/map/?minutes=1440", language)

    assert 'data-minutes="1440"' in service_page and 'data-refresh="60"' in service_page
    assert 'data-minutes="1440"' in map_page and 'value="1440" checked' in map_page


@pytest.mark.parametrize("language", ["en", "it"])
def test_the_page_json_and_the_api_give_plain_integers_and_their_sentences_the_page_s_format(
    client, big_outage, language
):
    data = client.get("/s/chatgpt/data.json", HTTP_ACCEPT_LANGUAGE=language).json()
    api = client.get("/api/v1/services/chatgpt/", HTTP_ACCEPT_LANGUAGE=language).json()
    [incident] = client.get("/api/v1/incidents/", HTTP_ACCEPT_LANGUAGE=language).json()

    assert data["count_last_hour"] == 3 * PEAK
    assert [row["count"] for row in data["cities"]] == [3 * 1121, 3 * 709]
    assert {bucket["count"] for bucket in data["timeseries"]} >= {PEAK}
    assert (api["count"], incident["peak_count"]) == (PEAK, PEAK)
    assert grouped(PEAK, language) in data["status"]["window_text"]
    assert grouped(1219, language) in data["status"]["window_text"]
