"""Atom and RSS feeds of a service's public incidents (never dismissed or merged ones)."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from catalogue.models import Service
from outages.public import PublicIncident, public_incidents
from outages.status import incident_state_text


class ServiceIncidentsRss(Feed):
    def get_object(self, request, slug: str) -> Service:
        return get_object_or_404(Service.objects.active(), slug=slug)

    def title(self, service: Service) -> str:
        return f"{service.name} incidents · Downradar"

    def link(self, service: Service) -> str:
        return reverse("outages:service", kwargs={"slug": service.slug})

    def description(self, service: Service) -> str:
        return f"Outages of {service.name} detected from user reports."

    def items(self, service: Service) -> list[PublicIncident]:
        return public_incidents(service_id=service.pk, limit=30)

    def item_title(self, item: PublicIncident) -> str:
        state = incident_state_text(confirmed=item.confirmed, ongoing=item.resolved_at is None)
        when = f"{item.started_at:%Y-%m-%d %H:%M} UTC"
        ended = f" to {item.resolved_at:%H:%M} UTC" if item.resolved_at else ""
        return f"{state}: {item.service_name} from {when}{ended}"

    def item_description(self, item: PublicIncident) -> str:
        text = f"Peak: {item.peak_count} reports in 15 minutes."
        return f"{item.public_note}\n\n{text}" if item.public_note else text

    def item_link(self, item: PublicIncident) -> str:
        return reverse("outages:service", kwargs={"slug": item.service_slug}) + f"#incident-{item.pk}"

    def item_guid(self, item: PublicIncident) -> str:
        return f"downradar-incident-{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: PublicIncident):
        return item.started_at

    def item_updateddate(self, item: PublicIncident):
        return item.updated_at


class ServiceIncidentsAtom(ServiceIncidentsRss):
    feed_type = Atom1Feed

    def subtitle(self, service: Service) -> str:
        return self.description(service)
