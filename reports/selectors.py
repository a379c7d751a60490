"""A service's report counts for the API: totals, problem shares, cities (read through
reports.counts, so they include the reports not yet aggregated); its approved comments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from catalogue.models import ProblemType
from geo.models import City
from reports import counts
from reports.models import CityMinute, Comment, ProblemMinute, ServiceMinute


def report_count(*, service_id: int, start: dt.datetime, end: dt.datetime) -> int:
    """Reports in [start, end). Two queries."""
    return counts.totals(ServiceMinute, None, service_id=service_id, start=start, end=end).get(None, 0)


@dataclass(frozen=True, slots=True)
class ProblemShare:
    code: str
    count: int
    percent: int


def problem_shares(
    *, service_id: int, start: dt.datetime, end: dt.datetime, country: str = ""
) -> list[ProblemShare]:
    """Reports per problem in [start, end), worldwide or from `country`, most reported
    first. Two queries worldwide, one in a country."""
    if country:
        totals = counts.scope_sums(service_id, country, start=start, end=end, pending_since=start).problems
    else:
        totals = counts.totals(ProblemMinute, "problem", service_id=service_id, start=start, end=end)
    grand_total = sum(totals.values())
    return [
        ProblemShare(code=code, count=n, percent=round(100 * n / grand_total))
        for code, n in sorted(totals.items(), key=lambda item: -item[1])
    ]


@dataclass(frozen=True, slots=True)
class CityCount:
    city: City
    count: int


def city_counts(*, service_id: int, start: dt.datetime, end: dt.datetime, limit: int = 10) -> list[CityCount]:
    """The `limit` cities with most reports in [start, end). Three queries."""
    totals = counts.totals(CityMinute, "city_id", service_id=service_id, start=start, end=end)
    top = sorted(totals.items(), key=lambda item: -item[1])[:limit]
    cities = City.objects.in_bulk([city_id for city_id, _ in top])
    return [CityCount(city=cities[city_id], count=n) for city_id, n in top]


# The service page shows this many approved comments.
PUBLIC_COMMENTS = 10


def approved_comments(*, service_id: int, limit: int = PUBLIC_COMMENTS) -> list[Comment]:
    """The service page's comments: approved, newest first, each with its problem_label.
    Two queries."""
    comments = list(
        Comment.objects.filter(service_id=service_id, state=Comment.State.APPROVED).order_by(
            "-created_at", "-id"
        )[:limit]
    )
    return with_problem_labels(comments)


def with_problem_labels(comments: list[Comment]) -> list[Comment]:
    """Set each comment's problem_label (its service's label for the problem, translated
    for the default types). One query."""
    labels = {
        (problem.service_id, problem.code): problem.display_label
        for problem in ProblemType.objects.filter(service_id__in={comment.service_id for comment in comments})
    }
    for comment in comments:
        comment.problem_label = labels.get((comment.service_id, comment.problem), comment.problem)
    return comments
