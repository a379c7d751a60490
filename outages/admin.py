from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.utils import timezone

from catalogue.models import ProblemType, Service, ServiceAlias
from outages.baselines import baselines_rebuild
from outages.models import Baseline, Incident, IncidentCity, ServiceStatus
from outages.official.models import OfficialSource


class ProblemTypeInline(admin.TabularInline):
    model = ProblemType
    extra = 0


class ServiceAliasInline(admin.TabularInline):
    model = ServiceAlias
    extra = 1
    fields = ["alias"]


@admin.action(description="Rebuild baselines of the selected services now")
def rebuild_baselines(modeladmin, request, queryset):
    service_ids = list(queryset.values_list("service_id" if queryset.model is Baseline else "pk", flat=True))
    stored = baselines_rebuild(service_ids=service_ids, now=timezone.now())
    modeladmin.message_user(request, f"{stored} baselines stored.", messages.SUCCESS)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "category", "timezone", "official_format", "is_active"]
    list_filter = ["category", "is_active", "official_format"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ProblemTypeInline, ServiceAliasInline]
    actions = [rebuild_baselines]
    # An address typed without a scheme is taken as https (Django 6's default, asked for now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(OfficialSource)
class OfficialSourceAdmin(admin.ModelAdmin):
    """How polling each official status page goes (outages.official); the address itself is
    edited on the service."""

    list_display = ["service", "current", "problem", "failures", "checked_at", "next_poll", "last_error"]
    list_filter = ["problem"]
    list_select_related = ["service", "current"]
    readonly_fields = [field.name for field in OfficialSource._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


# --- detection ------------------------------------------------------------------------------


@admin.register(Baseline)
class BaselineAdmin(admin.ModelAdmin):
    list_display = ["service", "city", "bucket_minutes", "alpha", "beta", "history_reports", "built_at"]
    list_filter = ["service"]
    list_select_related = ["service", "city"]
    search_fields = ["service__slug", "city__name_en"]
    readonly_fields = [
        "service",
        "city",
        "bucket_minutes",
        "timezone",
        "alpha",
        "beta",
        "history_reports",
        "built_at",
    ]
    exclude = ["expected"]
    actions = [rebuild_baselines]

    def has_add_permission(self, request) -> bool:
        return False  # built by baselines_rebuild only


_INCIDENT_CITY_COLUMNS = ("city", "count", "excess", "first_flagged_at")


class IncidentCityInline(admin.TabularInline):
    model = IncidentCity
    extra = 0
    fields = _INCIDENT_CITY_COLUMNS
    readonly_fields = _INCIDENT_CITY_COLUMNS
    can_delete = False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["service", "status", "started_at", "resolved_at", "peak_count", "max_score"]
    list_filter = ["status", "service"]
    list_select_related = ["service"]
    date_hierarchy = "started_at"
    # Status changes go through the review queue (/review/), which audits every one.
    readonly_fields = [
        "service",
        "status",
        "started_at",
        "last_spike_at",
        "last_elevated_at",
        "resolved_at",
        "peak_count",
        "peak_at",
        "max_score",
        "excess_reports",
        "problems",
        "created_at",
        "updated_at",
    ]
    inlines = [IncidentCityInline]


@admin.register(ServiceStatus)
class ServiceStatusAdmin(admin.ModelAdmin):
    list_display = ["service", "scope", "status", "reason", "score", "count", "baseline", "minute"]
    list_filter = ["status", "scope"]
    list_select_related = ["service"]
    readonly_fields = ["service", "scope", "status", "reason", "score", "count", "baseline", "minute"]


# The review and alerts packages register their own (mostly read-only) admins.
from outages.alerts import admin as alerts_admin  # noqa: E402,F401
from outages.review import admin as review_admin  # noqa: E402,F401
