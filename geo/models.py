from __future__ import annotations

from django.db import models
from django.utils.translation import get_language


def native_city_name(country_code: str, name_en: str, name_it: str) -> str:
    return name_it if country_code == "IT" and name_it else name_en


class City(models.Model):
    """A place reports come from. Created the first time a report is placed there.

    Identity is the GeoNames id when the gazetteer knows the place (every city of more
    than ~15,000 people); smaller places are known by country, region and name only.
    """

    geoname_id = models.BigIntegerField(unique=True, null=True, blank=True)
    name_en = models.CharField(max_length=200)
    name_it = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=200, blank=True)
    country_code = models.CharField(max_length=2)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    population = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "cities"
        constraints = [
            models.UniqueConstraint(
                fields=["country_code", "region", "name_en"],
                name="geo_city_unique_place",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name_en} ({self.country_code})"

    @property
    def native_name(self) -> str:
        """The name people there use, where we know it: the APIs' `city_local`.

        Italian is the only local language with names here (data/names_it.csv), so
        elsewhere this is the English name."""
        return native_city_name(self.country_code, self.name_en, self.name_it)

    def local_name(self, language: str | None = None) -> str:
        """The name in `language` (default: the active one), falling back to English."""
        language = (language or get_language() or "en")[:2]
        if language == "it" and self.name_it:
            return self.name_it
        return self.name_en
