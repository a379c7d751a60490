"""Comments sent with a report ("login fails with error 500"): the one check both the form
and the API run (reports.intake calls comment_clean; what the text may not hold is
reports.comment_text), and the store.

A comment is stored only with a counted report, so it rides the report's rate limit and
dedupe, and only while its network (the report's /24 or /64 hash) has fewer than
PENDING_PER_NETWORK comments waiting for review for that service in the last day.
Nothing is shown before a reviewer approves it (outages.review.moderation.comments_review).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import cast

from django.db import connection, transaction
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from reports.comment_text import problems
from reports.models import Comment, Report

COMMENT_MAX_LENGTH = cast(int, Comment._meta.get_field("text").max_length)
# At most this many comments of one network wait for review per service over a rolling day:
# ten people behind one NAT cannot queue a thousand comments.
PENDING_PER_NETWORK = 3
PENDING_CAP_WINDOW = dt.timedelta(days=1)


class CommentInvalid(ValueError):
    """A comment that cannot be stored; the message says what to change, in the reader's
    language (English on the API)."""


def comment_clean(text: str) -> str:
    """The comment as stored (stripped, NFC), or "" for none. Raises CommentInvalid with
    every fix it needs (reports.comment_text.problems)."""
    comment = unicodedata.normalize("NFC", text.strip())
    if not comment:
        return ""
    if len(comment) > COMMENT_MAX_LENGTH:
        raise CommentInvalid(
            _("A comment can have at most %(max)s characters; this one has %(length)s.")
            % {
                "max": number_format(COMMENT_MAX_LENGTH, force_grouping=True),
                "length": number_format(len(comment), force_grouping=True),
            }
        )
    if fixes := problems(comment):
        raise CommentInvalid(" ".join(fixes))
    return comment


def comment_add(*, report: Report, text: str, language: str, now: dt.datetime) -> Comment | None:
    """Store a checked comment with its counted report, pending review; None when the
    report's network already has its share of pending comments for the service."""
    with transaction.atomic():
        _network_lock(report)
        pending = Comment.objects.filter(
            service_id=report.service_id,
            network_hash=report.network_hash,
            state=Comment.State.PENDING,
            created_at__gte=now - PENDING_CAP_WINDOW,
        ).count()
        if pending >= PENDING_PER_NETWORK:
            return None
        return Comment.objects.create(
            report_id=report.pk,
            service_id=report.service_id,
            problem=report.problem,
            city_id=report.city_id,
            network_hash=report.network_hash,
            text=text,
            language=language[: Comment._meta.get_field("language").max_length],
            created_at=now,
        )


def _network_lock(report: Report) -> None:
    """Serialise concurrent comments of one network for one service until commit, so the
    cap cannot be overrun by requests that all counted before any inserted."""
    if connection.vendor != "postgresql":
        return  # SQLite serialises writers already
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"comment|{report.service_id}|{report.network_hash}"],
        )
