from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalogue.models import Service
from outages.baselines import baselines_rebuild
from outages.models import Incident, IncidentCity, ServiceStatus
from outages.status import status_apply
from tests.pages_data import add_reports, city, outage_now, usual_week

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The README's screenshots are refreshed only on request (SAVE_SCREENSHOTS=1 make test),
# so a test run never changes tracked files; otherwise they go to a scratch folder.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("SAVE_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="downradar-screenshots-"))
)
SCENARIO_CITIES = {"Milan", "Rome", "Naples", "Bologna"}


@pytest.fixture
def scenario():
    """The ChatGPT outage in miniature, happening now, over a normal week."""
    now = timezone.now()
    chatgpt = Service.objects.get(slug="chatgpt")
    usual_week(chatgpt, now=now, cities={"Milan": 4, "Rome": 3, "Naples": 1, "Bologna": 1}, minutes=240)
    baselines_rebuild(service_ids=[chatgpt.pk], now=now)
    outage_now(chatgpt, now=now)
    add_reports(
        Service.objects.get(slug="sora"), at=now - dt.timedelta(minutes=20), cities={"Milan": 9, "Turin": 3}
    )
    # As a detection pass leaves them: the counts' tier, and the status decided from it.
    status_apply(
        ServiceStatus(service=chatgpt, evidence="outage", count=131, baseline=4.0, minute=now), None
    ).save()
    sora = Service.objects.get(slug="sora")
    status_apply(
        ServiceStatus(service=sora, evidence="warning", count=12, baseline=3.0, minute=now), None
    ).save()
    # Every report is from Italy, the country the Italian pages show.
    status_apply(
        ServiceStatus(service=chatgpt, scope="IT", evidence="outage", count=131, baseline=4.0, minute=now),
        None,
    ).save()
    return chatgpt


def test_the_report_form_thanks_and_the_count_goes_up(open_page, scenario):
    page = open_page()
    page.goto("/s/chatgpt/")
    before = int(page.locator("#count-last-hour").inner_text().replace(",", ""))

    page.get_by_label("Login").check()
    page.get_by_role("button", name="Report a problem").click()

    page.wait_for_url("**/s/chatgpt/#thanks")
    assert page.locator("#thanks").inner_text() == "Thank you, your report was counted."
    assert int(page.locator("#count-last-hour").inner_text().replace(",", "")) == before + 1


def test_the_chart_draws_the_day_with_the_usual_range(open_page, scenario):
    page = open_page()
    page.goto("/s/chatgpt/")

    page.wait_for_selector('#chart[data-points="96"]')
    datasets = page.evaluate(
        "() => Chart.getChart('chart').data.datasets.map(d => d.data.reduce((a, b) => a + b, 0))"
    )
    baseline, upper, reports = datasets
    assert reports == 524 and baseline > 0 and upper > baseline
    assert page.locator("#status-banner").inner_text().startswith("✕")
    assert "Problems detected" in page.locator("#status-banner").inner_text()
    page.wait_for_selector("#small-map path.city-circle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "service.png", full_page=True)


def test_the_chart_labels_name_the_service_zone_not_the_browser_s_and_keep_it_on_refresh(open_page, scenario):
    page = open_page(timezone_id="America/New_York")
    page.clock.install()  # so the minute's refresh can be made to come now
    page.goto("/s/chatgpt/")
    page.wait_for_selector('#chart[data-points="96"]')

    rome = ZoneInfo(scenario.timezone)
    starts = page.locator("#chart-rows time").evaluate_all("rows => rows.map(r => r.dateTime)")
    expected = [
        f"{moment:%H:%M %Z}" for moment in (dt.datetime.fromisoformat(s).astimezone(rome) for s in starts)
    ]
    labels = "() => Chart.getChart('chart').data.labels"
    assert page.evaluate(labels) == page.locator("#chart-rows time").all_text_contents() == expected
    assert {label.split()[1] for label in expected} <= {"CET", "CEST"}

    page.evaluate("document.querySelector('#chart-rows tr').dataset.stale = 'yes'")
    page.clock.fast_forward("01:05")
    page.wait_for_selector("#chart-rows tr:first-child:not([data-stale])", state="attached")
    refreshed = page.evaluate(labels)
    assert refreshed == page.locator("#chart-rows time").all_text_contents()
    assert refreshed[-1] == expected[-1] or refreshed[-2] == expected[-1]  # a new bucket may have begun


def test_the_map_shows_a_circle_for_each_city_and_its_numbers_on_click(open_page, scenario):
    page = open_page()
    page.goto("/map/?service=chatgpt&minutes=60")

    page.wait_for_selector('#spike-map[data-circles="4"]', state="attached")
    assert page.locator("#spike-map path.city-circle").count() == 4
    assert page.locator("#spike-map path.level-spike").count() >= 1
    names = page.locator("#map-list .link-button").all_inner_texts()
    assert {name.split(" (")[0] for name in names} == SCENARIO_CITIES
    page.locator("#map-list .link-button").first.click()
    popup = page.locator(".leaflet-popup-content")
    assert "Milan (IT)" in popup.inner_text() and "ChatGPT: 240" in popup.inner_text()
    # The popup fades in and the map pans to it: shoot once both have settled.
    expect(page.locator(".leaflet-popup")).to_have_css("opacity", "1")
    page.wait_for_timeout(400)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "map.png", full_page=True)

    page.select_option("#map-service", "")
    page.wait_for_selector('#spike-map[data-circles="5"]', state="attached")
    assert "service=&minutes=60" in page.url
    # The window, from the keyboard: the radio group moves with the arrow keys.
    page.get_by_label("1 hour").focus()
    with page.expect_response(lambda response: "minutes=360" in response.url):
        page.keyboard.press("ArrowRight")
    assert "minutes=360" in page.url


def test_the_italian_pages_say_milano(open_page, scenario):
    page = open_page("it")
    page.goto("/s/chatgpt/")

    assert page.locator("html").get_attribute("lang") == "it"
    assert page.locator("#cities li .label").all_inner_texts() == ["Milano", "Roma", "Napoli", "Bologna"]
    assert "Problemi rilevati" in page.locator("#status-banner").inner_text()
    page.goto("/map/?service=chatgpt")
    page.wait_for_selector("#map-list .link-button")
    assert page.locator("#map-list .link-button").first.inner_text() == "Milano (IT)"


def test_home_lists_problems_first_and_fits_a_phone(open_page, scenario):
    page = open_page()
    page.goto("/")
    first = page.locator(".service-row").first
    assert first.get_by_role("link", name="ChatGPT", exact=True).count() == 1  # the icon is aria-hidden
    assert first.locator(".service-name svg.service-icon").count() == 1
    assert page.locator(".service-row").first.locator(".status-text").inner_text() == "Problems detected"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "home.png")

    phone = open_page(width=360, height=740)
    for url in ["/", "/s/chatgpt/", "/map/"]:
        phone.goto(url)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360, url
    phone.goto("/s/chatgpt/")
    phone.screenshot(path=SCREENSHOTS / "service-phone.png", full_page=True)


def test_the_incident_page_draws_its_timeline_on_a_phone(open_page, scenario):
    now = timezone.now()
    incident = Incident.objects.create(
        service=scenario,
        status=Incident.Status.CONFIRMED,
        started_at=now - dt.timedelta(minutes=50),
        last_spike_at=now,
        last_elevated_at=now,
        peak_at=now - dt.timedelta(minutes=17),
        peak_count=131,
        problems=[{"code": "login", "count": 460}, {"code": "app", "count": 64}],
    )
    IncidentCity.objects.create(
        incident=incident, city=city("Milan"), count=240, excess=200, first_flagged_at=now
    )
    phone = open_page(width=360, height=740)
    phone.goto(f"/incidents/{incident.pk}/")

    phone.wait_for_selector("#chart[data-points]", state="attached")
    assert int(phone.locator("#chart").get_attribute("data-reports")) == 524
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    text = phone.locator("body").inner_text()
    assert "Confirmed" in text and "Milan" in text and "Login" in text


def test_the_report_form_works_from_the_keyboard(open_page, scenario):
    page = open_page()
    page.goto("/s/chatgpt/")
    page.locator("#report input[type=radio]").first.focus()
    page.keyboard.press("ArrowDown")  # App -> Login
    page.keyboard.press("Tab")  # the optional comment
    assert page.evaluate("document.activeElement.name") == "comment"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    page.wait_for_url("**/#thanks")
    assert "Thank you" in page.locator("#thanks").inner_text()


def test_a_city_name_with_markup_is_shown_as_text_in_the_map_tooltip(open_page, db):
    """City names come from a database anyone can ship: the tooltip must not run them as HTML."""
    from geo.models import City
    from reports.models import CityMinute, ServiceMinute

    now = timezone.now().replace(second=0, microsecond=0)
    chatgpt = Service.objects.get(slug="chatgpt")
    trap = City.objects.create(
        country_code="IT",
        region="",
        name_en='<img src=x onerror="window.pwned=1">',
        latitude=45.0,
        longitude=9.0,
    )
    ServiceMinute.objects.create(service=chatgpt, minute=now, count=5)
    CityMinute.objects.create(service=chatgpt, city=trap, minute=now, count=5)
    page = open_page()
    page.goto("/map/?service=chatgpt&minutes=60")
    page.wait_for_selector('#spike-map[data-circles="1"]', state="attached")

    page.locator("#spike-map path.city-circle").first.hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()

    assert tooltip.inner_text() == trap.name_en
    assert tooltip.locator("img").count() == 0
    assert page.evaluate("() => window.pwned === undefined")


def test_numbers_keep_their_format_after_the_live_refresh_in_italian(open_page, scenario):
    """1.251 stays 1.251: the server and the page's script group digits the same way."""
    add_reports(scenario, at=timezone.now() - dt.timedelta(minutes=2), cities={"Milan": 1200})
    page = open_page(language="it")
    page.clock.install()
    page.goto("/s/chatgpt/")
    served = page.locator("#count-last-hour").inner_text()
    assert "." in served  # over a thousand, grouped as Italian writes it

    page.evaluate("document.getElementById('count-last-hour').dataset.stale = 'yes'")
    page.evaluate("document.getElementById('count-last-hour').textContent = ''")
    page.clock.fast_forward("01:05")
    page.locator("#count-last-hour").filter(has_text=served).wait_for()

    assert page.locator("#count-last-hour").inner_text() == served


def test_the_search_button_lines_up_with_its_field(open_page, db):
    page = open_page()
    page.goto("/")

    field = page.locator("form.search input[type=search]").bounding_box()
    button = page.locator("form.search button").bounding_box()

    assert abs(field["y"] - button["y"]) < 1 and abs(field["height"] - button["height"]) < 1


def test_one_report_on_the_map_is_one_report_not_one_reports(open_page, db):
    from geo.models import City
    from reports.models import CityMinute, ServiceMinute

    now = timezone.now().replace(second=0, microsecond=0)
    chatgpt = Service.objects.get(slug="chatgpt")
    lone = City.objects.create(country_code="IT", region="", name_en="Lecce", latitude=40.35, longitude=18.17)
    ServiceMinute.objects.create(service=chatgpt, minute=now, count=1)
    CityMinute.objects.create(service=chatgpt, city=lone, minute=now, count=1)
    page = open_page(language="it")
    page.goto("/map/?service=chatgpt&minutes=60")
    page.wait_for_selector('#spike-map[data-circles="1"]', state="attached")

    assert page.locator("#map-list .count").first.inner_text() == "1 segnalazione"
