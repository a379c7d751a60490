from __future__ import annotations

from django.contrib import admin

from geo.models import City


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = [
        "name_en",
        "name_it",
        "region",
        "country_code",
        "geoname_id",
        "population",
    ]
    list_filter = ["country_code"]
    search_fields = ["name_en", "name_it", "region"]
