"""sitemap.xml (django.contrib.sitemaps): the pages a crawler should know, each service, each
category and each public incident."""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from catalogue.models import Service
from catalogue.selectors import category_choices
from outages.models import Incident


class OverviewSitemap(Sitemap):
    changefreq = "always"
    priority = 1.0

    def items(self) -> list[str]:
        return ["outages:home", "outages:map", "outages:incidents"]

    def location(self, item: str) -> str:
        return reverse(item)


class ServiceSitemap(Sitemap):
    changefreq = "always"
    priority = 0.8

    def items(self):
        return Service.objects.active().only("slug").order_by("slug")

    def location(self, item: Service) -> str:
        return reverse("outages:service", kwargs={"slug": item.slug})


class CategorySitemap(Sitemap):
    changefreq = "hourly"
    priority = 0.6

    def items(self) -> list[str]:
        return [slug for slug, _label in category_choices()]

    def location(self, item: str) -> str:
        return reverse("outages:category", kwargs={"category": item})


class IncidentSitemap(Sitemap):
    """Public incidents only (never dismissed or merged-away ones), the one visibility rule."""

    changefreq = "hourly"
    priority = 0.5

    def items(self):
        return Incident.objects.public().only("pk", "updated_at").order_by("-started_at", "-pk")

    def location(self, item: Incident) -> str:
        return reverse("outages:incident", kwargs={"pk": item.pk})

    def lastmod(self, item: Incident):
        return item.updated_at


SITEMAPS = {
    "pages": OverviewSitemap,
    "services": ServiceSitemap,
    "categories": CategorySitemap,
    "incidents": IncidentSitemap,
}
