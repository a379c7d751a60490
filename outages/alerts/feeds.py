"""Atom and RSS feeds of a service's public incidents (never dismissed or merged ones)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.formats import number_format

from catalogue.models import Service
from outages.display_time import stamp_text, time_text, zone_named
from outages.forms import IncidentFilterForm
from outages.public import PublicIncident, as_public, public_incident_query, public_incidents
from outages.public_cache import public_cache
from outages.status import incident_state_text

FEED_CACHE_SECONDS = 60


class PublicFeed(Feed):
    """A feed shared caches may keep for a minute, one copy per language (its states are
    translated)."""

    def __call__(self, request, *args, **kwargs):
        return public_cache(super().__call__(request, *args, **kwargs), max_age=FEED_CACHE_SECONDS)


class ServiceIncidentsRss(PublicFeed):
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
        zone = zone_named(item.service_timezone)  # as the service's pages show its times
        ended = f" to {time_text(item.resolved_at, zone)}" if item.resolved_at else ""
        return f"{state}: {item.service_name} from {stamp_text(item.started_at, zone)}{ended}"

    def item_description(self, item: PublicIncident) -> str:
        text = f"Peak: {number_format(item.peak_count, force_grouping=True)} reports in 15 minutes."
        return f"{item.public_note}\n\n{text}" if item.public_note else text

    def item_link(self, item: PublicIncident) -> str:
        return reverse("outages:incident", kwargs={"pk": item.pk})

    def item_guid(self, item: PublicIncident) -> str:
        """A tag: URI (RFC 4151), an IRI that never changes: the site's host and the day the
        incident began, in UTC."""
        host = urlsplit(settings.SITE_URL).hostname or "localhost"
        return f"tag:{host},{item.started_at.astimezone(dt.UTC):%Y-%m-%d}:incident-{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: PublicIncident):
        return item.started_at

    def item_updateddate(self, item: PublicIncident):
        return item.updated_at


class ServiceIncidentsAtom(ServiceIncidentsRss):
    feed_type = Atom1Feed

    def subtitle(self, service: Service) -> str:
        return self.description(service)


class AllIncidentsAtom(PublicFeed):
    """Every public incident, newest first, with the list page's filters (/incidents.atom)."""

    feed_type = Atom1Feed
    title = "All outages · Downradar"
    subtitle = "Outages detected from user reports, across every service."
    limit = 50

    def get_object(self, request):
        form = IncidentFilterForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            raise Http404("Unknown filter: " + "; ".join(f"{k}: {v[0]}" for k, v in form.errors.items()))
        return form.query() if form.is_bound else {}

    def link(self, query) -> str:
        return reverse("outages:incidents")

    def items(self, query) -> list[PublicIncident]:
        return [as_public(incident) for incident in public_incident_query(**query)[: self.limit]]

    item_title = ServiceIncidentsRss.item_title
    item_description = ServiceIncidentsRss.item_description
    item_link = ServiceIncidentsRss.item_link
    item_guid = ServiceIncidentsRss.item_guid
    item_guid_is_permalink = False
    item_pubdate = ServiceIncidentsRss.item_pubdate
    item_updateddate = ServiceIncidentsRss.item_updateddate
