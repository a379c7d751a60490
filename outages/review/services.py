"""Reviewers' actions on incidents: confirm, dismiss, resolve, reopen, merge, exclude a
network; and on comments: approve, reject, hide. Each one writes its audit row in the same
transaction as the change.

Every action first locks the detection watermark: a detection pass holds that lock while
it rewrites the incidents it tracks from what it read at its start, so an action taken
during a pass would be overwritten. Waiting for the pass (a few seconds at most) keeps
the reviewer's decision.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from outages import detection
from outages.alerts.models import Notification
from outages.alerts.notifications import notifications_queue
from outages.models import RESOLVE_QUIET_MINUTES, Incident, IncidentCity
from outages.review.models import DismissReason, IncidentReview, ReviewAction
from outages.status import service_status_refresh
from outages.watermark import watermark_lock
from reports.aggregation import minute_counts_subtract
from reports.hashing import network_hash_of_prefix
from reports.minutes import floor_minute
from reports.models import Comment, Report, ServiceMinute

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


@dataclass(frozen=True, slots=True)
class Exclusion:
    network_hash: str
    reports: int  # reports newly marked abusive
    uncounted: int  # of which had been in the minute counts and were taken out


def incident_act(
    *,
    incident_id: int,
    action: str,
    actor: AbstractBaseUser,
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
        review = _review_for(incident, now)
        if review.merged_into_id is not None:
            raise ReviewError(f"This incident was merged into #{review.merged_into_id}; act on that one.")
        before, was_ongoing = incident.status, incident.ongoing
        if not action_allowed(incident, action):
            state = "ongoing" if incident.ongoing else "resolved"
            raise ReviewError(f"Cannot {action} an incident that is {before} and {state}.")
        fields = ["status", "updated_at"]
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
            fields.append("resolved_at")
        else:  # reopen: back in the queue for a decision, ongoing again
            incident.status = Status.SUSPECTED
            review.confirmed_at = None
            review.dismiss_reason = ""
            if not incident.ongoing:
                _reopen_timeline(incident, now)
                fields += ["resolved_at", "last_elevated_at"]
        incident.save(update_fields=fields)
        _review_save(review, now=now, public_note=public_note)
        lifecycle = {"ongoing_before": was_ongoing, "ongoing_after": incident.ongoing}
        _log(
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
        if action == Kind.CONFIRM:
            notifications_queue(incident_ids=[incident.pk], event=Notification.Event.CONFIRMED)
        elif action == Kind.RESOLVE:
            notifications_queue(incident_ids=[incident.pk], event=Notification.Event.RESOLVED)
    return incident


def _reopen_timeline(incident: Incident, now: dt.datetime) -> None:
    """Open a resolved incident again; detection tracks only a service's latest incident,
    so an older one would stay open for ever."""
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
    incident.reopen(floor_minute(now))


def _incident_merge(
    *,
    incident_id: int,
    target_id: int,
    actor: AbstractBaseUser,
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
        source_review, target_review = _review_for(source, now), _review_for(target, now)
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
        target.started_at = source.started_at
        if source.peak_count > target.peak_count:
            target.peak_count, target.peak_at = source.peak_count, source.peak_at
        target.max_score = max(target.max_score, source.max_score)
        target.excess_reports += source.excess_reports
        target.set_problem_counts(target.problem_counts() + source.problem_counts())
        target.save(
            update_fields=[
                "started_at",
                "peak_count",
                "peak_at",
                "max_score",
                "excess_reports",
                "problems",
                "updated_at",
            ]
        )
        _cities_merge(source.pk, target.pk)

        source.status = Status.DISMISSED
        fields = ["status", "updated_at"]
        if source.resolved_at is None:
            source.resolved_at = source.last_elevated_at + _MINUTE
            fields.append("resolved_at")
        source.save(update_fields=fields)
        source_review.merged_into = target
        source_review.dismiss_reason = DismissReason.DUPLICATE
        source_review.confirmed_at = None
        _review_save(source_review, now=now)
        _review_save(target_review, now=now, public_note=public_note)
        _log(source, actor, now, Kind.MERGE, source_before, note=note, details={"merged_into": target.pk})
        _log(
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
    return target


def _cities_merge(source_id: int, target_id: int) -> None:
    existing = {city.city_id: city for city in IncidentCity.objects.filter(incident_id=target_id)}
    added = []
    for city in IncidentCity.objects.filter(incident_id=source_id):
        same = existing.get(city.city_id)
        if same is None:
            added.append(
                IncidentCity(
                    incident_id=target_id,
                    city_id=city.city_id,
                    count=city.count,
                    excess=city.excess,
                    first_flagged_at=city.first_flagged_at,
                )
            )
            continue
        same.count += city.count
        same.excess += city.excess
        same.first_flagged_at = min(same.first_flagged_at, city.first_flagged_at)
        same.save(update_fields=["count", "excess", "first_flagged_at"])
    IncidentCity.objects.bulk_create(added)


def network_exclude(
    *,
    incident_id: int,
    prefix: str,
    actor: AbstractBaseUser,
    now: dt.datetime,
    note: str = "",
) -> Exclusion:
    """Mark the reports of one network in the incident's window as abusive, at any level the
    signals show (network_filter): a /24, /64 or /48, a hash the signals show (of a /24 or
    /64, a /48 or an announced prefix), or "operator:<name>" for this incident only.

    Reports already in the minute counts are subtracted from them in the database, so
    detection and the next baseline rebuild never see them; reports still waiting to be
    counted are skipped by reports_aggregate. The incident's excess, peak, problems and
    cities are corrected by what was taken out.
    """
    chosen, network_hash = network_filter(prefix)
    with transaction.atomic():
        mark = watermark_lock()
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        review = _review_for(incident, now)
        if review.merged_into_id is not None:
            raise ReviewError(f"This incident was merged into #{review.merged_into_id}; act on that one.")
        until = incident.resolved_at or now
        # Locks the rows: reports_aggregate (SKIP LOCKED) leaves them to us, and a batch it
        # is counting right now is waited for, so `is_aggregated` below is final.
        rows = list(
            Report.objects.select_for_update()
            .filter(
                service_id=incident.service_id,
                created_at__gte=incident.started_at,
                created_at__lt=until,
                abusive=False,
            )
            .filter(chosen)
            .values_list("id", "city_id", "country_code", "problem", "created_at", "counted", "is_aggregated")
        )
        Report.objects.filter(id__in=[row[0] for row in rows]).update(abusive=True)
        in_counts = [row for row in rows if row[5] and row[6]]
        minute_counts_subtract(
            rows=[
                (incident.service_id, city, country, problem, at)
                for _, city, country, problem, at, _, _ in in_counts
            ]
        )
        # The pass has folded counts into the incident up to its watermark only.
        processed = mark.processed_through if mark is not None else None
        accounted = [row for row in in_counts if processed is not None and floor_minute(row[4]) <= processed]
        _incident_subtract(incident, accounted, processed)
        _review_save(review, now=now)
        _log(
            incident,
            actor,
            now,
            Kind.EXCLUDE_NETWORK,
            incident.status,
            note=note,
            details={"network_hash": network_hash, "reports": len(rows), "uncounted": len(in_counts)},
        )
        service_status_refresh(incident.service_id, now=now)
    return Exclusion(network_hash=network_hash, reports=len(rows), uncounted=len(in_counts))


_HASH = re.compile(r"[0-9a-f]{8,32}")


def network_filter(text: str) -> tuple[Q, str]:
    """The reports a reviewer means by `text`, and what the audit log keeps of it: a /24 or
    /64 (as network_hash), an IPv6 /48 (network48_hash), a hash or its first 8+ characters as
    the signals show it (any level), or "operator:<name>" (the operator as the signals name it)."""
    value = text.strip()
    if value.lower().startswith("operator:"):
        name = value.split(":", 1)[1].strip()
        if not name:
            raise ReviewError(
                "Name the operator as the signals show it, e.g. operator:Vodafone Italia S.p.A."
            )
        return Q(asn_name=name), f"operator:{name}"
    if _HASH.fullmatch(value.lower()):
        digest = value.lower()
        return (
            Q(network_hash__startswith=digest)
            | Q(network48_hash__startswith=digest)
            | Q(prefix_hash__startswith=digest)
        ), digest
    if ":" in value and value.endswith("/48"):
        try:
            site = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ReviewError(f"{text!r} is not an IPv6 /48 like 2001:db8:1::/48.") from None
        digest = network_hash_of_prefix(str(site))
        return Q(network48_hash=digest), digest
    digest = network_hash_of_prefix(network_prefix_parse(value))
    return Q(network_hash=digest), digest


def network_prefix_parse(prefix: str) -> str:
    """The canonical /24 (IPv4) or /64 (IPv6) a reviewer means, as the hashes were made."""
    text = prefix.strip()
    try:
        address = ipaddress.ip_interface(
            text if "/" in text else f"{text}/{'24' if ':' not in text else '64'}"
        )
    except ValueError:
        raise ReviewError(f"{prefix!r} is not a network like 93.56.1.0/24 or 2001:db8:1:2::/64.") from None
    length = 24 if address.version == 4 else 64
    if address.network.prefixlen != length:
        raise ReviewError(f"Give a /{length} network: reports are grouped by /24 (IPv4) and /64 (IPv6).")
    return str(address.network)


def _incident_subtract(incident: Incident, rows: list[tuple], processed: dt.datetime | None) -> None:
    if not rows:
        return
    incident.excess_reports = max(0.0, incident.excess_reports - len(rows))
    problems = incident.problem_counts()
    problems.subtract(Counter(row[3] for row in rows))
    incident.set_problem_counts(problems)
    incident.peak_count, incident.peak_at = _peak(incident, processed)
    incident.save(update_fields=["excess_reports", "problems", "peak_count", "peak_at", "updated_at"])
    # A city counts its reports since the incident began, so every excluded one comes off.
    for city in IncidentCity.objects.filter(incident=incident):
        removed = sum(1 for row in rows if row[1] == city.city_id)
        if removed:
            city.count = max(city.count - removed, 0)
            city.excess = max(city.excess - removed, 0.0)
            city.save(update_fields=["count", "excess"])


def _peak(incident: Incident, processed: dt.datetime | None) -> tuple[int, dt.datetime]:
    """The busiest aligned 15-minute bucket of the incident, as detection measures it
    (detection.aligned_running_sum): a bucket's reports up to the last minute the incident
    has been followed, dated no earlier than the incident's start."""
    first = floor_minute(incident.started_at - dt.timedelta(minutes=incident.started_at.minute % 15))
    if incident.resolved_at is not None:
        last = incident.last_elevated_at + (RESOLVE_QUIET_MINUTES - 1) * _MINUTE
        if processed is not None:
            last = min(last, processed)
    else:
        last = processed or incident.last_elevated_at
    first_minute = int(first.timestamp()) // 60
    n = int(last.timestamp()) // 60 - first_minute + 1
    if n <= 0:
        return 0, incident.peak_at
    counts = np.zeros(n)
    for minute, count in ServiceMinute.objects.filter(
        service_id=incident.service_id, minute__gte=first, minute__lte=last
    ).values_list("minute", "count"):
        counts[int(minute.timestamp()) // 60 - first_minute] += count
    running, bucket_first = detection.aligned_running_sum(counts, first_minute)
    # Minutes of the incident only; the bucket holding its start counts from the clock.
    inside = int(incident.started_at.timestamp()) // 60 - first_minute
    best = inside + int(np.argmax(running[inside:]))
    start = dt.datetime.fromtimestamp((first_minute + int(bucket_first[best])) * 60, tz=dt.UTC)
    return int(running[best]), max(start, incident.started_at)


def _review_for(incident: Incident, now: dt.datetime) -> IncidentReview:
    review, _ = IncidentReview.objects.get_or_create(incident=incident, defaults={"updated_at": now})
    return review


def _review_save(review: IncidentReview, *, now: dt.datetime, public_note: str = "") -> None:
    if public_note.strip():
        review.public_note = public_note.strip()
    review.updated_at = now
    review.save()


def _log(
    incident: Incident,
    actor: AbstractBaseUser,
    now: dt.datetime,
    kind: str,
    before: str,
    *,
    reason: str = "",
    note: str = "",
    public_note: str = "",
    details: dict | None = None,
) -> ReviewAction:
    return ReviewAction.objects.create(
        incident=incident,
        actor=actor,
        actor_name=actor.get_username(),
        created_at=now,
        kind=kind,
        status_before=before,
        status_after=incident.status,
        reason=reason,
        note=note.strip(),
        public_note=public_note.strip(),
        details=details or {},
    )


# The comment decisions: the state each applies to and the state it leaves.
COMMENT_DECISIONS = {
    Kind.COMMENT_APPROVE: (Comment.State.PENDING, Comment.State.APPROVED),
    Kind.COMMENT_REJECT: (Comment.State.PENDING, Comment.State.REJECTED),
    Kind.COMMENT_HIDE: (Comment.State.APPROVED, Comment.State.HIDDEN),
}


def comments_review(
    *, comment_ids: Iterable[int], action: str, actor: AbstractBaseUser, now: dt.datetime
) -> int:
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
            ReviewAction(
                comment_id=comment_id,
                actor=actor,
                actor_name=actor.get_username(),
                created_at=now,
                kind=action,
                status_before=before,
                status_after=after,
            )
            for comment_id in changed
        )
    return len(changed)
