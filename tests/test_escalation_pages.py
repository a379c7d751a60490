"""Escalations and re-openings as the public sees them: on the incident page, the service page
(in the service's time zone, in English and Italian) and in the incidents API (UTC, Z)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from outages.models import IncidentEscalation, IncidentReopening, ServiceStatus
from tests.detection_helpers import MINUTE, T0
from tests.review_helpers import incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def escalated(chatgpt):
    """An ongoing incident of ChatGPT that escalated at 12:52 UTC."""
    ongoing = incident(chatgpt, resolved=False, minutes=90, peak_count=900)
    IncidentEscalation.objects.create(
        incident=ongoing, at=T0 + 52 * MINUTE, count=620, baseline=60.0, previous_peak=300
    )
    return ongoing


def local(moment: dt.datetime, service) -> str:
    return moment.astimezone(ZoneInfo(service.timezone)).strftime("%H:%M")


def test_the_incident_page_shows_the_escalation_in_english_and_italian(client, escalated, chatgpt):
    at = local(T0 + 52 * MINUTE, chatgpt)

    english = client.get(f"/incidents/{escalated.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    italian = client.get(f"/incidents/{escalated.pk}/", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    assert f"Reports rising sharply again at {at}" in english
    assert f"Segnalazioni di nuovo in forte aumento alle {at}" in italian


def test_the_service_page_shows_the_latest_escalation_of_an_incident(client, escalated, chatgpt):
    IncidentEscalation.objects.create(
        incident=escalated, at=T0 + 80 * MINUTE, count=1900, baseline=60.0, previous_peak=900
    )

    english = client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    italian = client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    latest = local(T0 + 80 * MINUTE, chatgpt)
    assert f"Reports rising sharply again at {latest}" in english
    assert f"Reports rising sharply again at {local(T0 + 52 * MINUTE, chatgpt)}" not in english
    assert f"Segnalazioni di nuovo in forte aumento alle {latest}" in italian


def test_the_incidents_api_lists_escalations_in_utc(client, escalated):
    [row] = client.get("/api/v1/incidents/?service=chatgpt").json()

    assert row["escalations"] == [{"at": "2026-03-10T12:52:00Z", "count": 620, "previous_peak": 300}]


def test_the_incident_page_and_the_api_show_a_re_opening_among_the_updates_in_order(
    client, escalated, chatgpt
):
    IncidentReopening.objects.create(incident=escalated, at=T0 + 40 * MINUTE, resolved_at=T0 + 25 * MINUTE)
    again, resolved = local(T0 + 40 * MINUTE, chatgpt), local(T0 + 25 * MINUTE, chatgpt)

    english = client.get(f"/incidents/{escalated.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    italian = client.get(f"/incidents/{escalated.pk}/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    [row] = client.get("/api/v1/incidents/?service=chatgpt").json()

    back = f"Problems again since {again}"
    assert f"{back} CET, after it had resolved at {resolved} CET" in english
    # Oldest first: the re-opening at 12:40 UTC comes before the escalation at 12:52.
    assert english.index(back) < english.index("Reports rising sharply again at")
    assert f"Di nuovo problemi dalle {again} CET, dopo la risoluzione delle {resolved} CET" in italian
    assert row["reopenings"] == [{"at": "2026-03-10T12:40:00Z", "resolved_at": "2026-03-10T12:25:00Z"}]


def test_after_a_re_opening_the_api_and_the_banner_say_problems_since_the_re_opening(client, chatgpt):
    # Opened at 12:00 UTC, resolved at 12:30, back at 14:10: the problems shown began at 14:10.
    back = T0 + 130 * MINUTE
    ongoing = incident(chatgpt, resolved=False, minutes=150)
    ongoing.reopen(back)
    ongoing.save()
    ServiceStatus.objects.create(
        service=chatgpt,
        status="outage",
        reason="incident_open",
        incident=ongoing,
        count=300,
        baseline=40.0,
        minute=back,
    )

    body = client.get("/api/v1/services/chatgpt/").json()
    page = client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    italian = client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    assert body["since"] == "2026-03-10T14:10:00Z"
    assert f"Problems since {local(back, chatgpt)}" in page
    assert f"Problems since {local(T0, chatgpt)}" not in page
    # The recent incidents say it too.
    assert f"Problems again since {local(back, chatgpt)}" in page
    assert f"Di nuovo problemi dalle {local(back, chatgpt)}" in italian
