"""Reviewers' actions on an incident: the state machine (confirm, dismiss, resolve, reopen)
and the merge, each written with its audit row in the same transaction as the change. The
other review actions build on the same audit: network exclusion (outages.review.exclusion)
and comment moderation (outages.review.moderation).

Every action on an incident first locks the detection watermark: a detection pass holds
that lock while it rewrites the incidents it tracks from what it read at its start, so an
action taken during a pass would be overwritten. Waiting for the pass (a few seconds at
most) keeps the reviewer's decision.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction

from outages.alerts.models import Notification
from outages.alerts.notifications import notifications_queue, reopenings_queue
from outages.models import Incident, IncidentReopening
from outages.review.merging import incident_fold
from outages.review.models import DismissReason, IncidentReview, ReviewAction
from outages.status import service_status_refresh
from outages.tasks import baselines_rebuild_queue
from outages.watermark import watermark_lock
from reports.minutes import floor_minute

Status = Incident.Status
Kind = ReviewAction.Kind
_MINUTE = dt.timedelta(minutes=1)

_STATE_ACTIONS = (Kind.CONFIRM, Kind.DISMISS, Kind.RESOLVE, Kind.REOPEN)


def action_allowed(incident: Incident, action: str) -> bool:
    """Whether a review action applies to the incident now (the rule is the model's)."""
    return incident.review_action_allowed(action)


def actions_allowed(incident: Incident) -> list[str]:
    return [action for action in _STATE_ACTIONS if action_allowed(incident, action)]


# What a reviewer may give as a dismissal reason (DUPLICATE is the merge's own).
DISMISS_REASONS = [DismissReason.FALSE_ALARM, DismissReason.MEDIA, DismissReason.ABUSE]


class ReviewError(Exception):
    """An action that cannot be applied as asked; the message says why, for the reviewer."""


def incident_act(
    *,
    incident_id: int,
    action: str,
    actor: User,
    now: dt.datetime,
    reason: str = "",
    note: str = "",
    public_note: str = "",
    merge_into_id: int | None = None,
) -> Incident:
    """Apply one reviewer action (confirm, dismiss, resolve, reopen, merge) and log it."""
    if action == Kind.MERGE:
        if merge_into_id is None:
            raise ReviewError("Choose the incident to merge into.")
        return _incident_merge(
            incident_id=incident_id,
            target_id=merge_into_id,
            actor=actor,
            now=now,
            note=note,
            public_note=public_note,
        )
    if action not in _STATE_ACTIONS:
        raise ReviewError(f"Unknown action {action!r}.")
    if action == Kind.DISMISS and reason not in DISMISS_REASONS:
        raise ReviewError("Say why the incident is dismissed: false alarm, media-driven or abuse.")
    with transaction.atomic():
        watermark_lock()
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        review = review_for(incident, now)
        if review.merged_into_id is not None:
            raise ReviewError(f"This incident was merged into #{review.merged_into_id}; act on that one.")
        before, was_ongoing = incident.status, incident.ongoing
        if not action_allowed(incident, action):
            state = "ongoing" if incident.ongoing else "resolved"
            raise ReviewError(f"Cannot {action} an incident that is {before} and {state}.")
        fields = ["status", "updated_at"]
        reopening: IncidentReopening | None = None
        if action == Kind.CONFIRM:
            incident.status = Status.CONFIRMED
            review.confirmed_at = now
            review.dismiss_reason = ""
        elif action == Kind.DISMISS:
            incident.status = Status.DISMISSED
            review.confirmed_at = None
            review.dismiss_reason = reason
        elif action == Kind.RESOLVE:
            incident.resolve(floor_minute(now))
            fields += ["resolved_at", "reports_since_resolved", "usual_since_resolved"]
        else:  # reopen: back in the queue for a decision, ongoing again
            incident.status = Status.SUSPECTED
            review.confirmed_at = None
            review.dismiss_reason = ""
            if not incident.ongoing:
                reopening = _reopen_timeline(incident, now)
                fields += ["resolved_at", "reopened_at", "last_elevated_at"]
        incident.save(update_fields=fields)
        review_save(review, now=now, public_note=public_note)
        lifecycle = {"ongoing_before": was_ongoing, "ongoing_after": incident.ongoing}
        action_log(
            incident,
            actor,
            now,
            action,
            before,
            reason=reason,
            note=note,
            public_note=public_note,
            details=lifecycle if was_ongoing != incident.ongoing else None,
        )
        service_status_refresh(incident.service_id, now=now)
        if (before == Status.CONFIRMED) != (incident.status == Status.CONFIRMED):
            baselines_rebuild_queue(incident.service_id)
        if action == Kind.CONFIRM:
            notifications_queue(incident_ids=[incident.pk], event=Notification.Event.CONFIRMED)
        elif action == Kind.RESOLVE:
            notifications_queue(incident_ids=[incident.pk], event=Notification.Event.RESOLVED)
        elif reopening is not None:
            reopenings_queue(reopening_ids=[reopening.pk])
    return incident


def _reopen_timeline(incident: Incident, now: dt.datetime) -> IncidentReopening:
    """Open a resolved incident again, recorded as a re-opening (its subscribers were told it
    had resolved); detection tracks only a service's latest incident, so an older one would
    stay open for ever."""
    newer = (
        Incident.objects.filter(service_id=incident.service_id, started_at__gt=incident.started_at)
        .values_list("pk", flat=True)
        .first()
    )
    if newer is not None:
        raise ReviewError(
            f"A newer incident (#{newer}) exists for this service: merge this one into it instead."
        )
    # Detection resolves it again after a quiet spell.
    resolved_at, at = incident.resolved_at, floor_minute(now)
    assert resolved_at is not None
    incident.reopen(at)
    reopening, _ = IncidentReopening.objects.get_or_create(
        incident=incident, at=at, defaults={"resolved_at": resolved_at}
    )
    return reopening


def _incident_merge(
    *,
    incident_id: int,
    target_id: int,
    actor: User,
    now: dt.datetime,
    note: str,
    public_note: str,
) -> Incident:
    """Fold an incident into a later one of the same service: the later one keeps going,
    starting when the earlier one started, with both incidents' reports; the earlier one
    is dismissed as a duplicate and hidden from public pages.

    Only earlier-into-later: detection keeps updating a service's latest incident, so the
    survivor must be that one.
    """
    if incident_id == target_id:
        raise ReviewError("An incident cannot be merged into itself.")
    with transaction.atomic():
        watermark_lock()
        locked = {
            incident.pk: incident
            for incident in Incident.objects.select_for_update()
            .filter(pk__in=[incident_id, target_id])
            .order_by("pk")
        }
        if target_id not in locked:
            raise ReviewError(f"There is no incident #{target_id}.")
        source, target = locked[incident_id], locked[target_id]
        source_review, target_review = review_for(source, now), review_for(target, now)
        if source.service_id != target.service_id:
            raise ReviewError("Only incidents of the same service can be merged.")
        if source_review.merged_into_id is not None:
            raise ReviewError(f"This incident was already merged into #{source_review.merged_into_id}.")
        if target_review.merged_into_id is not None:
            raise ReviewError(f"#{target.pk} was merged into #{target_review.merged_into_id}; use that one.")
        if target.started_at <= source.started_at:
            raise ReviewError(
                f"Merge the earlier incident into the later one: open #{target.pk} and merge it here."
            )

        target_before, source_before = target.status, source.status
        incident_fold(source=source, target=target)

        source.status = Status.DISMISSED
        fields = ["status", "updated_at"]
        if source.resolved_at is None:
            source.resolved_at = source.last_elevated_at + _MINUTE
            fields.append("resolved_at")
        source.save(update_fields=fields)
        source_review.merged_into = target
        source_review.dismiss_reason = DismissReason.DUPLICATE
        source_review.confirmed_at = None
        review_save(source_review, now=now)
        review_save(target_review, now=now, public_note=public_note)
        action_log(
            source, actor, now, Kind.MERGE, source_before, note=note, details={"merged_into": target.pk}
        )
        action_log(
            target,
            actor,
            now,
            Kind.ABSORB,
            target_before,
            note=note,
            public_note=public_note,
            details={"merged_from": source.pk},
        )
        service_status_refresh(target.service_id, now=now)
        if Status.CONFIRMED in (source_before, target.status):  # a confirmed span moved
            baselines_rebuild_queue(target.service_id)
    return target


# --- the audit: every review action on an incident writes these -----------------------------


def review_for(incident: Incident, now: dt.datetime) -> IncidentReview:
    """The incident's review row, made on its first action."""
    review, _ = IncidentReview.objects.get_or_create(incident=incident, defaults={"updated_at": now})
    return review


def review_save(review: IncidentReview, *, now: dt.datetime, public_note: str = "") -> None:
    if public_note.strip():
        review.public_note = public_note.strip()
    review.updated_at = now
    review.save()


def action_log(
    incident: Incident,
    actor: User,
    now: dt.datetime,
    kind: str,
    before: str,
    *,
    reason: str = "",
    note: str = "",
    public_note: str = "",
    details: dict | None = None,
) -> ReviewAction:
    entry = audit_entry(
        actor=actor,
        now=now,
        kind=kind,
        before=before,
        after=incident.status,
        incident=incident,
        reason=reason,
        note=note.strip(),
        public_note=public_note.strip(),
        details=details or {},
    )
    entry.save(force_insert=True)
    return entry


def audit_entry(
    *, actor: User, now: dt.datetime, kind: str, before: str, after: str, **subject: object
) -> ReviewAction:
    """An unsaved audit row: who did what, when, from which state to which; `subject` names
    the incident or the comment, and any reason, notes and details."""
    return ReviewAction(
        actor=actor,
        actor_name=actor.get_username(),
        created_at=now,
        kind=kind,
        status_before=before,
        status_after=after,
        **subject,
    )
