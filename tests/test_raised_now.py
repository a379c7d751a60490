"""A banner that stays ok never says the reports are back to normal while they are up.

On a series whose own bursts are big, the calibrated evidence (detection.calibration) stays
ok while the reports run at five times their usual: that is ordinary there, not yet an
outage. The banner must still say what the numbers beside it say (issue 21: "the banner never
contradicts its own numbers"), from the status row's `raised_now`, which the pass sets for
every scope in one place (outages.evidence.evidence_rows)."""

from __future__ import annotations

import datetime as dt

import pytest

from outages.detection_pass import detection_run
from outages.models import Baseline, ServiceStatus
from tests.detection_helpers import MINUTE, T0, flat_baseline, put_counts
from tests.test_country_status import country_baseline, put_country

pytestmark = pytest.mark.django_db

USUAL = 20  # reports a minute
NOW = T0 + 6 * MINUTE


def _five_times_usual_for_six_minutes(service, *, bars: list[float]) -> ServiceStatus:
    """Every report from Italy, so the world and Italy's rows read the same counts."""
    baseline = flat_baseline(service, per_minute=USUAL)
    italy = country_baseline(service, "IT", per_minute=USUAL)
    Baseline.objects.filter(pk__in=[baseline.pk, italy.pk]).update(bars=bars)
    put_counts(service, T0 - dt.timedelta(hours=2), 120, USUAL)
    put_country(service, "IT", T0 - dt.timedelta(hours=2), 120, USUAL)
    put_counts(service, T0, 6, 5 * USUAL)
    put_country(service, "IT", T0, 6, 5 * USUAL)
    detection_run(now=NOW + dt.timedelta(seconds=10))
    return ServiceStatus.objects.get(service=service, scope="")


def test_without_calibration_five_times_the_usual_is_an_outage(chatgpt, time_machine):
    time_machine.move_to(NOW, tick=False)
    row = _five_times_usual_for_six_minutes(chatgpt, bars=[])
    assert (row.status, row.reason, row.raised_now) == ("outage", "spike", True)


def test_on_a_bursty_series_it_stays_ok_and_the_banner_says_reports_are_up_now(client, chatgpt, time_machine):
    time_machine.move_to(NOW, tick=False)
    # Bars of a series whose own bursts score about 60 digits: five times its usual is one of them.
    row = _five_times_usual_for_six_minutes(chatgpt, bars=[60.0, 60.0, 60.0, 60.0])
    assert (row.status, row.reason, row.raised_now) == ("ok", "normal", True)
    italy = ServiceStatus.objects.get(service=chatgpt, scope="IT")
    assert (italy.status, italy.reason, italy.raised_now) == ("ok", "normal", True)

    html = client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reports are above the usual level right now, though not yet clearly enough" in html
    assert "back to their usual level now" not in html
    assert "Reports are at the usual level" not in html
    # The worldwide page in Italian (an Italian visitor's default is Italy's own scope).
    italian = client.get("/s/chatgpt/?country=all", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Le segnalazioni sono sopra il livello consueto in questo momento" in italian
    # ...and Italy's own page, an Italian visitor's default, says the same from its own row.
    italy_page = client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert 'data-country="IT"' in italy_page
    assert "Le segnalazioni sono sopra il livello consueto in questo momento" in italy_page

    api = client.get("/api/v1/services/chatgpt/").json()
    assert (api["status"], api["status_reason"]) == ("ok", "normal")


def test_once_the_last_five_minutes_are_usual_again_the_banner_says_they_were_up_earlier(
    client, chatgpt, time_machine
):
    time_machine.move_to(NOW, tick=False)
    _five_times_usual_for_six_minutes(chatgpt, bars=[60.0, 60.0, 60.0, 60.0])
    put_counts(chatgpt, NOW, 6, USUAL)
    later = NOW + 6 * MINUTE
    time_machine.move_to(later, tick=False)
    detection_run(now=later + dt.timedelta(seconds=10))
    row = ServiceStatus.objects.get(service=chatgpt, scope="")
    assert (row.status, row.raised_now) == ("ok", False)
    html = client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reports were up earlier in this quarter-hour and are back to their usual level now." in html
