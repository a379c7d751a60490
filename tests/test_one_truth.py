"""One truth on every public surface (issue 13).

One realistic day of ChatGPT (and Sora), made by the real pipeline: counts in the minute tables and a
stored baseline, detection passes that open and resolve the incidents themselves, and
reviewers' actions through incident_act. At 17:10 in Rome on 31 March 2025:

- A, 08:00: a spike a reviewer dismissed as a false alarm while it was going on;
- B, 10:00: a spike merged into D;
- D, 12:00: confirmed while it was going on, then resolved by detection;
- E, 16:47: the 31 March outage, confirmed, still ongoing, its reports back to usual;
- and S, Sora at 16:50: dismissed as media-driven at 17:00, still going on.

ChatGPT's reports all come from Italy (CountryMinute), which has a profile of its own.

Every test reads the surfaces with the test client (service page and its JSON, incident
pages, home and its JSON, map API, services API, incidents API, Atom and RSS feeds) and
compares them with each other: the same status, the same visible incidents, the same
numbers for the same window.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.cache import cache
from django.db import transaction
from time_machine import travel

from catalogue.models import Service
from geo.models import City
from outages.detection_pass import detection_run, detection_run_range
from outages.models import Incident, ServiceStatus
from outages.peak import bucket_floor
from outages.presenters import status_text
from outages.review.services import incident_act
from reports.models import CityMinute, CountryMinute, ProblemMinute, ServiceMinute
from tests.detection_helpers import city, flat_baseline
from tests.review_helpers import reviewer_user
from tests.test_country_status import country_baseline

pytestmark = pytest.mark.django_db

UTC = dt.UTC
ROME = ZoneInfo("Europe/Rome")
MINUTE = dt.timedelta(minutes=1)
ATOM = "{http://www.w3.org/2005/Atom}"


def rome(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A moment of 31 March 2025 in Rome (CEST, UTC+2), in UTC."""
    return dt.datetime(2025, 3, 31, hour, minute, second, tzinfo=ROME).astimezone(UTC)


NOW = rome(17, 10, 30)
# Usual reports in every minute of the last 26 hours: 4 a minute in Italy, one of them from
# Milan and one from Rome (ChatGPT), 4 a minute with no city (Sora).
FIRST_MINUTE = (NOW - dt.timedelta(hours=26)).replace(second=0)
USUAL, USUAL_CITY = 4, 1
# Each spike: service, first minute, minutes, reports a minute, {city: its share}, problem.
SPIKES = {
    "A": ("chatgpt", rome(8, 0), 10, 40, {"Milan": 30}, "app"),
    "B": ("chatgpt", rome(10, 0), 10, 40, {"Milan": 25}, "login"),
    "D": ("chatgpt", rome(12, 0), 15, 50, {"Milan": 25, "Rome": 10}, "login"),
    # E ends at 16:55: its last spiking bucket closes at 16:59, and the status's memory
    # (detection.STATUS_MEMORY_MINUTES) has let it go by the pass at 17:09.
    "E": ("chatgpt", rome(16, 47), 9, 60, {"Milan": 25, "Rome": 15}, "login"),
    "S": ("sora", rome(16, 50), 10, 40, {}, "app"),
}
# What reviewers did, and when: (moment, incident, action, details).
REVIEW = [
    (rome(8, 20, 10), "A", "dismiss", {"reason": "false_alarm"}),  # while it was going on
    (rome(12, 5, 10), "D", "confirm", {}),  # going on; detection resolves it later
    (rome(13, 0, 10), "B", "merge", {"merge_into": "D"}),
    (rome(16, 55, 10), "E", "confirm", {"public_note": "OpenAI confirms login errors."}),
    # Still going on at NOW.
    (
        rome(17, 0, 10),
        "S",
        "dismiss",
        {"reason": "media", "public_note": "A TV show asked viewers to try Sora."},
    ),
]
# Detection replays the day from here (its lookback reads the hour before).
DETECTION_FROM = rome(7, 0)


@dataclass(frozen=True)
class Day:
    service: Service
    ids: dict[str, int]

    @property
    def ongoing(self) -> int:
        return self.ids["E"]

    @property
    def resolved(self) -> int:
        return self.ids["D"]

    @property
    def public(self) -> list[int]:
        """What the public may see of ChatGPT, newest first."""
        return [self.ids["E"], self.ids["D"]]

    @property
    def hidden(self) -> list[int]:
        """Dismissed (A, and Sora's S, still going on) and merged away (B)."""
        return [self.ids["A"], self.ids["B"], self.ids["S"]]


def _minute_counts(service: Service, places: dict[str, City], *, until: dt.datetime) -> None:
    """The service's reports, minute by minute up to (not including) `until`, as the
    aggregation would have left them in the three minute tables."""
    n = int((until - FIRST_MINUTE) / MINUTE)
    national = np.full(n, USUAL)
    cities = {name: np.full(n, USUAL_CITY) for name in places}
    problem = np.array(["login"] * n, dtype=object)
    for slug, start, minutes, per_minute, shares, code in SPIKES.values():
        if slug != service.slug:
            continue
        span = slice(int((start - FIRST_MINUTE) / MINUTE), int((start - FIRST_MINUTE) / MINUTE) + minutes)
        national[span] = per_minute
        problem[span] = code
        for name, share in shares.items():
            cities[name][span] = share
    moments = [FIRST_MINUTE + i * MINUTE for i in range(n)]
    ServiceMinute.objects.bulk_create(
        [
            ServiceMinute(service=service, minute=m, count=int(c))
            for m, c in zip(moments, national, strict=True)
        ]
    )
    ProblemMinute.objects.bulk_create(
        [
            ProblemMinute(service=service, minute=m, problem=p, count=int(c))
            for m, p, c in zip(moments, problem, national, strict=True)
        ]
    )
    CityMinute.objects.bulk_create(
        [
            CityMinute(service=service, city=places[name], minute=m, count=int(c))
            for name, counts in cities.items()
            for m, c in zip(moments, counts, strict=True)
        ]
    )
    if places:
        CountryMinute.objects.bulk_create(
            [
                CountryMinute(service=service, country_code="IT", minute=m, count=int(c))
                for m, c in zip(moments, national, strict=True)
            ]
        )


def _opened(ids: dict[str, int], before: dt.datetime) -> None:
    """Note the incidents detection has opened for the spikes that began before `before`."""
    for letter, (slug, start, *_) in SPIKES.items():
        if letter not in ids and start < before:
            ids[letter] = Incident.objects.get(
                service__slug=slug, started_at__gte=start - 5 * MINUTE, started_at__lte=start + 5 * MINUTE
            ).pk


def live_day(traveller) -> dict[str, int]:
    """The day up to NOW, each step at its moment: counts and baselines, detection passes
    up to each review action, the action, and the live pass at NOW. Returns the ids of the
    incidents detection opened, by letter."""
    chatgpt, sora = Service.objects.get(slug="chatgpt"), Service.objects.get(slug="sora")
    milan = city("Milan", name_it="Milano", lat=45.4643, lon=9.1895)
    rome_city = city("Rome", name_it="Roma", lat=41.8919, lon=12.5113)
    for service in (chatgpt, sora):
        flat_baseline(service, per_minute=USUAL, built_at=FIRST_MINUTE)
    flat_baseline(chatgpt, per_minute=USUAL_CITY, city=milan, built_at=FIRST_MINUTE)
    flat_baseline(chatgpt, per_minute=USUAL_CITY, city=rome_city, built_at=FIRST_MINUTE)
    country_baseline(chatgpt, "IT", per_minute=USUAL)
    _minute_counts(chatgpt, {"Milan": milan, "Rome": rome_city}, until=NOW.replace(second=0))
    _minute_counts(sora, {}, until=NOW.replace(second=0))
    reviewer = reviewer_user()
    ids: dict[str, int] = {}
    for moment, letter, action, details in REVIEW:
        traveller.move_to(moment)
        detection_run_range(start=DETECTION_FROM, end=moment.replace(second=0) - MINUTE)
        _opened(ids, moment)
        extra = {key: value for key, value in details.items() if key != "merge_into"}
        if "merge_into" in details:
            extra["merge_into_id"] = ids[details["merge_into"]]
        incident_act(incident_id=ids[letter], action=action, actor=reviewer, now=moment, **extra)
    traveller.move_to(NOW)
    detection_run(now=NOW)
    _opened(ids, NOW)
    return ids


@pytest.fixture(scope="module")
def _the_day(django_db_setup, django_db_blocker):
    """Built once for the module, in a transaction rolled back after it: each test runs in
    a savepoint inside it and only reads."""
    with django_db_blocker.unblock(), travel(FIRST_MINUTE, tick=False) as traveller:
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield live_day(traveller)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            cache.clear()


@pytest.fixture
def day(_the_day, chatgpt, time_machine) -> Day:
    time_machine.move_to(NOW, tick=False)
    return Day(service=chatgpt, ids=_the_day)


# --- reading the surfaces ----------------------------------------------------------------------


def get(client, url: str, language: str = "en"):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, (url, response.status_code)
    return response


def html(client, url: str, language: str = "en") -> str:
    return get(client, url, language).content.decode()


def api(client, url: str):
    return get(client, url).json()


def home_statuses(client) -> dict[str, str]:
    page = html(client, "/")
    return dict(re.findall(r'data-slug="([\w-]+)">.*?class="status status-(\w+)"', page, re.S))


def home_last_day(client, slug: str) -> int:
    page = html(client, "/")
    row = page[page.index(f'data-slug="{slug}"') :]
    row = row[: row.index("</li>")]
    spoken = re.search(r'aria-label="([\d,]+) reports? in the 24 clock hours from [^"]+"', row)[1]
    return int(spoken.replace(",", ""))  # grouped as the page's language groups counts


def banner(page: str) -> tuple[str, str, str]:
    """(status code, status text, everything else the banner says) of a service page."""
    found = re.search(r'<section id="status-banner" class="banner status-(\w+)".*?</section>', page, re.S)
    text = re.search(r'<strong class="status-text">(.*?)</strong>', found[0], re.S)[1]
    rest = re.sub(r"<[^>]+>", " ", found[0].split("</strong>", 1)[1])
    return found[1], text, " ".join(rest.split())


def page_incidents(page: str) -> list[tuple[int, str]]:
    """(id, what follows the date) of each incident the service page lists."""
    section = page[page.index('<ul class="incidents">') :]
    section = section[: section.index("</ul>")]
    return [
        (int(pk), re.sub(r"<[^>]+>.*", "", rest, flags=re.S))
        for pk, rest in re.findall(r'<a href="/incidents/(\d+)/">[^<]*</a> · (.*?)</li>', section, re.S)
    ]


def page_cities(page: str, heading: str) -> tuple[str, dict[str, int]]:
    """(the section's text, {English city name: count}) of the cities section under `heading`."""
    section = page[page.index(f"<h2>{heading}</h2>") :]
    section = section[: section.index("</section>")]
    counts = {
        name: int(count.replace(",", ""))
        for name, count in re.findall(
            r'<span class="label">(.*?)</span> <span class="country">\(\w+\)</span> <span class="count">([\d,]+)</span>',
            section,
        )
    }
    return " ".join(re.sub(r"<[^>]+>", " ", section).split()), counts


def incident_page(client, pk: int) -> dict:
    page = html(client, f"/incidents/{pk}/")
    state = re.search(r'<dd class="incident-status[^"]*">(.*?)</dd>', page, re.S)[1]
    peak = int(re.search(r"<dt>Peak</dt><dd>(\d+) reports? in 15 minutes", page)[1])
    cities_text, cities = page_cities(page, "Affected cities")
    return {"state": state, "peak": peak, "cities": cities, "cities_text": cities_text}


def atom_entries(client, slug: str) -> list[tuple[int, str]]:
    root = ET.fromstring(get(client, f"/s/{slug}/incidents.atom").content)
    return [
        (int(entry.find(f"{ATOM}id").text.rsplit("-", 1)[1]), entry.find(f"{ATOM}title").text)
        for entry in root.findall(f"{ATOM}entry")
    ]


def rss_items(client, slug: str) -> list[tuple[int, str]]:
    root = ET.fromstring(get(client, f"/s/{slug}/incidents.rss").content)
    return [
        (int(item.find("guid").text.rsplit("-", 1)[1]), item.find("title").text)
        for item in root.find("channel").findall("item")
    ]


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# --- the scenario is what detection and review made ----------------------------------------------


def test_detection_and_review_made_the_day_the_suite_describes(day):
    a, b, d, e, s = (Incident.objects.select_related("review").get(pk=day.ids[letter]) for letter in "ABDES")

    assert (a.status, a.review.dismiss_reason, a.ongoing) == ("dismissed", "false_alarm", False)
    assert (b.status, b.review.merged_into_id, b.ongoing) == ("dismissed", d.pk, False)
    assert (d.status, d.ongoing, d.started_at) == ("confirmed", False, b.started_at)
    assert d.resolved_at > rome(12, 15)  # detection resolved it after the confirmation
    assert (e.status, e.ongoing) == ("confirmed", True)
    assert rome(16, 45) <= e.started_at <= rome(16, 47)
    assert (
        ServiceStatus.objects.world().get(service=day.service).evidence == "ok"
    )  # the counts alone would say "No problems"
    assert (s.service.slug, s.status, s.review.dismiss_reason, s.ongoing) == (
        "sora",
        "dismissed",
        "media",
        True,
    )


# --- one status ----------------------------------------------------------------------------------


def test_the_confirmed_ongoing_outage_is_problems_detected_on_every_page_and_the_api(client, day):
    listed = {row["slug"]: row["status"] for row in api(client, "/api/v1/services/")}
    detail = api(client, "/api/v1/services/chatgpt/")
    code, text, _ = banner(html(client, "/s/chatgpt/"))
    data = api(client, "/s/chatgpt/data.json")
    home_data = {row["slug"]: row["status"]["code"] for row in api(client, "/data.json")["services"]}

    assert listed["chatgpt"] == "outage"
    assert detail["status"] == listed["chatgpt"]
    assert home_statuses(client)["chatgpt"] == listed["chatgpt"]
    assert home_data["chatgpt"] == listed["chatgpt"]
    assert (code, text) == (listed["chatgpt"], "Problems detected")
    assert data["status"]["code"] == listed["chatgpt"]
    # The status above and the state of the incident listed under it say the same thing.
    first, state = page_incidents(html(client, "/s/chatgpt/"))[0]
    assert (first, state.split(" · peak")[0]) == (day.ongoing, "Confirmed outage · ongoing")


def test_every_service_has_one_status_on_the_home_page_its_json_and_the_services_api(client, day):
    listed = {row["slug"]: row["status"] for row in api(client, "/api/v1/services/")}
    home_data = {row["slug"]: row["status"]["code"] for row in api(client, "/data.json")["services"]}

    assert home_statuses(client) == listed
    assert home_data == listed
    assert listed["steam"] == "ok"
    for slug in ("sora", "steam"):
        assert api(client, f"/api/v1/services/{slug}/")["status"] == listed[slug]
        assert banner(html(client, f"/s/{slug}/"))[0] == listed[slug]


def test_the_status_reason_is_the_same_on_the_api_the_page_json_and_the_banner(client, day):
    listed = {row["slug"]: row for row in api(client, "/api/v1/services/")}
    detail = api(client, "/api/v1/services/chatgpt/")
    data = api(client, "/s/chatgpt/data.json")
    _, _, said = banner(html(client, "/s/chatgpt/"))

    assert listed["chatgpt"]["status_reason"] == "confirmed"
    assert detail["status_reason"] == listed["chatgpt"]["status_reason"]
    assert data["status"]["reason"] == listed["chatgpt"]["status_reason"]
    assert listed["steam"]["status_reason"] == "normal"
    # The banner says why, and since when: the start of the confirmed incident, in Rome.
    started = Incident.objects.get(pk=day.ongoing).started_at.astimezone(ROME)
    assert "A reviewer confirmed the outage" in said
    assert f"{started:%H:%M}" in said


def test_the_banner_count_is_the_services_api_count_for_the_quarter_hour_the_chart_and_peak_use(client, day):
    detail = api(client, "/api/v1/services/chatgpt/")
    page = html(client, "/s/chatgpt/")
    _, _, said = banner(page)
    data = api(client, "/s/chatgpt/data.json")
    quarter = bucket_floor(moment(detail["updated_at"]))
    chart = {moment(bucket["start"]): bucket["count"] for bucket in data["timeseries"]}
    peak = int(re.search(r"([\d,]+) reports at", data["headline"])[1].replace(",", ""))

    assert f"Since {quarter.astimezone(ROME):%H:%M}" in said
    assert f"{detail['count']:,} reports" in said
    # The chart's bar for that quarter-hour holds those reports (and any since the status's
    # minute), and the headline's peak is at least that bar: no line says more than the peak.
    assert chart[quarter] >= detail["count"]
    assert peak >= chart[quarter]


def test_the_map_api_gives_the_selected_service_the_status_of_its_page(client, day):
    detail = api(client, "/api/v1/services/chatgpt/")
    mapped = api(client, "/api/v1/map/?service=chatgpt&minutes=60")
    everything = api(client, "/api/v1/map/?minutes=60")

    assert (mapped["status"], mapped["status_reason"]) == (detail["status"], detail["status_reason"])
    assert banner(html(client, "/s/chatgpt/"))[0] == mapped["status"]
    assert everything["status"] is None  # all services: no one status


# --- the same incidents --------------------------------------------------------------------------


def test_the_service_page_the_incidents_api_and_both_feeds_list_the_same_incidents(client, day):
    on_page = [pk for pk, _ in page_incidents(html(client, "/s/chatgpt/"))]
    in_api = [row["id"] for row in api(client, "/api/v1/incidents/?service=chatgpt")]
    in_all = [row["id"] for row in api(client, "/api/v1/incidents/")]

    assert on_page == day.public
    assert in_api == on_page
    assert in_all == on_page
    assert [pk for pk, _ in atom_entries(client, "chatgpt")] == on_page
    assert [pk for pk, _ in rss_items(client, "chatgpt")] == on_page


def test_dismissed_and_merged_incidents_are_named_nowhere(client, day):
    detail = api(client, "/api/v1/services/chatgpt/")
    page = html(client, "/s/chatgpt/")
    feeds = (
        get(client, "/s/chatgpt/incidents.atom").content.decode()
        + get(client, "/s/chatgpt/incidents.rss").content.decode()
    )

    for pk in day.hidden:
        assert client.get(f"/incidents/{pk}/").status_code == 404
        assert f"/incidents/{pk}/" not in page
        assert f"downradar-incident-{pk}<" not in feeds
        assert pk not in [row["id"] for row in api(client, "/api/v1/incidents/")]
        assert pk not in [row["id"] for row in api(client, "/api/v1/incidents/?service=chatgpt&limit=200")]
    assert detail["incident"]["id"] not in day.hidden
    for pk in day.public:
        assert client.get(f"/incidents/{pk}/").status_code == 200


def test_a_dismissed_incident_still_going_on_is_named_nowhere_and_colours_nothing(client, day):
    # Its rise still goes on at NOW: its reports do not drive the status, which says why.
    dismissed = Incident.objects.get(pk=day.ids["S"])
    world = ServiceStatus.objects.world().get(service=dismissed.service)
    assert (dismissed.service.slug, dismissed.status, dismissed.ongoing) == ("sora", "dismissed", True)

    detail = api(client, "/api/v1/services/sora/")
    listed = {row["slug"]: row["status"] for row in api(client, "/api/v1/services/")}

    assert detail["incident"] is None
    assert api(client, "/api/v1/incidents/?service=sora") == []
    assert page_incidents(html(client, "/s/sora/")) == []
    assert atom_entries(client, "sora") == [] and rss_items(client, "sora") == []
    assert client.get(f"/incidents/{dismissed.pk}/").status_code == 404
    # The status is ok while the dismissed rise goes on, and says so the same way everywhere.
    assert (world.incident_id, world.status, world.reason) == (None, "ok", "dismissed")
    assert (detail["status"], detail["status_reason"]) == ("ok", "dismissed")
    assert detail["status"] == listed["sora"] == home_statuses(client)["sora"]
    code, _, said = banner(html(client, "/s/sora/"))
    assert code == listed["sora"]
    assert "a reviewer judged the rise unrelated to an outage of Sora" in said
    assert "A TV show asked viewers to try Sora." in said


def test_each_incident_is_named_the_same_way_on_its_page_the_service_page_and_the_feeds(client, day):
    expected = {day.ongoing: "Confirmed outage · ongoing", day.resolved: "Confirmed outage · resolved"}
    on_page = dict(page_incidents(html(client, "/s/chatgpt/")))
    atom = dict(atom_entries(client, "chatgpt"))
    rss = dict(rss_items(client, "chatgpt"))

    for pk, state in expected.items():
        assert incident_page(client, pk)["state"] == state
        assert on_page[pk].startswith(f"{state} · ") or on_page[pk] == state
        assert atom[pk].startswith(f"{state}: ChatGPT")
        assert rss[pk].startswith(f"{state}: ChatGPT")


def test_the_italian_pages_and_feeds_name_the_states_in_the_same_words(client, day):
    # Worldwide: Italian alone would show Italy.
    on_page = dict(page_incidents(html(client, "/s/chatgpt/?country=all", "it")))
    code, text, _ = banner(html(client, "/s/chatgpt/?country=all", "it"))
    root = ET.fromstring(client.get("/s/chatgpt/incidents.atom", HTTP_ACCEPT_LANGUAGE="it").content)
    atom = {
        int(entry.find(f"{ATOM}id").text.rsplit("-", 1)[1]): entry.find(f"{ATOM}title").text
        for entry in root.findall(f"{ATOM}entry")
    }

    assert (code, text) == ("outage", "Problemi rilevati")
    for pk, state in (
        (day.ongoing, "Disservizio confermato · in corso"),
        (day.resolved, "Disservizio confermato · risolto"),
    ):
        shown = re.search(
            r'<dd class="incident-status[^"]*">(.*?)</dd>', html(client, f"/incidents/{pk}/", "it")
        )[1]
        assert shown == state
        assert on_page[pk].startswith(f"{state} · ")
        assert atom[pk].startswith(f"{state}: ChatGPT")


def test_the_incidents_api_gives_the_review_state_and_lifecycle_the_pages_name(client, day):
    rows = {row["id"]: row for row in api(client, "/api/v1/incidents/?service=chatgpt")}

    ongoing, resolved = rows[day.ongoing], rows[day.resolved]
    assert (ongoing["status"], ongoing["ongoing"], ongoing["resolved_at"]) == ("confirmed", True, None)
    assert (resolved["status"], resolved["ongoing"]) == ("confirmed", False)
    assert moment(resolved["resolved_at"]) == Incident.objects.get(pk=day.resolved).resolved_at
    # Merged-away incidents are dismissed, so the public list never carries one.
    assert day.ids["B"] not in rows


def test_the_services_api_incident_is_the_ongoing_one_behind_the_status(client, day):
    detail = api(client, "/api/v1/services/chatgpt/")
    first_on_page = page_incidents(html(client, "/s/chatgpt/"))[0][0]
    listed = api(client, "/api/v1/incidents/?service=chatgpt&ongoing=true")

    started = Incident.objects.get(pk=day.ongoing).started_at
    assert detail["incident"] == {
        "id": day.ongoing,
        "status": "confirmed",
        "ongoing": True,
        "started_at": detail["incident"]["started_at"],
        "resolved_at": None,
    }
    assert moment(detail["incident"]["started_at"]) == started
    assert detail["incident"]["id"] == first_on_page == listed[0]["id"]
    assert ServiceStatus.objects.world().get(service=day.service).incident_id == detail["incident"]["id"]


def test_the_incident_filters_split_the_public_list_and_refuse_dismissed(client, day):
    def ids(query: str) -> set[int]:
        return {row["id"] for row in api(client, f"/api/v1/incidents/?service=chatgpt&{query}")}

    assert ids("status=confirmed") == set(day.public)
    assert ids("status=suspected") == set()
    assert ids("ongoing=true") == {day.ongoing}
    assert ids("ongoing=false") == {day.resolved}
    refused = client.get("/api/v1/incidents/?status=dismissed")
    assert refused.status_code == 400
    assert refused["Content-Type"].startswith("application/json")
    assert "status" in refused.json()["fields"]  # names what to fix


# --- the same numbers for the same window ----------------------------------------------------------


def test_each_incident_s_numbers_lie_inside_it_and_match_its_page(client, day):
    for row in api(client, "/api/v1/incidents/"):
        end = moment(row["resolved_at"]) if row["resolved_at"] else NOW
        assert moment(row["started_at"]) <= moment(row["peak_at"]) <= end
        assert row["excess_reports"] >= 0
        assert all(city["count"] > 0 for city in row["cities"])
        shown = incident_page(client, row["id"])
        assert shown["peak"] == row["peak_count"]
        assert shown["cities"] == {city["city"]: city["count"] for city in row["cities"]}


def test_during_an_incident_the_service_page_cities_are_the_incident_api_s_in_its_order(client, day):
    text, on_page = page_cities(html(client, "/s/chatgpt/"), "Most affected cities")
    in_json = [(row["city"], row["count"]) for row in api(client, "/s/chatgpt/data.json")["cities"]]
    [ongoing] = api(client, "/api/v1/incidents/?service=chatgpt&ongoing=true")
    in_api = [(row["city"], row["count"]) for row in ongoing["cities"]]
    in_page = incident_page(client, ongoing["id"])

    assert ongoing["id"] == day.ongoing
    assert "Reports since the incident began, most unusual for each city first" in text
    assert list(on_page.items()) == in_json == in_api == list(in_page["cities"].items())
    assert set(on_page) == {"Milan", "Rome"}


def test_the_cities_and_map_apis_agree_on_the_last_24_hours(client, day):
    in_api = {
        row["city"]: row["count"] for row in api(client, "/api/v1/services/chatgpt/cities/?minutes=1440")
    }
    mapped = {
        feature["properties"]["city"]: feature["properties"]["count"]
        for feature in api(client, "/api/v1/map/?service=chatgpt&minutes=1440")["features"]
    }

    assert in_api == mapped
    assert in_api["Milan"] > in_api["Rome"] > 0


def test_a_city_s_usual_ratio_and_rank_are_the_same_on_the_page_the_cities_api_and_the_map(client, day):
    cities = api(client, "/api/v1/services/chatgpt/cities/?minutes=60")
    mapped = {
        feature["properties"]["city"]: feature["properties"]
        for feature in api(client, "/api/v1/map/?service=chatgpt&minutes=60")["features"]
    }

    assert cities
    for row in cities:
        assert (row["baseline"], row["ratio"]) == (
            mapped[row["city"]]["baseline"],
            mapped[row["city"]]["ratio"],
        )
    excess = [row["count"] - row["baseline"] for row in cities]
    assert excess == sorted(excess, reverse=True)


def test_the_ongoing_incident_s_cities_name_their_window_and_match_the_cities_api_for_it(client, day):
    incident = Incident.objects.get(pk=day.ongoing)
    since_start = int((NOW.replace(second=0) - incident.started_at) / MINUTE) + 1
    shown = incident_page(client, day.ongoing)
    in_api = {
        row["city"]: row["count"]
        for row in api(client, f"/api/v1/services/chatgpt/cities/?minutes={since_start}")
    }

    assert set(shown["cities"]) == {"Milan", "Rome"}
    assert shown["cities"] == {name: in_api[name] for name in shown["cities"]}
    assert "since the incident began" in shown["cities_text"]


def test_the_service_page_problems_are_the_services_api_problems_for_the_same_24_hours(client, day):
    on_page = [
        (row["label"], row["count"], row["percent"])
        for row in api(client, "/s/chatgpt/data.json")["problems"]
    ]
    in_api = [
        (row["label"], row["count"], row["percent"])
        for row in api(client, "/api/v1/services/chatgpt/")["problems"]
    ]

    assert on_page == in_api
    assert [label for label, _, _ in on_page] == ["Login", "App"]


def test_the_service_chart_is_the_timeseries_api_for_the_same_buckets(client, day):
    chart = api(client, "/s/chatgpt/data.json")["timeseries"]
    series = api(client, "/api/v1/services/chatgpt/timeseries/?hours=24&bucket=15")

    assert [(moment(b["start"]), b["count"], b["baseline"], b["upper"]) for b in chart] == [
        (moment(b["start"]), b["count"], b["baseline"], b["upper"]) for b in series
    ]
    assert max(b["count"] for b in chart) == max(
        row["peak_count"] for row in api(client, "/api/v1/incidents/?service=chatgpt")
    )


def test_home_and_the_service_page_each_count_the_window_they_name(client, day):
    """The service page counts the last 1,440 minutes; home's sparkline the 24 clock hours it
    names, which is the timeseries API's hours=24&bucket=60."""
    data = api(client, "/s/chatgpt/data.json")
    page = html(client, "/s/chatgpt/")

    shown = int(
        re.search(r'<strong id="count-last-day">([\d,]+)</strong> reports in the last 24 hours', page)[
            1
        ].replace(",", "")
    )
    assert shown == data["count_last_day"]
    hours = api(client, "/api/v1/services/chatgpt/timeseries/?hours=24&bucket=60")
    assert home_last_day(client, "chatgpt") == sum(bucket["count"] for bucket in hours)


def test_a_country_s_status_is_the_same_on_its_page_json_home_api_badge_and_embed(client, day):
    shown = {}
    for country in ("IT", "US"):
        query = f"?country={country}"
        page = banner(html(client, f"/s/chatgpt/{query}"))[0]
        data = api(client, f"/s/chatgpt/data.json{query}")["status"]["code"]
        detail = api(client, f"/api/v1/services/chatgpt/{query}")["status"]
        listed = {row["slug"]: row["status"] for row in api(client, f"/api/v1/services/{query}")}["chatgpt"]
        home = dict(
            re.findall(
                r'data-slug="([\w-]+)">.*?class="status status-(\w+)"', html(client, f"/{query}"), re.S
            )
        )
        embed = re.search(r'class="widget status-(\w+)"', html(client, f"/s/chatgpt/embed/{query}"))[1]
        badge = html(client, f"/s/chatgpt/badge.svg{query}")

        assert page == data == detail == listed == home["chatgpt"] == embed, country
        assert f"<title>ChatGPT · {country}: {status_text(page)}</title>" in badge
        shown[country] = page
    # Italy is where the confirmed, ongoing outage names its cities; nobody reports from the US.
    assert shown == {"IT": "outage", "US": "ok"}
    assert api(client, "/api/v1/services/chatgpt/?country=IT")["status_reason"] == "confirmed"
