"""Comments sent with a report ("login fails with error 500"): the one check both the form
and the API run (reports.intake calls comment_clean), and the store.

A comment is stored only with a counted report, so it rides the report's rate limit and
dedupe, and only while its network (the report's /24 or /64 hash) has fewer than
PENDING_PER_NETWORK comments waiting for review for that service in the last day.
Nothing is shown before a reviewer approves it (outages.review.moderation.comments_review).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import cast

from django.db import connection, transaction
from django.utils.translation import gettext as _

from reports.models import Comment, Report

COMMENT_MAX_LENGTH = cast(int, Comment._meta.get_field("text").max_length)
# At most this many comments of one network wait for review per service over a rolling day:
# ten people behind one NAT cannot queue a thousand comments.
PENDING_PER_NETWORK = 3
PENDING_CAP_WINDOW = dt.timedelta(days=1)

# No nested repeats: a 280-character comment of dots, dashes or @ takes as long to check as
# any other (about 0.1 ms; the textbook domain pattern took 2-4 ms on those).
_LINK = re.compile(
    r"""
    ://                         # any scheme: http://, https://, ftp://
    | \bwww\.
    | [^\s@]@[^\s@]+\.[^\s@]      # an e-mail address
    | [a-z0-9-]\.[a-z]{2,63}\b    # the end of a bare domain: example.com, t.co
    """,
    re.IGNORECASE | re.VERBOSE,
)
_ENTITY = re.compile(r"&(?:#[0-9]+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE)
# Line breaks and tabs from a textarea are fine; every other control, format (bidi
# overrides, zero-width characters), surrogate, private-use or unassigned character is not.
_ALLOWED_CONTROLS = frozenset("\n\r\t")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class CommentInvalid(ValueError):
    """A comment that cannot be stored; the message says what to change, in the reader's
    language (English on the API)."""


def comment_clean(text: str) -> str:
    """The comment as stored (stripped), or "" for none. Raises CommentInvalid."""
    comment = text.strip()
    if not comment:
        return ""
    if len(comment) > COMMENT_MAX_LENGTH:
        raise CommentInvalid(
            _("A comment can have at most %(max)d characters; this one has %(length)d.")
            % {"max": COMMENT_MAX_LENGTH, "length": len(comment)}
        )
    if any(_refused_character(character) for character in comment):
        raise CommentInvalid(_("Remove the control characters from the comment."))
    # Full-width and other look-alike forms count as what they look like.
    plain = unicodedata.normalize("NFKC", comment)
    if "<" in plain or ">" in plain or _ENTITY.search(plain):
        raise CommentInvalid(_("A comment cannot contain markup: remove < > and HTML entities."))
    if _LINK.search(plain):
        raise CommentInvalid(_("A comment cannot contain links, web or e-mail addresses."))
    return comment


def _refused_character(character: str) -> bool:
    if character in _ALLOWED_CONTROLS:
        return False
    return unicodedata.category(character) in _REFUSED_CATEGORIES or character in _BIDI_CONTROLS


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
