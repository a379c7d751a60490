"""Taking one report in: the checks every surface runs, in one order, and the store.

The web form (reports.views) and the API (reports.api) only parse their input, call
report_intake and render what it returns or raises. A request writes one Report row and
claims the client's vote in one statement; reports.aggregation folds the row into the
minute counts shortly after.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.conf import settings

from catalogue.models import Service
from catalogue.selectors import intake_service
from geo.ip import IPAddress
from geo.lookup import Location, locate
from geo.models import City
from geo.services import city_for_location
from reports import dialect, hashing
from reports.comments import CommentInvalid, comment_add, comment_clean
from reports.models import Comment, Report
from reports.pow import PowRejected, pow_check
from reports.ratelimit import retry_after_seconds

logger = logging.getLogger(__name__)


class ReportRejected(Exception):
    """Input that cannot become a report: `code` (stable, machine-readable), the message
    (what to fix) and the HTTP status the surfaces answer with."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        valid: Sequence[str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.valid = None if valid is None else list(valid)  # the choices, for unknown_problem
        self.retry_after = retry_after


def no_client_address() -> ReportRejected:
    return ReportRejected("no_client_address", "The client address could not be determined.")


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    report: Report
    counted: bool
    location: Location | None
    city: City | None
    # The comment stored with the report, pending review; None when none was sent or it was
    # not kept (a repeat report, or its network's share of pending comments is used up).
    comment: Comment | None = None


def dedupe_seconds() -> int:
    return settings.REPORT_DEDUPE_MINUTES * 60


def report_intake(
    *,
    slug: str,
    problem: str,
    proof: tuple[object, object],
    address: IPAddress | None,
    source: str,
    now: dt.datetime,
    honeypot: bool = False,
    comment: str = "",
    language: str = "",
    device: str | None = None,
) -> ReportOutcome | None:
    """Check and store one report from the form or the API, with its optional comment;
    None when it is discarded unseen (a filled honeypot), which the surfaces thank like a
    counted one.

    The order: a client address, its rate limit (counted before anything that reads the
    database or the cache of proofs, so a flood costs one Redis call a request), a known
    service, the comment (before the proof, so a comment to fix burns no solved challenge),
    the proof of work (after the service, so a mistyped slug burns none either), a valid
    problem, then the store. An invalid comment refuses the whole request before anything
    is stored, so a report is never half taken. `device` is the client's device cookie
    (reports.devices), which counts only on a shared address (reports.hashing.voter).
    Raises ReportRejected."""
    if address is None:
        raise no_client_address()
    retry_after = retry_after_seconds(address, device=device)
    if retry_after is not None:
        raise ReportRejected(
            "rate_limited",
            f"Too many reports from your network; try again in {retry_after} s.",
            status=429,
            retry_after=retry_after,
        )
    intake = intake_service(slug)
    if intake is None:
        raise ReportRejected("unknown_service", f"No active service {slug!r}; check the slug.", status=404)
    try:
        comment = comment_clean(comment)
    except CommentInvalid as invalid:
        raise ReportRejected("invalid_comment", str(invalid)) from invalid
    try:
        pow_check(*proof)
    except PowRejected as rejected:
        raise ReportRejected(rejected.code, str(rejected), status=rejected.status) from rejected
    if problem not in intake.problem_codes:
        raise ReportRejected(
            "unknown_problem",
            f"Unknown problem {problem!r}; choose one of: {', '.join(intake.problem_codes)}.",
            valid=intake.problem_codes,
        )
    if honeypot:
        logger.info("honeypot field filled; report discarded (service=%s)", slug)
        return None
    outcome = report_create(
        service=intake.service, problem=problem, address=address, source=source, now=now, device=device
    )
    if comment and outcome.counted:  # a repeat's comment would dodge the dedupe
        stored = comment_add(report=outcome.report, text=comment, language=language, now=now)
        return replace(outcome, comment=stored)
    return outcome


def report_create(
    *,
    service: Service,
    problem: str,
    address: IPAddress,
    source: str,
    now: dt.datetime,
    device: str | None = None,
) -> ReportOutcome:
    """Store one admitted report. Counted unless the same client reported this service
    within REPORT_DEDUPE_MINUTES; placed in a city when the address can be located."""
    location = locate(address)
    city = city_for_location(location) if location else None
    network = hashing.network_identity(address, device=device)
    report = Report(
        service=service,
        problem=problem,
        created_at=now,
        source=source,
        city=city,
        country_code=location.country_code if location else "",
        network_hash=network.network_hash,
        network48_hash=network.network48_hash,
        prefix_hash=network.prefix_hash,
        asn=network.asn,
        asn_name=network.asn_name,
    )
    dialect.report_insert_claiming_vote(
        report,
        client_hash=hashing.client_hash(address, day=now.date(), device=device),
        now_epoch=int(now.timestamp()),
        window=dedupe_seconds(),
    )
    return ReportOutcome(report=report, counted=report.counted, location=location, city=city)
