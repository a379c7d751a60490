from __future__ import annotations

from django.contrib import admin

from outages.models import ProblemType, Service


class ProblemTypeInline(admin.TabularInline):
    model = ProblemType
    extra = 0


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "category", "timezone", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ProblemTypeInline]
