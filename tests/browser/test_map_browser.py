"""The outage maps in a real browser: opened on a country, city names as text, the legend
and heat layer on both maps, the city list steering the map, and no band across the world
for the countries on the 180th meridian."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalogue.models import Service
from geo.models import City
from reports.models import CityMinute, ServiceMinute
from tests.pages_data import add_reports

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MARKUP_NAME = "<b>Lecce</b>"
WORLD_PIXELS_AT_ZOOM_2 = 256 * 2**2


def foreign_reports(
    service: Service, *, at: dt.datetime, name: str, country: str, lat: float, lon: float, n: int
):
    place = City.objects.create(country_code=country, region="", name_en=name, latitude=lat, longitude=lon)
    minute = at.replace(second=0, microsecond=0)
    ServiceMinute.objects.create(service=service, minute=minute, count=n)
    CityMinute.objects.create(service=service, city=place, minute=minute, count=n)


@pytest.fixture
def italy_and_paris():
    """Reports in four Italian cities (one named with markup) and in Paris, a few minutes ago."""
    now = timezone.now()
    chatgpt = Service.objects.get(slug="chatgpt")
    add_reports(chatgpt, at=now - dt.timedelta(minutes=5), cities={"Milan": 40, "Naples": 12, "Turin": 6})
    foreign_reports(
        chatgpt, at=now - dt.timedelta(minutes=6), name=MARKUP_NAME, country="IT", lat=40.35, lon=18.17, n=3
    )
    foreign_reports(
        chatgpt, at=now - dt.timedelta(minutes=7), name="Paris", country="FR", lat=48.85, lon=2.35, n=90
    )
    return chatgpt


def center(page, selector: str = "#spike-map") -> tuple[float, float]:
    lat, lon = page.locator(selector).get_attribute("data-center").split(",")
    return float(lat), float(lon)


def test_the_map_opens_on_italy_and_names_its_cities_as_text(open_page, italy_and_paris):
    page = open_page()
    page.goto("/map/?country=IT&service=chatgpt&minutes=60")

    page.wait_for_selector('#spike-map[data-circles="4"]', state="attached")  # Paris left out
    lat, lon = center(page)
    assert 36 < lat < 47.5 and 6 < lon < 19, (lat, lon)
    assert int(page.locator("#spike-map").get_attribute("data-zoom")) >= 5
    labels = page.locator("#spike-map .leaflet-tooltip.city-label")
    assert sorted(labels.all_inner_texts()) == sorted(["Milan", "Naples", "Turin", MARKUP_NAME])
    assert labels.locator("b").count() == 0
    expect(labels.first).to_be_visible()
    assert page.locator("#map-list .count").first.inner_text() == "40 reports"


def test_without_a_country_or_a_service_the_map_shows_the_world_and_names_on_hover_only(
    open_page, italy_and_paris
):
    page = open_page()
    page.goto("/map/?country=all&minutes=60")

    page.wait_for_selector('#spike-map[data-circles="5"]', state="attached")
    assert page.locator("#spike-map").get_attribute("data-zoom") == "2"
    assert page.locator("#spike-map .leaflet-tooltip.city-label").count() == 0


def test_a_selected_service_s_map_opens_on_its_reports_and_words_the_ratio(open_page, italy_and_paris):
    page = open_page()
    page.goto("/map/?country=all&service=chatgpt&minutes=60")

    page.wait_for_selector('#spike-map[data-circles="5"]', state="attached")
    page.wait_for_function("() => document.getElementById('spike-map').dataset.zoom !== '2'")
    lat, lon = center(page)
    # Between Paris and Lecce, closer in than the world.
    assert 38 < lat < 50 and 0 < lon < 20, (lat, lon)
    assert int(page.locator("#spike-map").get_attribute("data-zoom")) >= 3
    # Lecce's 3 reports where none is usual: read against one report, 3 times; none says "1 times".
    ratios = page.locator("#map-list .level").all_inner_texts()
    assert "3 times the usual" in ratios
    assert not any(text.startswith("1 times") for text in ratios)


def test_a_country_without_reports_opens_on_its_outline(open_page, italy_and_paris):
    page = open_page()
    page.goto("/map/?country=JP&service=chatgpt&minutes=60")

    page.wait_for_selector('#spike-map[data-circles="0"][data-outlines="drawn"]', state="attached")
    page.wait_for_function("() => document.getElementById('spike-map').dataset.zoom !== '2'")
    lat, lon = center(page)
    assert 28 < lat < 46 and 128 < lon < 147, (lat, lon)


def test_the_service_page_map_has_the_legend_and_the_heat_toggle(open_page, italy_and_paris):
    page = open_page(language="it")
    page.goto("/s/chatgpt/?country=IT")

    page.wait_for_selector('#small-map[data-circles="4"]', state="attached")
    legend = page.locator("#small-map + .legend")
    assert legend.locator(".dot").count() == 3
    assert "Picco (4× o più)" in legend.inner_text()  # noqa: RUF001 (the legend writes the sign)
    expect(page.get_by_label("Mappa di calore")).to_be_visible()


def test_the_heat_toggle_adds_and_removes_a_heat_canvas(open_page, italy_and_paris):
    page = open_page()
    page.goto("/map/?country=IT&service=chatgpt&minutes=60")
    page.wait_for_selector('#spike-map[data-circles="4"]', state="attached")
    heat = page.locator("#spike-map canvas.leaflet-heatmap-layer")
    assert heat.count() == 0

    page.get_by_label("Heat map").check()

    heat.wait_for(state="attached")
    assert heat.count() == 1
    assert heat.evaluate("canvas => canvas.width > 0 && canvas.height > 0")
    # Drawn over the land, not under its fill, and the circles still take the clicks.
    panes = page.evaluate(
        """() => ['outlines', 'overlay'].map(name => Number(getComputedStyle(
            document.querySelector('#spike-map .leaflet-' + name + '-pane')).zIndex))"""
    )
    assert panes[0] < panes[1]
    assert heat.evaluate("canvas => canvas.closest('.leaflet-overlay-pane') !== null")
    page.locator("#spike-map path.city-circle").first.click()
    assert "Milan (IT)" in page.locator("#spike-map .leaflet-popup-content").inner_text()
    page.get_by_label("Heat map").uncheck()
    assert heat.count() == 0


def test_clicking_a_city_in_the_list_brings_the_map_to_it(open_page, italy_and_paris):
    page = open_page(height=600)
    page.goto("/map/?country=IT&service=chatgpt&minutes=60")
    page.wait_for_selector('#spike-map[data-circles="4"]', state="attached")
    before = center(page)
    button = page.locator("#map-list .link-button", has_text="Turin")
    button.scroll_into_view_if_needed()
    assert page.locator("#spike-map").bounding_box()["y"] < 0  # the map is scrolled away

    button.click()

    popup = page.locator("#spike-map .leaflet-popup-content")
    popup.wait_for()
    assert "Turin (IT)" in popup.inner_text()
    lat, lon = center(page)
    assert (lat, lon) != before
    assert abs(lat - 45.07) < 2 and abs(lon - 7.69) < 2, (lat, lon)
    box = page.locator("#spike-map").bounding_box()
    assert box["y"] >= -1 and box["y"] + box["height"] <= 600 + 1


def test_russia_and_fiji_draw_no_band_across_the_world(open_page, db):
    page = open_page()
    page.goto("/map/?country=all")
    page.wait_for_selector('#spike-map[data-outlines="drawn"]', state="attached")
    assert page.locator("#spike-map").get_attribute("data-zoom") == "2"

    def width(name: str) -> float:
        return page.locator(f"#spike-map path.country-{name}").bounding_box()["width"]

    # Russia really spans about 170 degrees of longitude; Fiji three.
    assert width("russia") < 0.5 * WORLD_PIXELS_AT_ZOOM_2
    assert width("fiji") < 0.02 * WORLD_PIXELS_AT_ZOOM_2
    widths = page.locator("#spike-map path.country-outline:not(.country-antarctica)").evaluate_all(
        "paths => paths.map(p => p.getBoundingClientRect().width)"
    )
    assert len(widths) > 150 and max(widths) < 0.5 * WORLD_PIXELS_AT_ZOOM_2
