"""Comments in Chromium: a visitor reports with a comment, a reviewer approves it in one
click, the visitor sees it on the service page; the review header says who is signed in
and logs out."""

from __future__ import annotations

import pytest

from reports.models import Comment
from tests.review_helpers import reviewer_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def log_in(page, username: str = "reviewer", password: str = "pw-reviewer-1") -> None:
    page.goto("/accounts/login/?next=/review/comments/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button").click()
    page.wait_for_url("**/review/comments/")


def test_a_comment_sent_with_a_report_is_shown_once_a_reviewer_approves_it(open_page):
    reviewer_user()
    visitor = open_page()
    visitor.goto("/s/chatgpt/")
    visitor.get_by_label("Login").check()
    visitor.get_by_label("Comment (optional)").fill("Login fails with error 500")
    visitor.get_by_role("button", name="Report a problem").click()
    visitor.wait_for_url("**/s/chatgpt/#thanks")
    assert "once a reviewer approves it" in visitor.locator("#thanks").inner_text()
    assert "Login fails with error 500" not in visitor.locator("#comments").inner_text()

    reviewer = open_page()
    log_in(reviewer)
    row = reviewer.locator("tr", has_text="Login fails with error 500")
    assert "ChatGPT" in row.inner_text()
    row.get_by_role("button", name="Approve").click()
    reviewer.wait_for_url("**/review/comments/")
    assert "Comments approved: 1." in reviewer.locator("#thanks").inner_text()
    assert reviewer.locator("tr", has_text="Login fails with error 500").count() == 0

    visitor.goto("/s/chatgpt/")
    comments = visitor.locator("#comments")
    assert "Login fails with error 500" in comments.inner_text() and "Login" in comments.inner_text()
    assert Comment.objects.get().state == Comment.State.APPROVED


def test_the_review_header_shows_the_reviewer_and_logs_out(open_page):
    reviewer_user()
    page = open_page()
    log_in(page)

    header = page.locator("header.site-header")
    assert "Signed in as reviewer" in header.inner_text()
    header.get_by_role("link", name="Review queue").click()
    page.wait_for_url("**/review/")
    header.get_by_role("button", name="Log out").click()

    page.wait_for_url(lambda url: url.endswith("/"))
    assert "Signed in as" not in page.locator("header.site-header").inner_text()
    page.goto("/review/comments/")
    assert "/accounts/login/" in page.url
