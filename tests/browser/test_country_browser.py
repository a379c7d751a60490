"""The country selector on the service page: the headline, the numbers and the status follow
the country chosen, in English and in Italian."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone

from catalogue.models import Service
from geo.models import City
from outages.baselines import baselines_rebuild
from outages.models import ServiceStatus
from outages.status import status_apply
from reports.models import CityMinute, CountryMinute, Report, ServiceMinute
from tests.pages_data import add_reports, usual_week

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# As in test_pages_browser: the README's screenshots change only with SAVE_SCREENSHOTS=1.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("SAVE_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="downradar-screenshots-"))
)


@pytest.fixture
def italy_down():
    """ChatGPT down in Italy (80 reports two minutes ago, over a normal week), 7 reports
    from the United States, as the aggregation and a detection pass leave them."""
    now = timezone.now()
    chatgpt = Service.objects.get(slug="chatgpt")
    usual_week(chatgpt, now=now, cities={"Milan": 4, "Rome": 3}, minutes=240)
    baselines_rebuild(service_ids=[chatgpt.pk], now=now)
    minute = (now - dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    add_reports(chatgpt, at=minute, cities={"Milan": 50, "Rome": 30})
    # The report rows behind the Italian minute, which a country's problems are read from.
    milan, rome = City.objects.get(name_en="Milan"), City.objects.get(name_en="Rome")
    Report.objects.bulk_create(
        Report(
            service=chatgpt,
            problem="login" if i % 8 else "app",
            created_at=minute,
            source="web",
            city=milan if i < 50 else rome,
            country_code="IT",
            network_hash=f"{i:032x}",
            is_aggregated=True,
        )
        for i in range(80)
    )
    mountain_view = City.objects.create(
        name_en="Mountain View", country_code="US", region="California", latitude=37.39, longitude=-122.08
    )
    ServiceMinute.objects.filter(service=chatgpt, minute=minute).update(count=87)
    CityMinute.objects.create(service=chatgpt, city=mountain_view, minute=minute, count=7)
    CountryMinute.objects.create(service=chatgpt, country_code="US", minute=minute, count=7)
    status_apply(
        ServiceStatus(service=chatgpt, evidence="outage", count=87, baseline=4.0, minute=now), None
    ).save()
    for code, evidence, count in (("IT", "outage", 80), ("US", "ok", 7)):
        row = ServiceStatus(
            service=chatgpt, scope=code, evidence=evidence, count=count, baseline=2.0, minute=now
        )
        status_apply(row, None).save()
    return chatgpt


def test_choosing_a_country_on_the_service_page_changes_the_headline_numbers_and_status(
    open_page, italy_down
):
    page = open_page()
    page.clock.install()  # so the minute's refresh can be made to come now
    page.goto("/s/chatgpt/")
    assert page.locator("#headline").inner_text().startswith("ChatGPT worldwide: 87 reports at ")
    assert page.locator("#count-last-hour").inner_text() == "87"

    page.locator("#country-select").select_option("US")
    page.locator("form.country-choice").get_by_role("button", name="Change").click()

    page.wait_for_selector("#headline:has-text('United States')")
    # The refresh timer is set by the page's script: fast-forward only once it has run.
    page.wait_for_load_state("load")
    assert page.locator("#count-last-hour").inner_text() == "7"
    assert "No problems" in page.locator("#status-banner").inner_text()
    assert page.locator("#country-select").input_value() == "US"
    # The minute's refresh asks for the same country.
    page.evaluate("document.getElementById('count-last-hour').textContent = 'stale'")
    page.clock.fast_forward("01:05")
    page.wait_for_selector("#count-last-hour:not(:has-text('stale'))")
    assert page.locator("#count-last-hour").inner_text() == "7"
    assert "United States" in page.locator("#headline").inner_text()


def test_the_italian_view_of_italy_names_the_country_and_its_peak_in_italian(open_page, italy_down):
    page = open_page("it")
    page.goto("/s/chatgpt/?country=IT")

    headline = page.locator("#headline").inner_text()
    assert headline.startswith("ChatGPT in Italia: 80 segnalazioni alle ")
    assert "Problemi rilevati" in page.locator("#status-banner").inner_text()
    assert page.locator("#count-last-hour").inner_text() == "80"
    assert page.locator("#country-select").input_value() == "IT"
    page.wait_for_selector('#chart[data-points="96"]')
    page.wait_for_selector("#small-map path.city-circle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "service-it.png", full_page=True)
