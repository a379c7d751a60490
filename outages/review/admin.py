"""Read-only admin for the review state, the audit log and the comments: they are written by
services only."""

from __future__ import annotations

from django.contrib import admin

from outages.admin_base import ReadOnlyAdmin
from outages.review.models import IncidentReview, ReviewAction
from reports.models import Comment


@admin.register(ReviewAction)
class ReviewActionAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "incident",
        "comment",
        "kind",
        "actor_name",
        "status_before",
        "status_after",
        "reason",
    ]
    list_filter = ["kind", "reason"]
    list_select_related = ["incident", "comment"]
    search_fields = ["actor_name", "note", "incident__service__slug"]
    date_hierarchy = "created_at"


@admin.register(IncidentReview)
class IncidentReviewAdmin(ReadOnlyAdmin):
    list_display = ["incident", "dismiss_reason", "confirmed_at", "merged_into", "updated_at"]
    list_filter = ["dismiss_reason"]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    """Decisions are made in /review/comments/, where they are audited."""

    list_display = ["created_at", "service", "problem", "state", "text", "reviewed_by", "reviewed_at"]
    list_filter = ["state", "service"]
    list_select_related = ["service", "reviewed_by"]
    search_fields = ["text"]
    date_hierarchy = "created_at"
