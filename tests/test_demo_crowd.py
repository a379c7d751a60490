"""The living demo in accelerated time: `demo_data`'s history, then the demo crowd's own
windows through the ingest path, real detection passes and the demo reviewer's schedule,
on the real PostgreSQL, Redis and city database.

A live report is stamped by the server when it arrives, so against a server the crowd's
clock cannot honestly run faster than real time. Here each window of the crowd is ingested
with the times it was drawn for (what the server would stamp in real time) and the clock
is moved to its end for the detection pass and the reviewer.

The reports that carry a comment go through the public API instead, at their own time,
as the crowd sends them to a server; the demo reviewer decides the comments after each pass.

The story tests check the README's minute-by-minute story of `make run` (minutes 1, 20 and
30 after it started) on what the pages and the APIs say then, from one run of the demo.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import defaultdict
from collections.abc import Callable
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.test import Client, override_settings

from catalogue.models import Service
from outages.detection_pass import GRACE_SECONDS, detection_run
from outages.models import Incident, IncidentCity, ServiceStatus
from outages.peak import PEAK_MINUTES
from outages.review.models import ReviewAction
from outages.review.selectors import review_queue
from reports.aggregation import IncomingReport, reports_ingest_bulk
from reports.models import Comment, CountryMinute, Source
from simulator.comments import APPROVE, REJECT, demo_verdict
from simulator.demo import (
    COMMENT_REVIEW_AFTER,
    ISP_SERVICES,
    OUTAGE_LEAD,
    REGIONAL_REGIONS,
    CrowdComment,
    DemoCrowd,
    DemoSchedule,
)
from simulator.live import Post, post_body
from simulator.management.commands.demo_data import DEMO_DAYS
from simulator.management.commands.simulate import problem_mapper
from simulator.places import ASIA
from simulator.reviewer import DEMO_REVIEWER, demo_comments_review, demo_reviews_apply

# A Monday afternoon in Italy: `make run` loaded its history at 16:07 CEST (minute 0).
NOW = dt.datetime(2026, 5, 11, 14, 7, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
# ChatGPT's peak bucket ends at the 15-minute boundary before minute 1 (16:08 CEST): the
# headline names 15:45 CEST, and the banner counts from 16:00.
PEAK_END = dt.datetime(2026, 5, 11, 14, 0, tzinfo=dt.UTC)
OUTAGE_START = PEAK_END - OUTAGE_LEAD
ROME = ZoneInfo("Europe/Rome")
STEP = 3  # minutes between detection passes (each pass evaluates every minute since the last)
SIMULATED_MINUTES = 75
# The README's story: what a newcomer sees this many minutes after `make run` started.
STORY_MINUTES = (1, 20, 30)
# Italy's peak quarter-hour: 1,251 on 31 March 2025; the crowd draws it with Poisson noise
# (a standard deviation of about 3%) on top of normal life.
PEAK_ITALY = 1251
PEAK_TOLERANCE = 0.1


def _ingest(batch, services: dict[str, int], problem_of, comments: dict[int, CrowdComment]) -> list[int]:
    """The window's reports: through the bulk ingest, and those with a comment through the
    API at their own time; the API's status for each of these."""
    reports_ingest_bulk(
        reports=(
            IncomingReport(
                service_id=services[report.service],
                problem=problem_of(report.service, report.problem),
                client_ip=report.client_ip,
                created_at=report.created_at,
                source=Source.API,
            )
            for row, report in enumerate(batch)
            if row not in comments
        )
    )
    statuses = []
    client = Client()
    with override_settings(TRUSTED_PROXY_COUNT=1):
        for row, report in enumerate(batch):
            if (comment := comments.get(row)) is None:
                continue
            post = Post(
                due=0,
                service=report.service,
                problem=problem_of(report.service, report.problem),
                client_ip=report.client_ip,
                comment=comment.text,
                language=comment.language,
            )
            with time_machine.travel(report.created_at, tick=False):
                response = client.post(
                    "/api/v1/reports/",
                    post_body(post),
                    content_type="application/json",
                    HTTP_X_FORWARDED_FOR=post.client_ip,
                    HTTP_ACCEPT_LANGUAGE=post.language,
                )
            statuses.append(response.status_code)
    return statuses


def _run_demo(
    look: Callable[[dt.datetime], dict] | None = None,
) -> tuple[dict[str, list[tuple[dt.datetime, str, str, str]]], dict[int, dict]]:
    """The history at NOW, then SIMULATED_MINUTES of the crowd; every service's status
    (time, status, reason, evidence) after each pass, and what `look` saw at each of the
    STORY_MINUTES (a pass runs at each of them), at that moment."""
    with time_machine.travel(NOW, tick=False):
        call_command(
            "demo_data", "--days", str(DEMO_DAYS), "--reviewer-password", "demo-pw-1", stdout=StringIO()
        )
    services = dict(Service.objects.values_list("slug", "pk"))
    problem_of = problem_mapper(services)
    schedule = DemoSchedule(anchor=NOW)
    crowd = DemoCrowd(list(services), schedule, seed=7)
    reviewer = User.objects.get(username=DEMO_REVIEWER)
    statuses: dict[str, list[tuple[dt.datetime, str, str, str]]] = defaultdict(list)
    seen: dict[int, dict] = {}
    done: set = set()
    previous = 0
    for minute in sorted({*range(STEP, SIMULATED_MINUTES + 1, STEP), *STORY_MINUTES}):
        moment = NOW + minute * MINUTE
        start = NOW + previous * MINUTE
        batch = crowd.window(start, moment)
        answers = _ingest(batch, services, problem_of, crowd.comments(batch, start, moment))
        assert set(answers) <= {201}, answers  # each a new person's report, kept with its comment
        previous = minute
        with time_machine.travel(moment + dt.timedelta(seconds=GRACE_SECONDS), tick=False):
            detection_run(now=moment + dt.timedelta(seconds=GRACE_SECONDS))
            demo_reviews_apply(
                schedule.reviews(moment - dt.timedelta(hours=1), moment),
                reviewer=reviewer,
                now=moment,
                done=done,
            )
            demo_comments_review(reviewer=reviewer, now=moment)
            if look is not None and minute in STORY_MINUTES:
                seen[minute] = look(moment)
        for slug, status, reason, evidence in ServiceStatus.objects.world().values_list(
            "service__slug", "status", "reason", "evidence"
        ):
            statuses[slug].append((moment, status, reason, evidence))
    return statuses, seen


def _between(rows, start: dt.datetime, end: dt.datetime):
    return [row for row in rows if start <= row[0] <= end]


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_lives_its_outage_for_its_real_length_and_plays_every_event(on_postgres, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the crowd's clock file
    statuses, _ = _run_demo()

    # ChatGPT: in progress at start, an outage for its real length (about an hour and a
    # half from its first reports), never green after 7 minutes nor resolved after 18.
    chatgpt = statuses["chatgpt"]
    length = _between(chatgpt, NOW, OUTAGE_START + dt.timedelta(minutes=90))
    assert len(length) >= 15
    assert {status for _, status, _, _ in length} == {"outage"}, length
    # ... on the counts' own evidence through its peak and tail, not only the reviewer's word.
    tail = _between(chatgpt, NOW, OUTAGE_START + dt.timedelta(minutes=75))
    assert {evidence for *_, evidence in tail} == {"outage"}, tail
    incident = Incident.objects.get(service__slug="chatgpt", started_at__lte=NOW)
    assert incident.resolved_at is None
    assert incident.status == Incident.Status.CONFIRMED

    # Italy's peak 15-minute bucket holds about 1,251 reports, Milano, Roma, Napoli and
    # Bologna on top, and the United States and Asia report in the same window.
    italy = CountryMinute.objects.filter(
        service__slug="chatgpt",
        country_code="IT",
        minute__gte=PEAK_END - PEAK_MINUTES * MINUTE,
        minute__lt=PEAK_END,
    ).aggregate(total=Sum("count"))["total"]
    assert abs(italy - PEAK_ITALY) <= PEAK_TOLERANCE * PEAK_ITALY
    cities = IncidentCity.objects.filter(incident=incident).order_by("-count").select_related("city")
    assert [row.city.name_en for row in cities[:4]] == ["Milan", "Rome", "Naples", "Bologna"]
    abroad = dict(
        CountryMinute.objects.filter(service__slug="chatgpt", minute__gte=OUTAGE_START, minute__lt=PEAK_END)
        .values_list("country_code")
        .annotate(total=Sum("count"))
    )
    assert abroad["US"] > 100 and abroad.get("IN", 0) + abroad.get("JP", 0) > 20

    # The regional outage (+1 min): iliad's incident names only cities of its regions.
    assert any(status != "ok" for _, status, _, _ in _between(statuses["iliad"], NOW, NOW + 30 * MINUTE))
    regional = Incident.objects.get(service__slug="iliad", started_at__gte=NOW)
    regions = set(IncidentCity.objects.filter(incident=regional).values_list("city__region", flat=True))
    assert regions and regions <= set(REGIONAL_REGIONS)

    # The ISP outage (+2 min): the services it hit read as one operator's problem.
    window = (NOW, NOW + 30 * MINUTE)
    isp = [slug for slug in ISP_SERVICES if any(row[2] == "isp" for row in _between(statuses[slug], *window))]
    assert len(isp) >= 2, {slug: _between(statuses[slug], *window) for slug in ISP_SERVICES}

    # The flood (+20 min): held back, a warning that says so, never an outage or an incident.
    flood = _between(statuses["spotify"], NOW + 20 * MINUTE, NOW + 35 * MINUTE)
    assert any(reason == "flood_suspected" for _, _, reason, _ in flood), flood
    assert all(status != "outage" for _, status, _, _ in flood), flood
    assert not Incident.objects.filter(service__slug="spotify", started_at__gte=NOW).exists()

    # The media bump (+2 min): Netflix's usual Italian audience, mostly Telecom Italia customers
    # as its Italian reports always are, is never read as Telecom Italia's problem.
    bump = _between(statuses["netflix"], NOW + 20 * MINUTE, NOW + 30 * MINUTE)
    assert bump and all(reason != "isp" for _, _, reason, _ in bump), bump

    # A service the events leave alone stays green.
    assert {status for _, status, _, _ in statuses["steam"]} == {"ok"}

    # Every review state: confirmed and dismissed by the demo reviewer, through the audited
    # review service; suspected ones waiting; the earlier outage resolved.
    actions = set(
        ReviewAction.objects.filter(incident__isnull=False).values_list(
            "actor_name", "kind", "incident__service__slug", "reason"
        )
    )
    assert actions == {
        (DEMO_REVIEWER, "confirm", "chatgpt", ""),
        (DEMO_REVIEWER, "dismiss", "netflix", "media"),
    }
    assert Incident.objects.filter(service__slug="netflix", status=Incident.Status.DISMISSED).exists()
    assert Incident.objects.filter(status=Incident.Status.SUSPECTED, resolved_at=None).exists()
    assert Incident.objects.filter(
        service__slug="playstation-network", resolved_at__lt=NOW, resolved_at__isnull=False
    ).exists()


# --- the README's story ------------------------------------------------------------------------


def _look(moment: dt.datetime) -> dict:
    """What a newcomer sees at `moment`: every service's status worldwide and in Italy, the
    ChatGPT page for Italy (headline and banner), the incidents and the reviewer's actions."""
    client = Client()
    page = client.get("/s/chatgpt/data.json?country=IT", HTTP_ACCEPT_LANGUAGE="en").json()
    return {
        "slugs": set(Service.objects.filter(is_active=True).values_list("slug", flat=True)),
        "world": {
            slug: (status, reason)
            for slug, status, reason in ServiceStatus.objects.world().values_list(
                "service__slug", "status", "reason"
            )
        },
        "italy": {
            slug: (status, reason)
            for slug, status, reason in ServiceStatus.objects.filter(scope="IT").values_list(
                "service__slug", "status", "reason"
            )
        },
        "headline": page["headline"],
        "banner": page["status"]["window_text"],
        "italy_cities": [row["city"] for row in page["cities"]],
        "map": [
            (feature["properties"]["city"], feature["properties"]["country"])
            for feature in client.get(
                "/api/v1/map/?service=chatgpt&minutes=60", HTTP_ACCEPT_LANGUAGE="en"
            ).json()["features"]
        ],
        # What the review queue flags beside each incident (outages.review.selectors.Signals).
        "flags": {
            (item.incident.service.slug, item.incident.started_at): {
                "100% API": item.signals.api_flag,
                "new networks": item.signals.new_networks_flag,
                "shared provider": item.shared_provider_text,
            }
            for item in review_queue(now=moment, per_page=100)[1]
        },
        "incidents": sorted(
            Incident.objects.values_list("service__slug", "status", "resolved_at", "started_at", "pk"),
            key=lambda row: (row[0], row[1], row[3], row[4]),  # resolved_at may be None
        ),
        "iliad_regions": set(
            IncidentCity.objects.filter(
                incident__service__slug="iliad", incident__started_at__gte=NOW
            ).values_list("city__region", flat=True)
        ),
        "actions": set(
            ReviewAction.objects.filter(incident__isnull=False).values_list(
                "actor_name", "kind", "incident__service__slug", "reason"
            )
        ),
        "comments": list(
            Comment.objects.order_by("created_at", "pk").values_list(
                "pk", "service__slug", "text", "language", "state", "created_at", "city__country_code"
            )
        ),
        "comment_actions": set(
            ReviewAction.objects.filter(comment__isnull=False).values_list("actor_name", "kind", "comment_id")
        ),
        "chatgpt_comments": [
            html.unescape(text)
            for text in re.findall(
                r'<p class="comment-text"[^>]*>(.*?)</p>',
                client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="en").content.decode(),
                re.S,
            )
        ],
    }


@pytest.fixture(scope="module")
def _the_story(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[int, dict]:
    """One run of the demo for the story's tests, in a transaction rolled back after them:
    what a newcomer saw at each of the STORY_MINUTES."""
    from tests.conftest import _process_caches_clear

    with django_db_blocker.unblock(), override_settings(VAR_DIR=tmp_path_factory.mktemp("demo")):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            cache.clear()
            _process_caches_clear()
            _, seen = _run_demo(look=_look)
            yield seen
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            cache.clear()
            _process_caches_clear()


@pytest.fixture
def story(_the_story, on_postgres) -> dict[int, dict]:
    return _the_story


def _open(seen: dict, slug: str) -> list[str]:
    """The statuses of the service's incidents started since `make run` or still open."""
    return [
        status
        for service, status, resolved, started, _ in seen["incidents"]
        if service == slug and resolved is None
    ]


@pytest.mark.slow
def test_at_minute_1_only_chatgpt_and_sora_are_down_and_the_headline_names_italys_1251(story):
    seen = story[1]
    down = {"chatgpt", "sora"}
    for scope in ("world", "italy"):
        assert {slug: seen[scope][slug][0] for slug in down} == {"chatgpt": "outage", "sora": "outage"}, scope
        # Everything else green: no amber or red anywhere, worldwide or in Italy.
        others = {slug: row for slug, row in seen[scope].items() if slug not in down and row[0] != "ok"}
        assert others == {}, scope
    assert seen["slugs"] <= set(seen["world"])
    # Not confirmed yet: the reviewer's first step is at minute 4.
    assert seen["actions"] == set()
    assert seen["world"]["chatgpt"][1] != "confirmed"
    # "ChatGPT in Italy: 1,251 reports at 15:45 CEST": the last whole quarter-hour before
    # minute 1 is the peak, at about 1,251.
    peak_at = (PEAK_END - PEAK_MINUTES * MINUTE).astimezone(ROME)
    found = re.fullmatch(r"ChatGPT in Italy: ([\d,]+) reports at (\d\d:\d\d).*", seen["headline"])
    assert found, seen["headline"]
    peak = int(found[1].replace(",", ""))
    assert abs(peak - PEAK_ITALY) <= PEAK_TOLERANCE * PEAK_ITALY, seen["headline"]
    assert found[2] == f"{peak_at:%H:%M}", seen["headline"]
    # The banner counts the quarter-hour in progress (from 16:00): a part of it, never more
    # than the peak.
    banner = re.fullmatch(r"Since (\d\d:\d\d)[^:]*: ([\d,]+) reports.*", seen["banner"])
    assert banner and banner[1] == f"{PEAK_END.astimezone(ROME):%H:%M}", seen["banner"]
    assert 0 < int(banner[2].replace(",", "")) <= peak
    # The PlayStation Network outage of three hours ago: resolved.
    playstation = [row for row in seen["incidents"] if row[0] == "playstation-network"]
    assert playstation and all(
        resolved is not None and resolved < NOW for _, _, resolved, _, _ in playstation
    )


@pytest.mark.slow
def test_at_minute_1_milan_rome_naples_and_bologna_lead_and_the_us_and_asia_report_too(story):
    seen = story[1]
    # ChatGPT's page for Italy, in English, names its most affected cities.
    assert seen["italy_cities"][:4] == ["Milan", "Rome", "Naples", "Bologna"], seen["italy_cities"]
    # The outage map of ChatGPT's last hour: cities of the United States and of Asia report too.
    countries = [country for _, country in seen["map"]]
    assert countries.count("US") >= 3, seen["map"]
    assert len(ASIA & set(countries)) >= 2, seen["map"]


@pytest.mark.slow
def test_at_minute_20_iliad_is_down_in_its_regions_netflix_has_its_bump_and_chatgpt_is_confirmed(story):
    seen = story[20]
    assert seen["world"]["iliad"][0] != "ok", seen["world"]["iliad"]
    assert _open(seen, "iliad") == ["suspected"], seen["incidents"]
    # The media bump: Netflix's reports rise, from its usual Italian audience, not one ISP's.
    assert seen["world"]["netflix"][0] != "ok", seen["world"]["netflix"]
    assert "isp" not in (seen["world"]["netflix"][1], seen["italy"].get("netflix", ("ok", ""))[1]), seen[
        "italy"
    ]
    assert seen["world"]["chatgpt"] == ("outage", "confirmed")
    assert _open(seen, "chatgpt") == ["confirmed"]
    assert seen["actions"] == {(DEMO_REVIEWER, "confirm", "chatgpt", "")}


@pytest.mark.slow
def test_at_minute_20_instagram_youtube_and_facebook_read_as_fastwebs_problem(story):
    seen = story[20]
    assert {slug: seen["world"][slug] for slug in ISP_SERVICES} == dict.fromkeys(
        ISP_SERVICES, ("warning", "isp")
    )


@pytest.mark.slow
def test_at_minute_30_spotify_is_a_suspected_flood_and_never_an_incident(story):
    seen = story[30]
    assert seen["world"]["spotify"] == ("warning", "flood_suspected")
    assert not [row for row in seen["incidents"] if row[0] == "spotify" and row[3] >= NOW]


@pytest.mark.slow
def test_at_minute_30_netflix_is_dismissed_and_the_isp_incidents_wait_for_review(story):
    seen = story[30]
    assert seen["world"]["netflix"] == ("ok", "dismissed")
    assert seen["italy"].get("netflix", ("ok", "dismissed")) == ("ok", "dismissed")
    assert seen["actions"] == {
        (DEMO_REVIEWER, "confirm", "chatgpt", ""),
        (DEMO_REVIEWER, "dismiss", "netflix", "media"),
    }
    netflix = [
        status for slug, status, _, started, _ in seen["incidents"] if slug == "netflix" and started >= NOW
    ]
    assert netflix == ["dismissed"]
    suspected = [slug for slug in ISP_SERVICES if "suspected" in _open(seen, slug)]
    assert suspected, seen["incidents"]
    assert seen["world"]["chatgpt"] == ("outage", "confirmed")
    # iliad's incident, open, names only cities of Sicily and Calabria.
    assert _open(seen, "iliad") == ["suspected"], seen["incidents"]
    assert seen["iliad_regions"] and seen["iliad_regions"] <= set(REGIONAL_REGIONS), seen["iliad_regions"]


@pytest.mark.slow
def test_at_minute_30_the_review_flags_of_the_demos_genuine_crowds_are_quiet(story):
    """The demo's history is stored as its crowd posts (through the API) and learned over the
    week `make run` loads: no "100% API", no "new networks", no "shared provider" on the
    genuine outages (ChatGPT's and Sora's, iliad's regional one, Fastweb's customers), the
    media bump or the PlayStation Network outage. A flag is an exception to the service's
    usual mix (tests/test_review_queue.py: an API-only flood still raises one)."""
    flags = story[30]["flags"]
    slugs = {slug for slug, _ in flags}
    assert {"chatgpt", "sora", "iliad", "netflix", "playstation-network"} <= slugs, flags
    assert len(set(ISP_SERVICES) & slugs) >= 2, flags
    raised = {
        incident: [name for name, value in found.items() if value]
        for incident, found in flags.items()
        if any(found.values())
    }
    assert raised == {}, raised


# --- the crowd's comments --------------------------------------------------------------------


@pytest.mark.slow
def test_at_minute_1_the_crowds_first_comments_wait_for_review_and_none_is_shown(story):
    seen = story[1]
    assert {state for *_, state, _, _ in seen["comments"]} <= {Comment.State.PENDING}
    assert seen["comment_actions"] == set()
    assert seen["chatgpt_comments"] == []


@pytest.mark.slow
def test_at_minute_30_chatgpt_shows_the_comments_the_demo_reviewer_approved_and_none_it_rejected(story):
    seen = story[30]
    chatgpt = [row for row in seen["comments"] if row[1] == "chatgpt"]
    approved = [row for row in chatgpt if row[4] == Comment.State.APPROVED]
    rejected = [row for row in chatgpt if row[4] == Comment.State.REJECTED]
    assert len(approved) >= 5 and rejected, chatgpt
    # Approved are the pool's plausible lines, rejected its off-topic ones.
    assert {demo_verdict(text) for _, _, text, *_ in approved} == {APPROVE}
    assert {demo_verdict(text) for _, _, text, *_ in rejected} == {REJECT}
    # The service page shows the newest approved comments, and no rejected one.
    newest = sorted(approved, key=lambda row: (row[5], row[0]), reverse=True)[:10]
    assert seen["chatgpt_comments"] == [text for _, _, text, *_ in newest]
    assert not {text for _, _, text, *_ in rejected} & set(seen["chatgpt_comments"])
    # Each decision is the demo reviewer's, audited, on every service; what is still pending
    # came in less than COMMENT_REVIEW_AFTER ago.
    decided = [row for row in seen["comments"] if row[4] != Comment.State.PENDING]
    assert seen["comment_actions"] == {
        (DEMO_REVIEWER, APPROVE if state == Comment.State.APPROVED else REJECT, pk)
        for pk, _, _, _, state, _, _ in decided
    }
    minute_30 = NOW + 30 * MINUTE
    pending = [row for row in seen["comments"] if row[4] == Comment.State.PENDING]
    assert all(created > minute_30 - COMMENT_REVIEW_AFTER for *_, created, _ in pending), pending
    # Italians write in Italian, everyone else in English.
    assert {(country == "IT", language) for _, _, _, language, _, _, country in chatgpt} == {
        (True, "it"),
        (False, "en"),
    }
    # The other events have their say too: iliad's regional outage and Fastweb's customers.
    assert {"iliad", *ISP_SERVICES} & {row[1] for row in decided}
