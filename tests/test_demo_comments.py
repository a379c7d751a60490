"""The demo crowd's comments: pools that pass the automatic check, drawn on a few of the
events' reports in the reporter's language without changing the reports, and the demo
reviewer's decisions through the review service (the accelerated demo, with the service
page, is in tests/test_demo_crowd.py)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest
import time_machine
from django.test import Client

from outages.review.models import ReviewAction
from reports.comments import comment_clean
from reports.models import Comment, Report
from simulator.comments import APPROVE, POOLS, REJECT, city_as_written, demo_verdict
from simulator.crowd import KINDS
from simulator.demo import COMMENT_REVIEW_AFTER, REGIONAL_REGIONS, DemoCrowd, DemoSchedule
from simulator.live import Post, live_stream
from simulator.reviewer import DEMO_REVIEWER, demo_comments_review, demo_reviewer_ensure
from tests.helpers import live_server_warm_up, post_report

NOW = dt.datetime(2026, 5, 11, 14, 7, tzinfo=dt.UTC)
SERVICES = ("chatgpt", "sora", "iliad", "netflix", "instagram", "youtube", "facebook", "spotify", "steam")
LONGEST_CITY = "Acilia-Castel Fusano-Ostia Antica"


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_every_line_passes_the_automatic_check_unchanged_and_the_reviewer_knows_it(pool):
    for line in POOLS[pool].lines:
        text = line.render(LONGEST_CITY)
        assert comment_clean(text) == text
        assert demo_verdict(text) == (APPROVE if line.on_topic else REJECT), text
    # Something to reject in each, in each of its languages.
    for language in {line.language for line in POOLS[pool].lines}:
        assert any(not line.on_topic for line in POOLS[pool].lines_in(language))


def test_a_comment_the_crowd_did_not_write_is_left_for_a_person():
    assert demo_verdict("Non va neanche a me, errore 503") is None
    assert demo_verdict("first! really") is None
    assert demo_verdict("Palermo, niente rete dati e anche altro") is None


@pytest.fixture(scope="module")
def half_hour():
    """The demo crowd's first half hour after `make run` (ChatGPT's tail, the regional, ISP
    and media events), its comments, and the same window from a crowd asked for none."""
    schedule = DemoSchedule(anchor=NOW)
    crowd, plain = DemoCrowd(SERVICES, schedule, seed=7), DemoCrowd(SERVICES, schedule, seed=7)
    windows = []
    for minute in range(0, 30, 3):
        start, end = NOW + dt.timedelta(minutes=minute), NOW + dt.timedelta(minutes=minute + 3)
        batch = crowd.window(start, end)
        windows.append((batch, crowd.comments(batch, start, end), plain.window(start, end)))
    return windows


def test_comments_ride_on_the_reports_the_crowd_sends_anyway(half_hour):
    for batch, _, plain in half_hour:
        assert np.array_equal(batch.seconds, plain.seconds)
        assert np.array_equal(batch.address, plain.address)
        assert np.array_equal(batch.service, plain.service)


def test_a_few_of_the_events_reports_carry_a_comment_in_their_reporters_language(half_hour):
    by_service: Counter[str] = Counter()
    events = 0
    for batch, comments, _ in half_hour:
        events += int(np.isin(batch.kind, [KINDS.index("outage"), KINDS.index("isp")]).sum())
        for row, comment in comments.items():
            service = batch.services[int(batch.service[row])]
            place = batch.places[int(batch.place[row])]
            by_service[service] += 1
            # Only the events' reporters comment, never everyday life nor the flood.
            assert KINDS[int(batch.kind[row])] in {"outage", "isp", "media"}
            assert comment.language == ("it" if place.country_code == "IT" else "en")
            if service == "iliad":
                # The regional outage's reporters name their own city.
                assert place.region in REGIONAL_REGIONS
                if demo_verdict(comment.text) == APPROVE:  # each of its lines names a city
                    assert city_as_written(place.name, "it") in comment.text, comment
    total = sum(by_service.values())
    assert 0 < total < 0.1 * events, (total, events)
    assert {"chatgpt", "iliad"} <= set(by_service) and "spotify" not in by_service, by_service
    assert set(by_service) & {"instagram", "youtube", "facebook"}, by_service


@pytest.mark.django_db
def test_the_demo_reviewer_decides_the_crowds_comments_once_they_have_waited(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    reviewer = demo_reviewer_ensure(password="demo-pw-1")
    texts = {
        "Non risponde da 10 minuti, errore 503": Comment.State.APPROVED,
        "first!": Comment.State.REJECTED,
        "Mine fails at the login too": Comment.State.PENDING,  # a person's: left for a person
    }
    with time_machine.travel(NOW, tick=False):
        for number, text in enumerate(texts):
            response = post_report(
                Client(),
                {"service": "chatgpt", "problem": "login", "comment": text},
                HTTP_X_FORWARDED_FOR=f"93.56.{number + 1}.1",
                ip="127.0.0.1",
            )
            assert response.json()["comment_stored"] is True, response.json()

    assert demo_comments_review(reviewer=reviewer, now=NOW + COMMENT_REVIEW_AFTER / 2) == []
    assert set(Comment.objects.values_list("state", flat=True)) == {Comment.State.PENDING}

    later = NOW + COMMENT_REVIEW_AFTER
    assert demo_comments_review(reviewer=reviewer, now=later) == [
        f"{DEMO_REVIEWER}: {APPROVE} 1 comment(s)",
        f"{DEMO_REVIEWER}: {REJECT} 1 comment(s)",
    ]
    assert dict(Comment.objects.values_list("text", "state")) == texts
    assert set(
        ReviewAction.objects.values_list(
            "actor_name", "kind", "comment__text", "status_before", "status_after"
        )
    ) == {
        (DEMO_REVIEWER, APPROVE, "Non risponde da 10 minuti, errore 503", "pending", "approved"),
        (DEMO_REVIEWER, REJECT, "first!", "pending", "rejected"),
    }
    page = Client().get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Non risponde da 10 minuti, errore 503" in page
    assert "first!" not in page and "Mine fails at the login too" not in page
    # Decided once: a second look changes nothing.
    assert demo_comments_review(reviewer=reviewer, now=later + COMMENT_REVIEW_AFTER) == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_crowd_sends_each_comment_with_its_report_in_its_language(live_server, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    live_server_warm_up()
    posts = [
        Post(0.0, "chatgpt", "login", "93.56.1.1", "Non risponde da 10 minuti, errore 503", "it"),
        Post(0.0, "chatgpt", "login", "8.8.8.8", "Can't log in, network error", "en"),
        Post(0.0, "chatgpt", "website", "2.37.197.1"),
    ]

    result = live_stream(url=live_server.url, posts=iter(posts), workers=1)

    assert result.statuses == {201: 3}, result.summary()
    assert Report.objects.count() == 3
    assert set(Comment.objects.values_list("text", "language", "state")) == {
        ("Non risponde da 10 minuti, errore 503", "it", Comment.State.PENDING),
        ("Can't log in, network error", "en", Comment.State.PENDING),
    }
