"""A rise a reviewer dismissed: its reports stop driving the status, its incident never
re-opens and ends with its rise, and only a clearly new rise opens another incident. Each
minute is its own live pass, as the beat runs it."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from outages.detection_pass import detection_run_range
from outages.escalations import clearly_new
from outages.models import Incident, ServiceStatus
from outages.review.services import incident_act
from reports.models import CountryMinute, ServiceMinute
from tests.detection_helpers import MINUTE, T0, flat_baseline, put_counts
from tests.test_country_status import country_baseline, put_country

pytestmark = pytest.mark.django_db

NOTE = "A TV show asked viewers to try ChatGPT."


def live(service, first: dt.datetime, last: dt.datetime) -> list[dict[str, tuple[str, str]]]:
    """Run the pass minute by minute; each minute's (status, reason) by scope ("" the world)."""
    seen = []
    at = first
    while at <= last:
        detection_run_range(start=at, end=at)
        rows = ServiceStatus.objects.filter(service=service).values_list("scope", "status", "reason")
        seen.append({scope: (status, reason) for scope, status, reason in rows})
        at += MINUTE
    return seen


def raise_counts(service, start: dt.datetime, minutes: int, *, world: int, italy: int) -> None:
    """Put the minutes' counts (already written as quiet ones) up to a rise."""
    end = start + (minutes - 1) * MINUTE
    ServiceMinute.objects.filter(service=service, minute__range=(start, end)).update(count=world)
    CountryMinute.objects.filter(service=service, country_code="IT", minute__range=(start, end)).update(
        count=italy
    )


@pytest.fixture
def media_bump(chatgpt, reviewer) -> Incident:
    """ChatGPT at its usual 4 a minute (2 from Italy, 2 from the United States), then from T0
    a rise in Italy to 42 a minute for 45 minutes, which a reviewer dismisses as media-driven
    at T0 + 5 while it goes on. Quiet minutes are written up to T0 + 5 hours."""
    flat_baseline(chatgpt, per_minute=4)
    country_baseline(chatgpt, "IT", per_minute=2)
    country_baseline(chatgpt, "US", per_minute=2)
    start = T0 - dt.timedelta(hours=2)
    put_counts(chatgpt, start, 7 * 60, 4)
    put_country(chatgpt, "IT", start, 7 * 60, 2)
    put_country(chatgpt, "US", start, 7 * 60, 2)
    raise_counts(chatgpt, T0, 45, world=42, italy=40)
    assert live(chatgpt, T0, T0 + 5 * MINUTE)[-1][""] == ("outage", "spike")
    incident = Incident.objects.get()
    return incident_act(
        incident_id=incident.pk,
        action="dismiss",
        actor=reviewer,
        now=T0 + 5 * MINUTE + dt.timedelta(seconds=10),
        reason="media",
        public_note=NOTE,
    )


def test_a_rise_dismissed_while_it_goes_on_is_ok_in_every_later_pass_and_in_its_country(chatgpt, media_bump):
    # The review action stores the new status at once.
    world = ServiceStatus.objects.world().get(service=chatgpt)
    assert (world.status, world.reason, world.incident_id) == ("ok", "dismissed", None)

    seen = live(chatgpt, T0 + 6 * MINUTE, T0 + 44 * MINUTE)

    assert {minute[""] for minute in seen} == {("ok", "dismissed")}  # never back to outage
    assert {minute["IT"] for minute in seen} == {("ok", "dismissed")}  # the same rule
    assert {minute["US"] for minute in seen} == {("ok", "normal")}
    incident = Incident.objects.get()
    assert (incident.status, incident.ongoing) == ("dismissed", True)
    assert incident.last_spike_at == T0 + 44 * MINUTE  # it absorbs its own rise
    assert not incident.escalations.exists()


def test_the_page_and_the_api_say_a_reviewer_judged_the_rise_unrelated_with_the_note(
    chatgpt, media_bump, client
):
    live(chatgpt, T0 + 6 * MINUTE, T0 + 10 * MINUTE)

    detail = client.get("/api/v1/services/chatgpt/").json()
    italy = client.get("/api/v1/services/chatgpt/?country=IT").json()
    page = client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    italian = client.get("/s/chatgpt/?country=IT", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    assert (detail["status"], detail["status_reason"], detail["incident"]) == ("ok", "dismissed", None)
    assert (italy["status"], italy["status_reason"]) == ("ok", "dismissed")
    banner = re.search(r'<section id="status-banner" class="banner status-(\w+)".*?</section>', page, re.S)
    said = " ".join(re.sub(r"<[^>]+>", " ", banner[0]).split())
    assert banner[1] == detail["status"]
    assert "a reviewer judged the rise unrelated to an outage of ChatGPT. " + NOTE in said
    assert "un revisore ha giudicato" in italian


def test_a_dismissed_incident_ends_with_its_rise_and_never_reopens(chatgpt, media_bump):
    seen = live(chatgpt, T0 + 6 * MINUTE, T0 + 99 * MINUTE)
    incident = Incident.objects.get()
    assert not incident.ongoing
    # Its last elevated minute, soon after the rise ended at T0 + 44, not the dismissal.
    assert T0 + 45 * MINUTE <= incident.resolved_at == incident.last_elevated_at + MINUTE
    assert {minute[""][0] for minute in seen} == {"ok"}
    assert seen[-1][""] == ("ok", "normal")
    resolved_at = incident.resolved_at

    # The same rise comes back before it could have re-opened an incident (REOPEN_MINUTES),
    # and lasts past that hour.
    again = T0 + 100 * MINUTE
    assert again - resolved_at < dt.timedelta(minutes=60)
    raise_counts(chatgpt, again, 30, world=42, italy=40)
    seen = live(chatgpt, again, again + 29 * MINUTE)

    incident.refresh_from_db()
    assert Incident.objects.count() == 1
    assert (incident.ongoing, incident.resolved_at) == (False, resolved_at)  # its duration stays
    assert incident.last_spike_at == again + 29 * MINUTE  # the rise it absorbed
    assert {minute[""] for minute in seen} <= {("ok", "dismissed"), ("ok", "normal")}
    assert seen[-1][""] == seen[-1]["IT"] == ("ok", "dismissed")


def test_a_clearly_bigger_new_rise_opens_a_new_incident_and_shows_an_outage(chatgpt, media_bump, client):
    # Thirty-five minutes into the dismissed rise, five times as many reports.
    raise_counts(chatgpt, T0 + 35 * MINUTE, 10, world=210, italy=200)

    seen = live(chatgpt, T0 + 6 * MINUTE, T0 + 44 * MINUTE)

    worlds = [minute[""] for minute in seen]
    first = worlds.index(("outage", "spike"))
    assert set(worlds[:first]) == {("ok", "dismissed")}
    assert set(worlds[first:]) == {("outage", "spike")}  # no flapping back
    assert T0 + (6 + first) * MINUTE <= T0 + 40 * MINUTE  # within 5 minutes of the new rise
    dismissed, new = Incident.objects.order_by("started_at")
    assert (dismissed.status, new.status, new.ongoing) == ("dismissed", "suspected", True)
    assert new.started_at == T0 + 35 * MINUTE  # the new rise, not the dismissed one
    assert dismissed.resolved_at == new.started_at  # the dismissed incident ends there
    detail = client.get("/api/v1/services/chatgpt/").json()
    assert (detail["status"], detail["incident"]["id"]) == ("outage", new.pk)


def test_a_clearly_bigger_rise_soon_after_the_dismissed_one_ended_opens_a_new_incident(chatgpt, media_bump):
    live(chatgpt, T0 + 6 * MINUTE, T0 + 99 * MINUTE)
    assert not Incident.objects.get().ongoing
    raise_counts(chatgpt, T0 + 100 * MINUTE, 10, world=210, italy=200)

    seen = live(chatgpt, T0 + 100 * MINUTE, T0 + 109 * MINUTE)

    assert seen[-1][""] == seen[-1]["IT"] == ("outage", "spike")
    dismissed, new = Incident.objects.order_by("started_at")
    assert (dismissed.status, dismissed.resolved_at) == ("dismissed", dismissed.last_elevated_at + MINUTE)
    assert (new.status, new.ongoing, new.started_at) == ("suspected", True, T0 + 100 * MINUTE)


def test_what_is_clearly_new_after_a_dismissed_rise():
    # The dismissed incident (started at minute 0) peaked at 600 before the window.
    rise = {"minute": 40, "baseline": 60.0, "previous_peak": 600.0, "spike": True, "started": 0, "bar": 10.0}
    assert clearly_new(count=1200, score=10.0, **rise)
    assert not clearly_new(count=900, score=50.0, **rise)  # the rise growing by half
    assert not clearly_new(count=1200, score=9.9, **rise)  # under the second incident's bar
    assert not clearly_new(count=1200, score=10.0, **{**rise, "spike": False})
    assert not clearly_new(count=1200, score=10.0, **{**rise, "minute": 20})  # not settled yet
