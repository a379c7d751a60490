"""Review of incidents: decisions and the audit log (the outbox and subscriptions are in
outages.alerts.models).

Loaded by outages.models (the last line there imports this module), so these are models
of the `outages` app and live in its migrations.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from outages.alerts.models import new_token


class DismissReason(models.TextChoices):
    FALSE_ALARM = "false_alarm", _("False alarm")
    MEDIA = "media", _("Media-driven")
    ABUSE = "abuse", _("Abuse")
    # Set by a merge only: the incident continues in another one.
    DUPLICATE = "duplicate", _("Merged into another incident")


class IncidentReview(models.Model):
    """What reviewers decided about an incident beyond its status: one row, created on
    the first action."""

    incident = models.OneToOneField("outages.Incident", on_delete=models.CASCADE, related_name="review")
    dismiss_reason = models.CharField(max_length=11, choices=DismissReason.choices, blank=True)
    # Shown on the public service page and in the feed.
    public_note = models.TextField(blank=True)
    # A reviewer said "this is a real outage"; kept when detection later resolves it.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "outages.Incident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )
    updated_at = models.DateTimeField()

    class Meta:
        permissions = [("review_incidents", "Can work the incident review queue")]

    def __str__(self) -> str:
        return f"review of incident {self.incident_id}"


class ReviewAction(models.Model):
    """The audit log: one row per reviewer action, written by outages.review.services
    and never changed afterwards (the admin is read-only, the UI has no edit)."""

    class Kind(models.TextChoices):
        CONFIRM = "confirm", _("Confirm")
        DISMISS = "dismiss", _("Dismiss")
        RESOLVE = "resolve", _("Resolve")
        REOPEN = "reopen", _("Reopen")
        MERGE = "merge", _("Merge")
        ABSORB = "absorb", _("Absorb a merged incident")
        EXCLUDE_NETWORK = "exclude_network", _("Exclude a network")
        COMMENT_APPROVE = "comment_approve", _("Approve a comment")
        COMMENT_REJECT = "comment_reject", _("Reject a comment")
        COMMENT_HIDE = "comment_hide", _("Hide a comment")

    # What was acted on: an incident, or a comment (the comment_* kinds).
    # PROTECT: an incident with a review history cannot be deleted, and neither can its log.
    incident = models.ForeignKey(
        "outages.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="review_actions"
    )
    comment = models.ForeignKey(
        "reports.Comment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The username at the time, kept if the account is deleted.
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    kind = models.CharField(max_length=15, choices=Kind.choices)
    status_before = models.CharField(max_length=9)
    status_after = models.CharField(max_length=9)
    reason = models.CharField(max_length=11, blank=True)
    note = models.TextField(blank=True)
    public_note = models.TextField(blank=True)
    # Kind-specific facts: the other incident of a merge, the network hash and the number
    # of reports excluded (never the prefix itself: we do not store addresses).
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(incident__isnull=False) | Q(comment__isnull=False),
                name="outages_reviewaction_has_subject",
            )
        ]
        indexes = [
            # The incident page: its log, oldest first.
            models.Index(fields=["incident", "created_at"], name="outages_reviewaction_incident"),
        ]

    def __str__(self) -> str:
        subject = f"incident {self.incident_id}" if self.incident_id else f"comment {self.comment_id}"
        return f"{self.kind} on {subject} by {self.actor_name}"

    @property
    def reason_label(self) -> str:
        """The dismissal reason in the active language (the code when it is none we know)."""
        return str(DismissReason(self.reason).label) if self.reason in DismissReason.values else self.reason

    @property
    def status_before_label(self) -> str:
        return _status_label(self.status_before)

    @property
    def status_after_label(self) -> str:
        return _status_label(self.status_after)


def _status_label(code: str) -> str:
    """A review state in the active language (comments' states are shown as they are)."""
    from outages.models import Incident  # this module is loaded at the end of outages.models

    return str(Incident.Status(code).label) if code in Incident.Status.values else code


# The token of the alerts models lives with them; migration 0005 names it here.
_new_token = new_token
