"""Admin for the outbox (read-only: written by services only) and the subscriptions."""

from __future__ import annotations

from django.contrib import admin

from outages.admin_base import ReadOnlyAdmin
from outages.alerts.models import Notification, WebhookSubscription


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["incident", "event", "channel", "state", "attempts", "created_at", "sent_at"]
    list_filter = ["event", "channel", "state"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["service", "url", "is_active", "confirmed_at", "created_at"]
    list_filter = ["is_active", "service"]
    readonly_fields = ["service", "url", "token", "client_key", "confirmed_at", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # subscribing is the public form's job
