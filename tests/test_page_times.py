"""Each page shows its times in one zone and names it: a service's pages in the service's
zone, the rest in the site's. The chart's data and the text beside it agree."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re
from zoneinfo import ZoneInfo

import pytest

from outages.models import Service
from tests.pages_data import outage_now
from tests.review_helpers import incident as review_incident
from tests.review_helpers import reviewer_user

pytestmark = pytest.mark.django_db

# The day after the clocks went forward in London and Rome: BST and CEST, not GMT and CET.
NOW = dt.datetime(2025, 3, 31, 15, 0, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine, settings):
    settings.TIME_ZONE = "Europe/Rome"
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def london(chatgpt) -> Service:
    """ChatGPT in a zone that is not the site's, so a page mixing the two would show."""
    Service.objects.filter(pk=chatgpt.pk).update(timezone="Europe/London")
    return Service.objects.get(pk=chatgpt.pk)


def page(client, url: str, language: str = "en") -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def chart_zone(html: str) -> tuple[str, dict[str, str]]:
    """The zone the page gives its chart script: data-timezone and data-timezone-names."""
    canvas = re.search(r'<canvas id="chart"[^>]*>', html)[0]
    zone = re.search(r'data-timezone="([^"]+)"', canvas)[1]
    names = json.loads(html_lib.unescape(re.search(r'data-timezone-names="([^"]+)"', canvas)[1]))
    return zone, names


def chart_label(start: str, zone: str, names: dict[str, str]) -> str:
    """What common.js's Downradar.zoned(canvas).time(start) writes: the hour in the zone,
    named by the page's name for that moment's offset."""
    local = dt.datetime.fromisoformat(start).astimezone(ZoneInfo(zone))
    return f"{local:%H:%M} {names[str(int(local.utcoffset().total_seconds() // 60))]}"


def text_rows(html: str) -> dict[str, str]:
    """{bucket start: its time as the page's text shows it} from the table under the chart."""
    body = re.search(r'<tbody id="chart-rows">(.*?)</tbody>', html, re.S)[1]
    return dict(re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', body))


def test_the_service_page_text_and_chart_data_name_the_service_zone_and_the_same_hour(client, london):
    outage_now(london, now=NOW)

    html = page(client, "/s/chatgpt/")

    series = json.loads(
        re.search(r'<script id="timeseries-data" type="application/json">(.*?)</script>', html)[1]
    )
    zone, names = chart_zone(html)
    rows = text_rows(html)
    assert zone == "Europe/London"
    last = series[-1]["start"]
    assert last == "2025-03-31T15:00:00Z"
    assert rows[last] == chart_label(last, zone, names) == "16:00 BST"
    assert len(rows) == len(series) == 96
    assert all(rows[bucket["start"]] == chart_label(bucket["start"], zone, names) for bucket in series)
    assert "Times are Europe/London time (BST)." in html


def test_the_service_page_gives_recent_incidents_a_full_date_in_its_zone_in_italian_too(client, london):
    review_incident(london, started_at=NOW)

    assert "Monday 31 March 2025, 16:00 BST" in page(client, "/s/chatgpt/")
    italian = page(client, "/s/chatgpt/", "it")
    assert "lunedì 31 marzo 2025, 16:00 BST" in italian
    assert "Orari nel fuso Europe/London (BST)." in italian


def test_the_incident_page_shows_start_peak_and_chart_in_the_service_zone(client, london):
    outage_now(london, now=NOW)
    incident = review_incident(london, started_at=NOW - dt.timedelta(minutes=45), minutes=45, peak_count=131)

    html = page(client, f"/incidents/{incident.pk}/")

    assert "ChatGPT incident of Monday 31 March 2025, 15:15 BST" in html
    assert "<dd>Monday 31 March 2025, 16:00 BST</dd>" in html  # resolved
    assert "131 reports in 15 minutes · 15:15 BST" in html  # the peak, at the start
    series = json.loads(
        re.search(r'<script id="timeseries-data" type="application/json">(.*?)</script>', html)[1]
    )
    zone, names = chart_zone(html)
    rows = text_rows(html)
    assert zone == "Europe/London"
    assert [rows[bucket["start"]] for bucket in series] == [
        chart_label(bucket["start"], zone, names) for bucket in series
    ]


@pytest.mark.parametrize("url", ["/", "/map/"])
def test_pages_of_no_one_service_use_the_site_zone_and_name_it(client, london, url):
    html = page(client, url)

    updated = re.search(
        r'<time id="[\w-]+" datetime="[^"]+" data-timezone="([^"]+)"[^>]*>([^<]+)</time>', html
    )
    assert updated.groups() == ("Europe/Rome", "17:00 CEST")


def test_review_pages_show_incident_times_in_the_service_zone(client, london):
    shown = review_incident(london, started_at=NOW - dt.timedelta(minutes=30))
    client.force_login(reviewer_user())

    queue = client.get("/review/").content.decode()
    detail = client.get(f"/review/incidents/{shown.pk}/").content.decode()

    assert "2025-03-31 15:30 BST" in queue
    assert "2025-03-31 15:30 BST" in detail
