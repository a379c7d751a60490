"""The living demo's reviewer: an account anyone running `make run` can log in with, and
the decisions the demo takes with it: incidents on a schedule (simulator.demo), the crowd's
comments as they come (simulator.comments). It decides only through the review services
(outages.review.services.incident_act, outages.review.moderation.comments_review), the ones
a person's click goes through, so each decision is checked and audited as theirs would be."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth.models import Group, User

from catalogue.models import Service
from outages.models import REVIEWER_GROUP, Incident
from outages.review.moderation import comments_review
from outages.review.selectors import review_comments
from outages.review.services import ReviewError, incident_act
from outages.status import latest_incident
from reports.models import Comment
from simulator.comments import APPROVE, REJECT, demo_verdict
from simulator.demo import COMMENT_REVIEW_AFTER, ReviewStep

DEMO_REVIEWER = "demo-reviewer"


def demo_reviewer_ensure(*, password: str) -> User:
    """The demo reviewer, in the reviewer group, with this password (set on every load).
    No email address: the reviewers' incident mail is not sent to a demo account."""
    user, _ = User.objects.get_or_create(username=DEMO_REVIEWER, defaults={"email": ""})
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=REVIEWER_GROUP))
    return user


def demo_reviews_apply(
    steps: Iterable[ReviewStep], *, reviewer: User, now: dt.datetime, done: set[ReviewStep]
) -> list[str]:
    """Take each step that is due and not in `done`; returns what was decided, to print.

    A step waits (until its patience runs out) for its service's incident to be opened;
    one whose decision is already taken, by anyone, is simply done.
    """
    decided = []
    for step in steps:
        if step in done or step.at > now:
            continue
        incident = _incident_for(step)
        if incident is None:
            if now >= step.at + step.patience:
                done.add(step)
            continue
        try:
            incident_act(
                incident_id=incident.pk,
                action=step.action,
                actor=reviewer,
                now=now,
                reason=step.reason,
                note=step.note,
            )
        except ReviewError:
            pass  # the service says no (someone decided first, or the state moved on): theirs stands
        else:
            decided.append(f"{DEMO_REVIEWER}: {step.action} {step.service} incident #{incident.pk}")
        done.add(step)
    return decided


def _incident_for(step: ReviewStep) -> Incident | None:
    """The service's latest incident, if the event the step is about can be behind it."""
    service_id = Service.objects.filter(slug=step.service).values_list("pk", flat=True).first()
    incident = latest_incident(service_id) if service_id is not None else None
    if incident is None or (
        incident.resolved_at is not None and incident.resolved_at < step.at - step.patience
    ):
        return None
    return incident


def demo_comments_review(
    *, reviewer: User, now: dt.datetime, after: dt.timedelta = COMMENT_REVIEW_AFTER
) -> list[str]:
    """Approve the crowd's comments on topic and reject its off-topic ones, each once it has
    waited `after` in the queue (simulator.comments.demo_verdict says which is which); a
    comment the crowd did not write is left for a person. Returns what was decided, to print.

    It reads the queue a reviewer reads (review_comments, every page) and decides through
    comments_review, so each decision is audited as the demo reviewer's."""
    chosen: dict[str, list[int]] = {APPROVE: [], REJECT: []}
    number, pages = 1, 1
    while number <= pages:
        page = review_comments(state=Comment.State.PENDING, page=number)
        pages = page.paginator.num_pages
        for comment in page.object_list:
            verdict = demo_verdict(comment.text)
            if verdict is not None and comment.created_at <= now - after:
                chosen[verdict].append(comment.pk)
        number += 1
    decided = []
    for action, comment_ids in chosen.items():
        if comment_ids:
            changed = comments_review(comment_ids=comment_ids, action=action, actor=reviewer, now=now)
            decided.append(f"{DEMO_REVIEWER}: {action} {changed} comment(s)")
    return decided
