"""Read-only admin for the audit log and the outbox: they are written by services only."""

from __future__ import annotations

from django.contrib import admin

from outages.review.models import IncidentReview, Notification, ReviewAction, WebhookSubscription


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReviewAction)
class ReviewActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "incident", "kind", "actor_name", "status_before", "status_after", "reason"]
    list_filter = ["kind", "reason"]
    list_select_related = ["incident"]
    search_fields = ["actor_name", "note", "incident__service__slug"]
    date_hierarchy = "created_at"


@admin.register(IncidentReview)
class IncidentReviewAdmin(ReadOnlyAdmin):
    list_display = ["incident", "dismiss_reason", "confirmed_at", "merged_into", "updated_at"]
    list_filter = ["dismiss_reason"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["incident", "channel", "state", "attempts", "created_at", "sent_at"]
    list_filter = ["channel", "state"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["service", "url", "is_active", "created_at"]
    list_filter = ["is_active", "service"]
    readonly_fields = ["service", "url", "token", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # subscribing is the public form's job
