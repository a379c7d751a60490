"""Every moment in JSON (the API, the pages' data, the map) is UTC in ISO 8601 with a Z, to
the second: one format whatever the site's zone, the service's zone or the request."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from outages.models import Incident, ServiceStatus
from tests.detection_helpers import MINUTE, T0, city, put_counts
from tests.helpers import post_report
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db

# Not on a whole second: a moment written with its fraction would show.
NOW = T0 + 10 * MINUTE + dt.timedelta(seconds=30, microseconds=250000)
UTC_SECOND = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
LOOKS_LIKE_A_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT")


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def outage(chatgpt):
    """An open incident from T0, its counts, a status and a city with reports."""
    put_counts(chatgpt, T0, 11, 40, city=city("Milan", lat=45.46, lon=9.19))
    put_counts(chatgpt, T0, 11, 40)
    ServiceStatus.objects.create(
        service=chatgpt, status="outage", count=400, baseline=60.0, minute=T0 + 9 * MINUTE
    )
    incident(chatgpt, started_at=T0, resolved=False)
    return chatgpt


def moments(value: object) -> list[str]:
    """Every string in a JSON document that starts like an ISO 8601 date and time."""
    if isinstance(value, dict):
        return [found for item in value.values() for found in moments(item)]
    if isinstance(value, list):
        return [found for item in value for found in moments(item)]
    return [value] if isinstance(value, str) and LOOKS_LIKE_A_MOMENT.match(value) else []


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/services/",
        "/api/v1/services/chatgpt/",
        "/api/v1/services/chatgpt/timeseries/",
        "/api/v1/incidents/",
        "/api/v1/map/?service=chatgpt",
        "/s/chatgpt/data.json",
    ],
)
def test_every_moment_in_json_is_utc_with_a_z(client, settings, outage, url):
    settings.TIME_ZONE = "Europe/Rome"  # a site zone with an offset, so a local time would show

    response = client.get(url, HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    found = moments(response.json())
    assert found, f"{url} gave no moment to check"
    assert [text for text in found if not UTC_SECOND.fullmatch(text)] == []


def test_the_incident_api_gives_its_start_as_the_utc_minute(client, outage):
    [incident] = client.get("/api/v1/incidents/").json()

    started = Incident.objects.get().started_at
    assert incident["started_at"] == started.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("query", ["", "format=json"])  # the plain fast path, then DRF's
def test_a_new_report_gives_its_time_in_utc_with_a_z_on_either_intake_path(client, chatgpt, query):
    response = post_report(client, {"service": "chatgpt"}, QUERY_STRING=query)

    assert response.status_code == 201, response.content
    assert response.json()["created_at"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
