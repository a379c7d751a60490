"""The catalogue of services people report on: the bottom layer, which `reports` and
`outages` both use. Its tables keep the names they had in the `outages` app."""

from __future__ import annotations

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

# The problem types every service offers unless an admin changes its list.
DEFAULT_PROBLEM_TYPES: dict[str, str] = {
    "app": _("App"),
    "login": _("Login"),
    "website": _("Website"),
    "connection": _("Server connection"),
    "other": _("Something else"),
}
DEFAULT_PROBLEM = "other"


class ServiceQuerySet(models.QuerySet):
    def active(self) -> ServiceQuerySet:
        return self.filter(is_active=True)


class Service(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=50, blank=True)
    home_url = models.URLField(blank=True)
    status_page_url = models.URLField("official status page", blank=True)
    # Baselines follow the daily rhythm of the people who use the service.
    timezone = models.CharField(max_length=64, default="Europe/Rome")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        db_table = "outages_service"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProblemType(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="problem_types")
    code = models.SlugField(max_length=30)
    label = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "outages_problemtype"
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="outages_problemtype_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.service.slug}: {self.code}"

    @property
    def display_label(self) -> str:
        """The translated label for the default types, the admin's text for others."""
        default = DEFAULT_PROBLEM_TYPES.get(self.code)
        if default is not None:
            with translation.override("en"):
                unchanged = self.label == str(default)
            if unchanged:
                return str(default)
        return self.label
