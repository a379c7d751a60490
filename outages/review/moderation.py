"""Comment moderation: a reviewer approves or rejects pending comments, or hides approved
ones, each decision logged as a ReviewAction. Nothing is shown before a reviewer approves
it (reports.comments)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import transaction

from outages.review.models import ReviewAction
from outages.review.services import ReviewError, audit_entry
from reports.models import Comment

Kind = ReviewAction.Kind

# The comment decisions: the state each applies to and the state it leaves.
COMMENT_DECISIONS: dict[str, tuple[str, str]] = {
    Kind.COMMENT_APPROVE: (Comment.State.PENDING, Comment.State.APPROVED),
    Kind.COMMENT_REJECT: (Comment.State.PENDING, Comment.State.REJECTED),
    Kind.COMMENT_HIDE: (Comment.State.APPROVED, Comment.State.HIDDEN),
}


def comments_review(*, comment_ids: Iterable[int], action: str, actor: User, now: dt.datetime) -> int:
    """Approve or reject pending comments, or hide approved ones, logging one ReviewAction
    each; returns how many changed. A comment no longer in the state the action applies to
    (another reviewer was quicker) is left as it is.

    No watermark lock: comments never touch counts or incidents."""
    decision = COMMENT_DECISIONS.get(action)
    if decision is None:
        raise ReviewError(f"Unknown comment action {action!r}.")
    before, after = decision
    with transaction.atomic():
        changed = list(
            Comment.objects.select_for_update()
            .filter(pk__in=list(comment_ids), state=before)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Comment.objects.filter(pk__in=changed).update(state=after, reviewed_at=now, reviewed_by=actor)
        ReviewAction.objects.bulk_create(
            audit_entry(actor=actor, now=now, kind=action, before=before, after=after, comment_id=comment_id)
            for comment_id in changed
        )
    return len(changed)
