"""Comments sent with a report: one check for the form and the API, stored only with a
counted report and within the network's cap, reviewed (approve, reject, bulk, hide, each
audited) and shown on the service page once approved, escaped."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalogue.models import Service
from outages.review.models import ReviewAction
from reports.comments import CommentInvalid, comment_clean
from reports.models import Comment, Report
from tests.helpers import MILAN_IP, post_report
from tests.review_helpers import plain_staff_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)


def form_post(client, fields: dict, *, slug: str = "chatgpt", ip: str = MILAN_IP, **extra):
    return client.post(f"/s/{slug}/report/", {"problem": "login", **fields}, REMOTE_ADDR=ip, **extra)


def comment_of(
    service: Service, text: str, *, state: str = Comment.State.PENDING, at: dt.datetime = NOW
) -> Comment:
    """A comment as the intake would leave it, without a request."""
    return Comment.objects.create(
        report_id=1,
        service=service,
        problem="login",
        network_hash="0" * 32,
        text=text,
        language="en",
        created_at=at,
        state=state,
    )


# --- the one check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "x" * 281,
        "see http://status.example.org",
        "HTTPS://EXAMPLE.ORG/down",
        "go to www.down",
        "it is on example.com too",
        "a-b.c_d.co.uk",
        "1http://x",
        "ask support@example.org",
        "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d",  # full-width example.com
        "<b>down</b>",
        "a <script>",
        "down &amp; out",
        "down &#60;3",
        "nul\x00byte",
        "bell\x07",
        "right-to-left \u202eoverride",
        "lone \ud800 surrogate",
    ],
)
def test_a_comment_with_too_many_characters_links_markup_or_control_characters_is_refused(text):
    with pytest.raises(CommentInvalid):
        comment_clean(text)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("  login fails with error 500  ", "login fails with error 500"),
        ("x" * 280, "x" * 280),
        (" " * 300 + "ok", "ok"),  # at most 280 after stripping
        ("app v2.1 crashes, e.g. on start\nthen nothing", "app v2.1 crashes, e.g. on start\nthen nothing"),
        ("non funziona più 😡", "non funziona più 😡"),
        ("3.5mm jack, 1.5GB update, 10:30 a.m.", "3.5mm jack, 1.5GB update, 10:30 a.m."),
        ("." * 280, "." * 280),
        ("   ", ""),
    ],
)
def test_a_plain_comment_is_kept_stripped(text, stored):
    assert comment_clean(text) == stored


@pytest.mark.parametrize(
    ("comment", "detail"),
    [
        ("x" * 281, "at most 280 characters"),
        ("see https://example.org", "links"),
        ("<i>x</i>", "markup"),
        ("nul\x00byte", "control characters"),
    ],
)
def test_the_api_refuses_an_invalid_comment_with_400_and_stores_nothing(client, comment, detail):
    response = post_report(client, {"service": "chatgpt", "problem": "login", "comment": comment})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_comment" and detail in body["detail"]
    assert Report.objects.count() == 0 and Comment.objects.count() == 0


def test_the_drf_path_refuses_an_invalid_comment_the_same_way(client):
    """A request the plain path does not answer (Accept: application/json; indent) goes
    through DRF's serializer, which leaves the comment to the same check."""
    response = post_report(
        client,
        {"service": "chatgpt", "comment": "nul\x00byte"},
        HTTP_ACCEPT="application/json; indent=2",
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_comment"
    assert Report.objects.count() == 0


@pytest.mark.parametrize("comment", [5, ["x"], {"text": "x"}, None])
def test_a_comment_that_is_not_a_string_is_a_400_naming_the_field(client, comment):
    response = post_report(client, {"service": "chatgpt", "comment": comment})

    assert response.status_code == 400 and "comment" in response.json()["fields"]
    assert Report.objects.count() == 0


def test_the_form_refuses_an_invalid_comment_with_the_form_again_and_stores_nothing(client):
    response = form_post(client, {"comment": "visit www.example.org"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "cannot contain links" in page and 'name="comment"' in page
    assert Report.objects.count() == 0


def test_the_form_says_what_to_fix_in_italian(client):
    response = form_post(client, {"comment": "x" * 281}, HTTP_ACCEPT_LANGUAGE="it")

    assert response.status_code == 400
    assert "al massimo 280 caratteri" in response.content.decode()


# --- stored with a counted report -----------------------------------------------------------


def test_an_api_comment_is_stored_pending_with_its_report_and_no_address(client):
    response = post_report(
        client, {"service": "chatgpt", "problem": "login", "comment": " login fails with error 500 "}
    )

    assert response.status_code == 201 and response.json()["comment_stored"] is True
    report = Report.objects.get()
    comment = Comment.objects.get()
    assert comment.text == "login fails with error 500" and comment.state == Comment.State.PENDING
    assert (comment.report_id, comment.service_id, comment.problem, comment.city_id) == (
        report.pk,
        report.service_id,
        "login",
        report.city_id,
    )
    assert comment.network_hash == report.network_hash and comment.city.name_en == "Milan"
    row = str(Comment.objects.values().get())
    assert MILAN_IP not in row and "93.56.1." not in row


def test_a_report_without_a_comment_answers_as_before(client):
    response = post_report(client, {"service": "chatgpt", "problem": "login"})

    assert response.status_code == 201 and "comment_stored" not in response.json()
    assert Comment.objects.count() == 0


def test_a_form_comment_is_stored_with_the_page_language_and_the_visitor_is_told(client):
    response = form_post(
        client, {"comment": "Non riesco ad accedere"}, HTTP_ACCEPT_LANGUAGE="it", follow=True
    )

    comment = Comment.objects.get()
    assert comment.text == "Non riesco ad accedere" and comment.language == "it"
    assert "approvato" in response.content.decode()


def test_a_repeat_report_within_the_dedupe_window_stores_no_new_comment(client):
    post_report(client, {"service": "chatgpt", "comment": "first"})

    response = post_report(client, {"service": "chatgpt", "comment": "second"})

    assert response.status_code == 200 and response.json()["comment_stored"] is False
    assert list(Comment.objects.values_list("text", flat=True)) == ["first"]


def test_a_rate_limited_report_stores_no_comment(client, settings):
    settings.REPORT_RATE_LIMIT = "1/m"
    post_report(client, {"service": "chatgpt", "comment": "first"})

    response = post_report(client, {"service": "sora", "comment": "second"})

    assert response.status_code == 429
    assert list(Comment.objects.values_list("text", flat=True)) == ["first"]


def test_a_network_has_at_most_three_pending_comments_per_service_a_day(client):
    """Four households behind one /24: the fourth report counts, its comment is not kept."""
    answers = [
        post_report(client, {"service": "chatgpt", "comment": f"down {i}"}, ip=f"93.56.1.{i}")
        for i in range(1, 5)
    ]

    assert [answer.status_code for answer in answers] == [201] * 4
    assert [answer.json()["comment_stored"] for answer in answers] == [True, True, True, False]
    assert Comment.objects.count() == 3
    # Another service, or another network, has its own share.
    assert post_report(client, {"service": "sora", "comment": "x"}, ip="93.56.1.9").json()["comment_stored"]
    assert post_report(client, {"service": "chatgpt", "comment": "x"}, ip="93.56.2.1").json()[
        "comment_stored"
    ]


def test_an_approved_comment_frees_its_networks_share_and_the_share_renews_after_a_day(client):
    with time_machine.travel(NOW, tick=False):
        for i in range(1, 4):
            post_report(client, {"service": "chatgpt", "comment": f"down {i}"}, ip=f"93.56.1.{i}")
        Comment.objects.filter(text="down 1").update(state=Comment.State.APPROVED)
        assert post_report(client, {"service": "chatgpt", "comment": "x"}, ip="93.56.1.4").json()[
            "comment_stored"
        ]
        assert not post_report(client, {"service": "chatgpt", "comment": "y"}, ip="93.56.1.5").json()[
            "comment_stored"
        ]
    with time_machine.travel(NOW + dt.timedelta(days=1, minutes=1), tick=False):
        assert post_report(client, {"service": "chatgpt", "comment": "z"}, ip="93.56.1.6").json()[
            "comment_stored"
        ]


# --- review ---------------------------------------------------------------------------------


def test_the_review_list_shows_pending_comments_newest_first_with_service_problem_and_city(
    reviewer_client, chatgpt
):
    post_report(reviewer_client, {"service": "chatgpt", "problem": "login", "comment": "older one"})
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1)):
        post_report(reviewer_client, {"service": "sora", "problem": "app", "comment": "newer one"})
    comment_of(chatgpt, "already approved", state=Comment.State.APPROVED)

    page = reviewer_client.get("/review/comments/").content.decode()

    assert page.index("newer one") < page.index("older one") and "already approved" not in page
    row = re.search(r'<tr id="comment-\d+">.*?older one.*?</tr>', page, re.S)[0]
    assert "ChatGPT" in row and "Login" in row and "Milan" in row


def test_one_click_approves_a_comment_with_an_audit_row(reviewer_client, chatgpt):
    comment = comment_of(chatgpt, "login fails")

    response = reviewer_client.post(
        "/review/comments/act/", {"comment": comment.pk, "action": "comment_approve"}
    )

    assert response.status_code == 302 and response["Location"] == "/review/comments/"
    comment.refresh_from_db()
    assert comment.state == Comment.State.APPROVED and comment.reviewed_by.username == "reviewer"
    assert comment.reviewed_at is not None
    action = ReviewAction.objects.get()
    assert (action.kind, action.comment_id, action.incident_id, action.actor_name) == (
        "comment_approve",
        comment.pk,
        None,
        "reviewer",
    )
    assert (action.status_before, action.status_after, action.created_at) == (
        "pending",
        "approved",
        comment.reviewed_at,
    )


def test_bulk_reject_decides_every_ticked_comment_and_audits_each(reviewer_client, chatgpt):
    ticked = [comment_of(chatgpt, f"spam {i}") for i in range(3)]
    untouched = comment_of(chatgpt, "fine")

    reviewer_client.post(
        "/review/comments/act/", {"comment": [c.pk for c in ticked], "action": "comment_reject"}, follow=True
    )

    assert set(Comment.objects.filter(state="rejected").values_list("pk", flat=True)) == {
        c.pk for c in ticked
    }
    untouched.refresh_from_db()
    assert untouched.state == Comment.State.PENDING
    assert sorted(
        ReviewAction.objects.filter(kind="comment_reject").values_list("comment_id", flat=True)
    ) == sorted(c.pk for c in ticked)


def test_an_approved_comment_can_be_hidden_from_the_approved_list(reviewer_client, chatgpt):
    shown = comment_of(chatgpt, "shown for now", state=Comment.State.APPROVED)
    listed = reviewer_client.get("/review/comments/?state=approved").content.decode()
    assert "shown for now" in listed and 'value="comment_hide"' in listed

    response = reviewer_client.post(
        "/review/comments/act/", {"comment": shown.pk, "action": "comment_hide", "state": "approved"}
    )

    assert response["Location"] == "/review/comments/?state=approved"
    shown.refresh_from_db()
    assert shown.state == Comment.State.HIDDEN
    assert ReviewAction.objects.get().kind == "comment_hide"
    assert "shown for now" not in reviewer_client.get("/s/chatgpt/").content.decode()


def test_an_action_on_a_comment_in_another_state_changes_and_logs_nothing(reviewer_client, chatgpt):
    pending = comment_of(chatgpt, "still pending")
    rejected = comment_of(chatgpt, "rejected already", state=Comment.State.REJECTED)

    reviewer_client.post("/review/comments/act/", {"comment": pending.pk, "action": "comment_hide"})
    reviewer_client.post("/review/comments/act/", {"comment": rejected.pk, "action": "comment_approve"})

    assert ReviewAction.objects.count() == 0
    assert dict(Comment.objects.values_list("text", "state")) == {
        "still pending": "pending",
        "rejected already": "rejected",
    }


@pytest.mark.parametrize(
    "data",
    [
        {"action": "comment_approve"},  # nothing ticked
        {"comment": "abc", "action": "comment_approve"},
        {"comment": "999999", "action": "comment_approve"},
        {"comment": "1", "action": "delete_everything"},
    ],
)
def test_a_malformed_review_post_is_a_400_saying_what_is_wrong(reviewer_client, chatgpt, data):
    comment_of(chatgpt, "x")

    response = reviewer_client.post("/review/comments/act/", data)

    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    assert ReviewAction.objects.count() == 0


def test_only_reviewers_may_see_or_decide_comments(client, chatgpt):
    comment = comment_of(chatgpt, "x")
    assert client.get("/review/comments/")["Location"].startswith("/accounts/login/")
    assert (
        client.post("/review/comments/act/", {"comment": comment.pk, "action": "comment_approve"}).status_code
        == 302
    )

    client.force_login(plain_staff_user())

    assert client.get("/review/comments/").status_code == 403
    assert (
        client.post("/review/comments/act/", {"comment": comment.pk, "action": "comment_approve"}).status_code
        == 403
    )
    comment.refresh_from_db()
    assert comment.state == Comment.State.PENDING


def test_the_review_list_reads_a_page_in_a_fixed_number_of_queries(reviewer_client, chatgpt):
    comment_of(chatgpt, "one")
    reviewer_client.get("/review/comments/")  # the session's first request reads more
    with CaptureQueriesContext(connection) as few:
        reviewer_client.get("/review/comments/")
    for i in range(20):
        comment_of(chatgpt, f"more {i}")
    with CaptureQueriesContext(connection) as many:
        reviewer_client.get("/review/comments/")

    assert len(many) == len(few)


def test_staff_can_read_but_not_change_comments_and_their_audit_in_the_admin(admin_client, chatgpt):
    comment = comment_of(chatgpt, "login fails")

    assert "login fails" in admin_client.get("/admin/reports/comment/").content.decode()
    assert admin_client.get(f"/admin/reports/comment/{comment.pk}/change/").status_code == 200
    assert (
        admin_client.post(f"/admin/reports/comment/{comment.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert admin_client.get("/admin/outages/reviewaction/").status_code == 200


def test_the_review_queue_and_header_link_to_the_comments(reviewer_client):
    page = reviewer_client.get("/review/").content.decode()

    assert page.count('href="/review/comments/"') >= 2


# --- the service page -----------------------------------------------------------------------


def test_the_service_page_shows_only_approved_comments_newest_first_at_most_ten(client, chatgpt):
    for i in range(12):
        comment_of(
            chatgpt,
            f"approved number {i:02d}",
            state=Comment.State.APPROVED,
            at=NOW + dt.timedelta(minutes=i),
        )
    for state in (Comment.State.PENDING, Comment.State.REJECTED, Comment.State.HIDDEN):
        comment_of(chatgpt, f"a {state} one", state=state, at=NOW + dt.timedelta(hours=1))

    page = client.get("/s/chatgpt/").content.decode()

    section = re.search(r'<section id="comments".*?</section>', page, re.S)[0]
    shown = re.findall(r"approved number (\d\d)", section)
    assert shown == [f"{i:02d}" for i in range(11, 1, -1)]
    assert "pending one" not in page and "rejected one" not in page and "hidden one" not in page
    assert "Login" in section


def test_a_comment_is_shown_escaped_never_as_html(client, chatgpt):
    comment_of(chatgpt, '<img src=x onerror="alert(1)"> & co', state=Comment.State.APPROVED)

    page = client.get("/s/chatgpt/").content.decode()

    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co" in page


def test_the_comment_field_and_section_are_in_italian(client, chatgpt):
    comment_of(chatgpt, "ok", state=Comment.State.APPROVED)

    page = client.get("/s/chatgpt/", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    assert "Commento (facoltativo)" in page and ">Commenti</h2>" in page


def test_the_service_page_reads_comments_in_a_fixed_number_of_queries(client, chatgpt, time_machine):
    # A frozen clock: the page's kept sums are keyed by the minute, so a minute turning
    # between the two requests would add their queries back.
    time_machine.move_to(NOW, tick=False)
    comment_of(chatgpt, "one", state=Comment.State.APPROVED)
    client.get("/s/chatgpt/")  # warm the process caches
    with CaptureQueriesContext(connection) as few:
        client.get("/s/chatgpt/")
    for i in range(9):
        comment_of(chatgpt, f"more {i}", state=Comment.State.APPROVED)
    with CaptureQueriesContext(connection) as many:
        client.get("/s/chatgpt/")

    assert len(many) == len(few)


@pytest.mark.parametrize(
    "text",
    ["a" * 280, "a." * 140, "a-" * 140, "a@" * 140, "1." * 140, "(dot)" * 56, "\u0430." * 140],
)
def test_checking_a_long_repetitive_comment_stays_fast(text):
    comment_clean("warm the tables up")
    started = time.perf_counter()
    for _ in range(20):
        with contextlib.suppress(CommentInvalid):
            comment_clean(text)

    # 50 ms each at most, room for a loaded machine: urlextract's scan for top-level domains
    # takes 2-3 ms on 280 characters of "a." (twice that for look-alike letters, read twice);
    # a pattern that backtracks takes seconds.
    assert time.perf_counter() - started < 1.0
