from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.cache import cache

from catalogue.models import Service
from outages.baselines import baselines_rebuild
from outages.models import Incident, IncidentCity, IncidentEscalation, IncidentReopening, ServiceStatus
from outages.status import status_apply
from reports.aggregation import reports_aggregate
from tests.pages_data import add_reports, city, outage_now, usual_week

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 31, 15, 0, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def status(service: Service, tier: str, count: int = 0) -> None:
    """The row a detection pass leaves when the counts alone say `tier`."""
    row = ServiceStatus(service=service, evidence=tier, count=count, baseline=3.0, minute=NOW)
    status_apply(row, None).save()


def country_status(service: Service, country: str, tier: str, count: int = 0) -> None:
    """The row a detection pass leaves for a country when its counts alone say `tier`."""
    row = ServiceStatus(service=service, scope=country, evidence=tier, count=count, baseline=3.0, minute=NOW)
    status_apply(row, None).save()


def page(client, url: str, language: str = "en") -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


# --- home ----------------------------------------------------------------------------------


def test_home_lists_services_with_problems_first_in_words_and_symbols(client, chatgpt):
    status(Service.objects.get(slug="steam"), "warning")
    status(chatgpt, "outage")

    html = page(client, "/")

    names = re.findall(r'class="service-name" href="/s/([\w-]+)/"', html)
    assert names[:2] == ["chatgpt", "steam"]
    assert "Problems detected" in html and "Possible problems" in html and "No problems" in html
    assert "2 services have problems right now." in html
    assert '<span class="status-icon" aria-hidden="true">✕</span>' in html


def test_home_draws_a_sparkline_of_the_last_24_hours(client, chatgpt):
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=5), cities={"Milan": 7})

    html = page(client, "/")

    row = html[html.index('data-slug="chatgpt"') :]
    # 24 clock hours: 18:00 CEST yesterday (16:00 UTC) to the hour in progress, named.
    assert 'aria-label="7 reports in the 24 clock hours from 18:00 CEST"' in row[: row.index("</li>")]


def test_home_search_finds_services_by_name(client):
    html = page(client, "/?q=chat")

    assert "ChatGPT" in html and "Netflix" not in html


def test_home_is_in_italian_when_the_browser_asks(client, chatgpt):
    status(chatgpt, "outage")

    html = page(client, "/?country=all", "it")  # Italian alone would mean Italy

    assert "Problemi rilevati" in html
    assert "Cerca un servizio" in html


# The country selector's list of countries, shared site-wide from the cache for ten minutes.
SELECTOR_QUERIES = 1


@pytest.mark.parametrize("url", ["/", "/?country=IT"])
def test_home_runs_the_same_queries_for_any_number_of_services(
    client, chatgpt, django_assert_num_queries, url
):
    # The services with their status in the scope shown (one join, worldwide or in a country), the live hour's
    # sums and the past hours' sums...
    with django_assert_num_queries(3 + SELECTOR_QUERIES):
        client.get(url)
    # ...which are then shared from the cache.
    with django_assert_num_queries(2):
        client.get(url)
    for index in range(20):
        service = Service.objects.create(slug=f"svc-{index}", name=f"Service {index}")
        status(service, "warning")
        country_status(service, "IT", "warning")
        add_reports(service, at=NOW - dt.timedelta(hours=index % 24), cities={"Rome": 2})
    cache.clear()

    with django_assert_num_queries(3 + SELECTOR_QUERIES):
        html = page(client, url)
    with django_assert_num_queries(2):
        client.get(url)
    assert "20 services have problems right now." in html


def test_the_home_rows_kept_rendered_never_outlive_what_they_show(client, chatgpt):
    def chatgpt_row() -> str:
        return page(client, "/").split('data-slug="chatgpt"', 1)[1].split("</li>", 1)[0]

    assert "status-ok" in chatgpt_row()
    status(chatgpt, "outage")  # the next request reads the new status; the rows follow it
    assert "status-outage" in chatgpt_row()
    Service.objects.filter(pk=chatgpt.pk).update(name="ChatGPT (OpenAI)")
    assert "ChatGPT (OpenAI)</a>" in chatgpt_row()
    italian = (
        page(client, "/?country=all", language="it").split('data-slug="chatgpt"', 1)[1].split("</li>", 1)[0]
    )
    assert "status-outage" in italian and "ChatGPT (OpenAI)</a>" in italian and "segnalazion" in italian


def test_home_data_gives_each_service_status_and_sparkline(client, chatgpt):
    status(chatgpt, "outage")
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=5), cities={"Milan": 7})

    data = client.get("/data.json").json()

    row = next(row for row in data["services"] if row["slug"] == "chatgpt")
    assert row["status"] == {"code": "outage", "text": "Problems detected", "icon": "✕"}
    assert len(row["sparkline"]) == 24 and row["sparkline"][-2:] == [7, 0]


# --- service page --------------------------------------------------------------------------


def test_service_page_shows_the_outage_banner_numbers_problems_and_cities(client, chatgpt):
    status(chatgpt, "outage", count=160)
    outage_now(chatgpt, now=NOW)

    html = page(client, "/s/chatgpt/")

    assert 'class="banner status-outage"' in html and "Problems detected" in html
    assert '<strong id="count-last-hour">524</strong>' in html
    assert re.search(r'<span class="label">Login</span> <span class="percent">88%</span>', html)
    assert re.search(r'<span class="label">App</span> <span class="percent">12%</span>', html)
    cities = re.findall(r'<ol class="cities" id="cities">(.*?)</ol>', html, re.S)[0]
    assert re.findall(r'<span class="label">(\w+)</span>', cities) == ["Milan", "Rome", "Naples", "Bologna"]
    assert 'href="https://status.openai.com' in html


def test_italian_service_page_names_the_cities_in_italian(client, chatgpt):
    outage_now(chatgpt, now=NOW)

    html = page(client, "/s/chatgpt/", "it")

    cities = re.findall(r'<ol class="cities" id="cities">(.*?)</ol>', html, re.S)[0]
    assert re.findall(r'<span class="label">(\w+)</span>', cities) == ["Milano", "Roma", "Napoli", "Bologna"]
    assert "Problemi più segnalati" in html
    assert "Ho un problema con ChatGPT" in html


def test_service_chart_data_has_96_buckets_with_the_detectors_usual_range(client, chatgpt):
    usual_week(chatgpt, now=NOW, cities={"Milan": 4}, minutes=15)
    baselines_rebuild(service_ids=[chatgpt.pk], now=NOW)
    outage_now(chatgpt, now=NOW)

    html = page(client, "/s/chatgpt/")

    raw = re.search(r'<script id="timeseries-data" type="application/json">(.*?)</script>', html, re.S)[1]
    series = json.loads(raw)
    assert len(series) == 96
    assert series[-1]["start"] == "2025-03-31T15:00:00Z"
    # The band is the detector's stored baseline: the outage's 131 reports stand far above it.
    assert 0 < series[-2]["baseline"] < series[-2]["upper"] < series[-2]["count"] == 131
    assert all(bucket["baseline"] is not None for bucket in series)


# Service and status, problem types, past sums, baseline, live sums, the cities' usual,
# cities, incidents, approved comments (and SELECTOR_QUERIES on a cold cache).
SERVICE_PAGE_QUERIES = 9
# The past minutes' sums, the baseline band and the cities' usual come from the cache.
SERVICE_PAGE_QUERIES_CACHED = 6


# In a country, the recent incidents' peaks there take one more query.
@pytest.mark.parametrize(("query", "country_queries"), [("", 0), ("?country=IT", 1)])
def test_service_page_runs_the_same_queries_for_any_number_of_cities(
    client, chatgpt, django_assert_num_queries, query, country_queries
):
    Incident.objects.create(
        service=chatgpt, started_at=NOW, last_spike_at=NOW, last_elevated_at=NOW, peak_at=NOW, peak_count=9
    )
    add_reports(chatgpt, at=NOW - dt.timedelta(minutes=3), cities={"Milan": 1})
    with django_assert_num_queries(SERVICE_PAGE_QUERIES + country_queries + SELECTOR_QUERIES):
        client.get(f"/s/chatgpt/{query}")
    outage_now(chatgpt, now=NOW)
    usual_week(chatgpt, now=NOW, cities={"Turin": 3, "Rome": 2})
    baselines_rebuild(service_ids=[chatgpt.pk], now=NOW)
    status(chatgpt, "outage")
    country_status(chatgpt, "IT", "outage")
    cache.clear()

    with django_assert_num_queries(SERVICE_PAGE_QUERIES + country_queries + SELECTOR_QUERIES):
        html = page(client, f"/s/chatgpt/{query}")
    with django_assert_num_queries(SERVICE_PAGE_QUERIES_CACHED + country_queries):
        again = page(client, f"/s/chatgpt/{query}")
    assert 'class="banner status-outage"' in html
    if not query:
        assert (
            '<strong id="count-last-hour">525</strong>' in html
            and '<strong id="count-last-hour">525</strong>' in again
        )
    # The refresh reads the same numbers without the incidents and the comments.
    with django_assert_num_queries(SERVICE_PAGE_QUERIES_CACHED - 2):
        client.get(f"/s/chatgpt/data.json{query}")


def test_a_new_report_counts_at_once_and_the_count_never_steps_back(client, chatgpt):
    outage_now(chatgpt, now=NOW)
    before = client.get("/s/chatgpt/data.json").json()  # the older minutes are now cached

    response = client.post(
        "/api/v1/reports/",
        {"service": "chatgpt", "problem": "login"},
        content_type="application/json",
        REMOTE_ADDR="93.56.1.1",
    )
    assert response.status_code == 201
    pending = client.get("/s/chatgpt/data.json").json()
    reports_aggregate()
    aggregated = client.get("/s/chatgpt/data.json").json()

    for data in (pending, aggregated):
        assert data["count_last_hour"] == before["count_last_hour"] + 1
        assert data["count_last_day"] == before["count_last_day"] + 1
        assert data["cities"][0]["count"] == before["cities"][0]["count"] + 1
        assert data["timeseries"][-1]["count"] == before["timeseries"][-1]["count"] + 1


def test_the_shared_numbers_never_mix_languages(client, chatgpt):
    outage_now(chatgpt, now=NOW)

    italian = client.get("/s/chatgpt/data.json", HTTP_ACCEPT_LANGUAGE="it").json()
    english = client.get("/s/chatgpt/data.json", HTTP_ACCEPT_LANGUAGE="en").json()
    italian_page = page(client, "/s/chatgpt/", "it")

    assert [row["city"] for row in italian["cities"]] == ["Milano", "Roma", "Napoli", "Bologna"]
    assert [row["city"] for row in english["cities"]] == ["Milan", "Rome", "Naples", "Bologna"]
    assert italian["problems"][0]["label"] == "Accesso" and english["problems"][0]["label"] == "Login"
    assert italian["status"]["text"] == "Nessun problema" and english["status"]["text"] == "No problems"
    assert "Milano" in italian_page and ">Milan<" not in italian_page


def test_service_data_json_refreshes_every_number_in_the_page_language(client, chatgpt):
    status(chatgpt, "warning")
    outage_now(chatgpt, now=NOW)

    data = client.get("/s/chatgpt/data.json", HTTP_ACCEPT_LANGUAGE="it").json()

    assert {key: data["status"][key] for key in ("code", "text", "icon", "reason")} == {
        "code": "warning",
        "text": "Possibili problemi",
        "icon": "!",
        "reason": "spike",
    }
    assert (
        data["status"]["reason_text"]
        == "Le segnalazioni sono molto sopra il normale per quest'ora del giorno."
    )
    assert data["status"]["window_text"] == "Dalle 17:00 CEST: 0 segnalazioni, di solito circa 3."
    assert data["count_last_hour"] == 524
    assert [row["city"] for row in data["cities"]] == ["Milano", "Roma", "Napoli", "Bologna"]
    assert len(data["timeseries"]) == 96
    assert data["problems"][0] == {"label": "Accesso", "count": 460, "percent": 88}


def test_service_page_lists_recent_incidents_but_not_dismissed_ones(client, chatgpt):
    shown = Incident.objects.create(
        service=chatgpt, started_at=NOW, last_spike_at=NOW, last_elevated_at=NOW, peak_at=NOW, peak_count=131
    )
    hidden = Incident.objects.create(
        service=chatgpt,
        status=Incident.Status.DISMISSED,
        started_at=NOW - dt.timedelta(days=1),
        last_spike_at=NOW,
        last_elevated_at=NOW,
        peak_at=NOW,
    )

    html = page(client, "/s/chatgpt/")

    assert f'href="/incidents/{shown.pk}/"' in html
    assert f'href="/incidents/{hidden.pk}/"' not in html
    assert "peak 131 reports per 15 minutes" in html
    assert "Suspected" in html


def test_a_confirmed_incident_shows_as_a_confirmed_outage_with_the_reviewers_public_note(client, chatgpt):
    from django.contrib.auth.models import User

    from outages.review.services import incident_act

    incident = Incident.objects.create(
        service=chatgpt, started_at=NOW, last_spike_at=NOW, last_elevated_at=NOW, peak_at=NOW, peak_count=131
    )
    reviewer = User.objects.create_superuser("lead", password="x" * 20)
    incident_act(
        incident_id=incident.pk,
        action="confirm",
        actor=reviewer,
        now=NOW,
        public_note="OpenAI confirms login errors.",
    )

    html = page(client, "/s/chatgpt/")

    assert "Confirmed outage" in html
    assert "OpenAI confirms login errors." in html


# --- incident page -------------------------------------------------------------------------


def test_incident_page_shows_status_peak_duration_cities_and_problems(client, chatgpt):
    outage_now(chatgpt, now=NOW)
    started = NOW - dt.timedelta(minutes=55)
    incident = Incident.objects.create(
        service=chatgpt,
        status=Incident.Status.CONFIRMED,
        started_at=started,
        last_spike_at=NOW,
        last_elevated_at=NOW,
        peak_at=NOW - dt.timedelta(minutes=15),
        peak_count=131,
        problems=[{"code": "login", "count": 460}, {"code": "app", "count": 64}],
    )
    for rank, name in enumerate(["Milan", "Rome", "Naples", "Bologna"]):
        IncidentCity.objects.create(
            incident=incident, city=city(name), count=200 - rank, excess=100 - rank, first_flagged_at=started
        )

    html = page(client, f"/incidents/{incident.pk}/", "it")

    assert "Disservizio confermato · in corso" in html
    assert "55 minuti" in html
    assert "131 segnalazioni in 15 minuti" in html
    assert re.findall(r'<span class="label">(\w+)</span> <span class="country">', html) == [
        "Milano",
        "Roma",
        "Napoli",
        "Bologna",
    ]
    assert "Accesso" in html and "88%" in html
    raw = re.search(r'<script id="timeseries-data" type="application/json">(.*?)</script>', html, re.S)[1]
    assert sum(row["count"] for row in json.loads(raw)) == 524


def test_an_incident_without_a_city_says_why_in_a_sentence_not_as_a_numbered_city(client, chatgpt):
    incident = Incident.objects.create(
        service=chatgpt,
        started_at=NOW - dt.timedelta(minutes=5),
        last_spike_at=NOW,
        last_elevated_at=NOW,
        peak_at=NOW - dt.timedelta(minutes=5),
        peak_count=40,
    )

    html = page(client, f"/incidents/{incident.pk}/")

    section = html[html.index("<h2>Affected cities</h2>") :]
    section = section[: section.index("</section>")]
    assert '<ol class="cities">' not in section and "<li" not in section
    assert "No city's reports stand out from its usual level: they are spread across the country." in section


def test_incident_page_runs_seven_queries_however_many_cities_and_updates(
    client, chatgpt, django_assert_num_queries
):
    incident = Incident.objects.create(
        service=chatgpt, started_at=NOW, last_spike_at=NOW, last_elevated_at=NOW, peak_at=NOW, peak_count=9
    )
    # The incident with its service, the problem types, the cities, the escalations, the
    # re-openings, the timeline, and how many services spiked with it (the shared-provider hint).
    with django_assert_num_queries(7 + SELECTOR_QUERIES):
        client.get(f"/incidents/{incident.pk}/")
    outage_now(chatgpt, now=NOW)
    for rank, name in enumerate(["Milan", "Rome", "Naples", "Bologna", "Turin"]):
        IncidentCity.objects.create(
            incident=incident, city=city(name), count=9 - rank, excess=5, first_flagged_at=NOW
        )
        IncidentEscalation.objects.create(
            incident=incident, at=NOW + dt.timedelta(hours=rank + 1), count=90, baseline=5.0, previous_peak=40
        )
        IncidentReopening.objects.create(
            incident=incident, at=NOW + dt.timedelta(hours=rank + 1, minutes=30), resolved_at=NOW
        )

    with django_assert_num_queries(7):
        html = page(client, f"/incidents/{incident.pk}/")
    assert "Turin" in html
    assert html.count("Reports rising sharply again at") == 5
    assert html.count("Problems again since") == 5


def test_a_dismissed_or_unknown_incident_is_404(client, chatgpt):
    dismissed = Incident.objects.create(
        service=chatgpt,
        status=Incident.Status.DISMISSED,
        started_at=NOW,
        last_spike_at=NOW,
        last_elevated_at=NOW,
        peak_at=NOW,
    )

    assert client.get(f"/incidents/{dismissed.pk}/").status_code == 404
    assert client.get("/incidents/999999/").status_code == 404


# --- map page and all pages ----------------------------------------------------------------


def test_map_page_offers_every_service_and_the_three_windows(client):
    html = page(client, "/map/?service=chatgpt&minutes=360")

    assert '<option value="chatgpt" selected>ChatGPT</option>' in html
    assert 'value="360" checked' in html
    assert 'data-api="/api/v1/map/"' in html
    assert "countries-110m" in html


PAGES = ["/", "/s/chatgpt/", "/map/", "/s/chatgpt/?q=1"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_have_no_inline_scripts_handlers_or_outside_assets(client, chatgpt, url):
    html = page(client, url)

    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+=", html)
    # Assets are self-hosted; the only outside addresses are links: the data credits in the
    # footer and a service's own status page (the canonical link names the site itself).
    credits = r"db-ip\.com|www\.routeviews\.org/|www\.nro\.net/|creativecommons\.org/licenses/"
    assert not re.search(r'\ssrc="(https?:)?//', html)
    assert not re.search(rf'href="(https?:)?//(?!{credits}|status\.openai\.com|testserver/)', html)


@pytest.mark.parametrize("url", PAGES)
def test_every_form_field_has_a_label(client, chatgpt, url):
    html = page(client, url)

    for field in re.findall(r"<(?:input|select)\b[^>]*>", html):
        if 'type="hidden"' in field or ('type="radio"' in field and "<label" in html):
            continue
        field_id = re.search(r'id="([^"]+)"', field)
        assert field_id and f'for="{field_id[1]}"' in html, field


def test_footer_credits_db_ip_when_the_bundled_database_is_in_use(client, settings):
    settings.GEOIP_PATH = settings.BUNDLED_GEOIP_PATH

    assert "IP Geolocation by DB-IP" in page(client, "/")


def test_the_service_page_links_its_feeds_alerts_share_and_embed(client, chatgpt):
    html = page(client, "/s/chatgpt/")

    assert (
        '<link rel="alternate" type="application/atom+xml"' in html
        and 'href="/s/chatgpt/incidents.atom"' in html
    )
    assert '<link rel="alternate" type="application/rss+xml"' in html
    assert 'href="/s/chatgpt/subscribe/"' in html and 'href="/s/chatgpt/embed/code/"' in html
    # Relative: the script hands the absolute address (a.href) to the share sheet or clipboard.
    assert 'class="share" href="/s/chatgpt/"' in html


def test_the_service_page_lists_the_ongoing_incident_s_problems_beside_the_last_24_hours(client, chatgpt):
    outage_now(chatgpt, now=NOW)
    ongoing = Incident.objects.create(
        service=chatgpt,
        started_at=NOW,
        last_spike_at=NOW,
        last_elevated_at=NOW,
        peak_at=NOW,
        problems=[{"code": "app", "count": 30}, {"code": "login", "count": 10}],
    )
    row = ServiceStatus(service=chatgpt, evidence="outage", count=40, baseline=3.0, minute=NOW)
    status_apply(row, ongoing).save()

    html = page(client, "/s/chatgpt/")

    section = html[html.index('id="incident-problems"') :]
    section = section[: section.index("</ul>")]
    assert re.findall(r'<span class="label">(\w+)</span> <span class="percent">(\d+)%', section) == [
        ("App", "75"),
        ("Login", "25"),
    ]
    assert "Since the current incident began" in html and 'id="problems"' in html


@pytest.mark.parametrize(
    ("count", "words"),
    [
        (306, "Reports were up earlier in this quarter-hour and are back to their usual level now."),
        (4, "Reports are at the usual level for this time of day."),
    ],
)
def test_an_ok_banner_never_calls_a_raised_quarter_hour_the_usual_level(client, chatgpt, count, words):
    # A flood that has stopped: the counts alone are ok now, the quarter-hour still holds it.
    status(chatgpt, "ok", count=count)
    text = page(client, "/s/chatgpt/")
    assert words in text
    italian = page(client, "/s/chatgpt/?country=all", "it")
    assert ("Le segnalazioni erano in aumento" in italian) == (count > 10)
