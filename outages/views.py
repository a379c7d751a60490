"""The public pages. Each page renders its numbers once on the server (it works without
JavaScript) and names a JSON URL in a data- attribute that its script fetches every
minute to refresh them."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from dataclasses import asdict

from csp.decorators import csp_replace
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from catalogue.models import ProblemType, Service
from geo.countries import (
    WORLDWIDE,
    UnknownCountry,
    api_country,
    country_name,
    invalid_country_response,
    page_country,
    requested_country,
)
from outages.badges import badge_layout
from outages.display_time import datetime_text, page_time
from outages.embeds import WIDGET_HEIGHT, WIDGET_WIDTH, embed_snippets
from outages.forms import IncidentFilterForm
from outages.map_selectors import WINDOWS
from outages.models import Incident, ServiceStatus
from outages.official.selectors import with_official_first
from outages.page_selectors import (
    incident_timeseries,
    service_numbers,
    services_overview,
    sparkline_start,
)
from outages.peak import busiest_bucket
from outages.presenters import (
    incident_updates,
    isp_text,
    official_lead_text,
    official_payload,
    peak_headline,
    problem_rows,
    shared_provider_text,
    status_badge,
    status_of,
    status_payload,
)
from outages.public import (
    PublicIncident,
    as_public_in,
    incident_peaks_in,
    incident_problems_in,
    public_incident_query,
    public_incidents,
    services_spiking_with,
)
from outages.public_cache import public_cache
from outages.selectors import services_with_status
from outages.sparkline import HOME_HEIGHT, HOME_WIDTH, sparkline_points
from outages.status import incident_state_text
from reports.api_time import json_datetime
from reports.counts import minute_end
from reports.devices import device_cookie_set
from reports.forms import ReportForm
from reports.selectors import approved_comments

REFRESH_SECONDS = 60

RECENT_INCIDENTS = 5


def _public_status_text(incident: PublicIncident) -> str:
    return incident_state_text(confirmed=incident.confirmed, ongoing=incident.resolved_at is None)


WINDOW_LABELS = {60: _("1 hour"), 360: _("6 hours"), 1440: _("24 hours")}


def _shown_country(
    request: HttpRequest, resolve: Callable[[HttpRequest], str] = page_country
) -> tuple[str, str]:
    """The country a page is shown for, and what to say when its ?country= is not one (the
    page is then shown worldwide, answered 400). `resolve` reads it: page_country (the
    parameter, the cookie or the lookup), or api_country for a page shown worldwide unless
    its link names a country (an incident's page opened from a country's page)."""
    try:
        return resolve(request), ""
    except UnknownCountry as error:
        return WORLDWIDE, str(error)


def _country_query(request: HttpRequest, country: str) -> str:
    """The query string links from this page carry so the next page shows the same
    country: the page's own ?country= (a shared link), else nothing (the cookie or the
    lookup decide there as here)."""
    try:
        named = requested_country(request)
    except UnknownCountry:
        return ""
    if named is None:
        return ""
    return f"?country={country or 'all'}"


def _with_country(url: str, country: str) -> str:
    # The JSON and the embed answer for ?country= only (they are cached and shared): a link
    # to them, or from the embed to its page, names the country.
    return f"{url}?country={country}" if country else url


def _for_api_country(view):
    """A view answering for ?country= only (geo.countries.api_country), as the read APIs do:
    it gets the country as `country`, and a bad code is their 400 invalid_country."""

    @functools.wraps(view)
    def answering(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            country = api_country(request)
        except UnknownCountry as error:
            return invalid_country_response(error)
        return view(request, *args, country=country, **kwargs)

    return answering


# Rendering hundreds of service rows costs more than reading them; the rendered rows are kept
# under a digest of everything they show, so a cached copy is always the current numbers.
SERVICE_ROWS_CACHE_SECONDS = 300


def _service_rows_key(summaries, *, country_query: str, since: dt.datetime, zone: str) -> str:
    shown = [
        (row.service.slug, row.service.name, row.service.category, row.status, tuple(row.sparkline))
        for row in summaries
    ]
    digest = hashlib.blake2b(
        repr((shown, country_query, since, zone, get_language())).encode(), digest_size=16
    )
    return digest.hexdigest()


def _overview_page(
    request: HttpRequest, *, query: str = "", category: str = "", heading: str = "", description: str = ""
) -> HttpResponse:
    now = timezone.now()
    country, country_error = _shown_country(request)
    summaries = services_overview(now=now, query=query, category=category, country=country)
    country_query = _country_query(request, country)
    shown_time = page_time(now=now)
    since = sparkline_start(now)
    return render(
        request,
        "outages/home.html",
        {
            "query": query,
            "heading": heading,
            "page_title": heading or _("Is it down? Live outages and problems"),
            "page_description": description,
            "summaries": [
                {
                    "service": row.service,
                    "status": status_badge(row.status),
                    "sparkline": row.sparkline,
                    "points": sparkline_points(row.sparkline, width=HOME_WIDTH, height=HOME_HEIGHT),
                    "last_day": sum(row.sparkline),
                }
                for row in summaries
            ],
            "data_url": _with_country(reverse("outages:home-data"), country),
            "country": country,
            "country_error": country_error,
            "country_query": country_query,
            "problems": sum(1 for row in summaries if row.status != ServiceStatus.Tier.OK),
            "refresh_seconds": REFRESH_SECONDS,
            "page_time": shown_time,
            # The sparklines' window, named on the page: not the service page's last 1,440 minutes.
            "sparkline_since": since,
            "rows_key": _service_rows_key(
                summaries, country_query=country_query, since=since, zone=str(shown_time.zone)
            ),
            "rows_cache_seconds": SERVICE_ROWS_CACHE_SECONDS,
        },
        status=400 if country_error else 200,
    )


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return _overview_page(request, query=request.GET.get("q", "").strip())


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    """Services by name, slug or alias ("open ai", "psn"), forgiving typos ("chatgtp"); a
    service's exact name or alias goes straight to its page."""
    query = request.GET.get("q", "").strip()
    named = Service.objects.active().named(query)
    if named is not None:
        country, _error = _shown_country(request)
        return redirect(
            reverse("outages:service", kwargs={"slug": named.slug}) + _country_query(request, country)
        )
    return _overview_page(
        request,
        query=query,
        heading=_("Services matching “%(query)s”") % {"query": query},
        description=_("Services matching “%(query)s” and their status right now.") % {"query": query},
    )


@require_safe
def category(request: HttpRequest, category: str) -> HttpResponse:
    canonical = category.lower()  # category slugs are slugify()'s: lower case
    if canonical != category:
        query = request.META.get("QUERY_STRING", "")
        url = reverse("outages:category", kwargs={"category": canonical})
        return redirect(f"{url}?{query}" if query else url, permanent=True)
    example = Service.objects.active().in_category(category).only("category").first()
    if example is None:
        raise Http404(f"No category {category!r}.")
    return _overview_page(
        request,
        category=category,
        heading=example.category_label,
        description=_("Problems and outages right now: %(category)s, from reports by people like you.")
        % {"category": example.category_label},
    )


@require_safe
@_for_api_country
def home_data(request: HttpRequest, *, country: str) -> JsonResponse:
    summaries = services_overview(now=timezone.now(), country=country)
    return JsonResponse(
        {
            "services": [
                {"slug": row.service.slug, "status": status_badge(row.status), "sparkline": row.sparkline}
                for row in summaries
            ]
        }
    )


def _service_numbers(service: Service, now: dt.datetime, country: str) -> dict:
    """The page's numbers in the request's language, worldwide or in `country`: the cached
    counts are by code and id, the labels and city names are added here. Every figure is
    the country's on a country's page; the official status, a service's own, is worldwide."""
    incident = status_of(service, country).incident
    numbers = service_numbers(service=service, now=now, country=country, incident=incident)
    labels = {problem.code: problem.display_label for problem in service.problem_types.all()}
    incident_problems = (
        incident_problems_in([incident], scope=country, until=minute_end(now))[incident.pk]
        if incident is not None
        else []
    )
    peak = busiest_bucket(
        ((bucket["start"], bucket["count"]) for bucket in numbers.timeseries),
        since=incident.started_at if incident is not None else None,
    )
    return {
        "country": country,
        "headline": peak_headline(service=service, country=country, peak=peak),
        "status": status_payload(service, country),
        "official": official_payload(service, now=now, incident=incident, record=True),
        "count_last_hour": numbers.count_last_hour,
        "count_last_day": numbers.count_last_day,
        # The detector's own baseline and warning line, so the chart and the status agree.
        "timeseries": [{**bucket, "start": json_datetime(bucket["start"])} for bucket in numbers.timeseries],
        "problems": problem_rows(numbers.problems, labels),
        # The ongoing incident's own problems (reports since it began), beside the 24 hours'.
        "incident_problems": problem_rows(incident_problems, labels),
        "cities": [
            {
                "city": city.local_name(),
                "country": city.country_code,
                "count": count,
                "lat": city.latitude,
                "lon": city.longitude,
            }
            for city, count in numbers.cities
        ],
        # Set while the cities are the ongoing incident's (reports since it began).
        "cities_since": json_datetime(numbers.cities_since) if numbers.cities_since else None,
    }


def _active_service(slug: str, country: str = "") -> Service:
    return get_object_or_404(services_with_status(country).prefetch_related("problem_types"), slug=slug)


@require_safe
def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    country, country_error = _shown_country(request)
    service = _active_service(slug, country)
    now = timezone.now()
    numbers = _service_numbers(service, now, country)
    problem_types: list[ProblemType] = list(service.problem_types.all())
    context = {
        "service": service,
        "form": ReportForm(problem_types=problem_types),
        "numbers": numbers,
        "comments": approved_comments(service_id=service.pk),
        # What the public may see: no dismissed or merged-away incidents, reviewers' public notes.
        "incidents": [
            {"incident": incident, "status_text": _public_status_text(incident)}
            for incident in public_incidents(
                service_id=service.pk, limit=RECENT_INCIDENTS, scope=country, now=now
            )
        ],
        **_map_context(),
        "data_url": _with_country(reverse("outages:service-data", kwargs={"slug": slug}), country),
        "country": country,
        "country_error": country_error,
        "country_query": _country_query(request, country),
        "refresh_seconds": REFRESH_SECONDS,
        "page_time": page_time(now=now, service=service),
        "page_title": _("%(name)s down? Current problems and outages") % {"name": service.name},
        # What a link preview shows: the status now, with its reason.
        "social_title": f"{service.name}: {numbers['status']['text']}",
        "page_description": f"{numbers['status']['text']}. {numbers['status']['reason_text']}",
    }
    response = render(request, "outages/service_detail.html", context, status=400 if country_error else 200)
    device_cookie_set(request, response)
    return response


@require_safe
@_for_api_country
def service_data(request: HttpRequest, slug: str, *, country: str) -> JsonResponse:
    service = _active_service(slug, country)
    return JsonResponse(_service_numbers(service, timezone.now(), country))


def _map_context() -> dict:
    return {
        "outlines_url": static("downradar/geo/countries-110m.geojson"),
        "tile_url": getattr(settings, "MAP_TILE_URL", ""),
        "tile_attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
    }


@require_safe
def spike_map(request: HttpRequest) -> HttpResponse:
    services = list(Service.objects.active().values("slug", "name"))
    selected = request.GET.get("service", "")
    if selected not in {service["slug"] for service in services}:
        selected = ""
    try:
        minutes = int(request.GET.get("minutes", "60"))
    except ValueError:
        minutes = 60
    if minutes not in WINDOWS:
        minutes = 60
    return render(
        request,
        "outages/map.html",
        {
            "services": services,
            "selected": selected,
            "minutes": minutes,
            "windows": [(value, WINDOW_LABELS[value]) for value in WINDOWS],
            "api_url": reverse("api-map"),
            "refresh_seconds": REFRESH_SECONDS,
            "page_time": page_time(now=timezone.now()),
            "page_title": _("Outage map"),
            "page_description": _(
                "Where people report problems right now, city by city, against each city's usual."
            ),
            **_map_context(),
        },
    )


@require_safe
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An incident's facts, worldwide or, with ?country= (the links from a country's pages),
    its peak, timeline, cities and problems in that country."""
    incident = get_object_or_404(
        with_official_first(Incident.objects.public()).select_related("service"), pk=pk
    )
    country, country_error = _shown_country(request, api_country)
    now = timezone.now()
    end = incident.resolved_at or now
    until = minute_end(now)
    labels = {problem.code: problem.display_label for problem in incident.service.problem_types.all()}
    times = page_time(now=now, service=incident.service)
    status_text = incident_state_text(confirmed=incident.confirmed, ongoing=incident.ongoing)
    heading = _("%(name)s incident of %(when)s") % {
        "name": incident.service.name,
        "when": datetime_text(incident.started_at, times.zone),
    }
    return render(
        request,
        "outages/incident_detail.html",
        {
            "page_title": _("%(name)s incident") % {"name": incident.service.name},
            "social_title": f"{heading}: {status_text}",
            "page_description": f"{heading}: {status_text}.",
            "incident": incident,
            "peak": incident_peaks_in([incident], scope=country, until=until)[incident.pk],
            "country_name": country_name(country),
            "service": incident.service,
            "country": country,
            "country_error": country_error,
            "status_text": status_text,
            "duration_minutes": max(0, int((end - incident.started_at).total_seconds() // 60)),
            "cities": incident.affected_cities(country)[:20],
            "updates": incident_updates(incident, times.zone),
            "problems": problem_rows(
                incident_problems_in([incident], scope=country, until=until)[incident.pk], labels
            ),
            "timeseries": incident_timeseries(incident=incident, now=now, country=country),
            "page_time": times,
            "isp_text": isp_text(incident.operator),
            "official_lead_text": official_lead_text(incident.official_lead_minutes),
            "shared_provider_text": shared_provider_text(
                services_together=services_spiking_with(incident), operator=incident.operator
            ),
        },
        status=400 if country_error else 200,
    )


# --- embeds: a badge and a widget that any site may show ------------------------------------

EMBED_CACHE_SECONDS = 60


def _embed_label(service: Service, country: str) -> str:
    return f"{service.name} · {country}" if country else service.name


@require_safe
@_for_api_country
def service_badge(request: HttpRequest, slug: str, *, country: str) -> HttpResponse:
    """An SVG badge with the service's public status, worldwide or in ?country=, the same
    as its page."""
    service = _active_service(slug, country)
    status = status_payload(service, country)
    label = _embed_label(service, country)
    layout = badge_layout(label=label, value=f"{status['icon']} {status['text']}", tier=status["code"])
    response = render(
        request,
        "outages/badge.svg",
        {"service": service, "label": label, "status": status, **asdict(layout)},
        content_type="image/svg+xml; charset=utf-8",
    )
    return public_cache(response, max_age=EMBED_CACHE_SECONDS)


@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
@require_safe
@_for_api_country
def service_embed(request: HttpRequest, slug: str, *, country: str) -> HttpResponse:
    """A small status widget for other sites to frame (the rest of the site may not be
    framed), worldwide or in ?country=."""
    service = _active_service(slug, country)
    page_url = _with_country(reverse("outages:service", kwargs={"slug": slug}), country)
    response = render(
        request,
        "outages/embed.html",
        {
            "service": service,
            "label": _embed_label(service, country),
            "status": status_payload(service, country),
            "page_url": request.build_absolute_uri(page_url),
        },
    )
    return public_cache(response, max_age=EMBED_CACHE_SECONDS)


@require_safe
@_for_api_country
def service_embed_code(request: HttpRequest, slug: str, *, country: str) -> HttpResponse:
    """The widget and the badge to copy onto another site, worldwide or in ?country= (what
    the widget and the badge answer for), with a live preview of both."""
    service = _active_service(slug, country)
    label = _embed_label(service, country)
    widget_path = _with_country(reverse("outages:service-embed", kwargs={"slug": slug}), country)
    badge_path = _with_country(reverse("outages:service-badge", kwargs={"slug": slug}), country)
    page_path = _with_country(reverse("outages:service", kwargs={"slug": slug}), country)
    snippets = embed_snippets(
        widget_url=request.build_absolute_uri(widget_path),
        badge_url=request.build_absolute_uri(badge_path),
        page_url=request.build_absolute_uri(page_path),
        title=_("%(name)s status on Downradar") % {"name": label},
    )
    return render(
        request,
        "outages/embed_code.html",
        {
            "service": service,
            "label": label,
            "country": country,
            "snippets": snippets,
            # The preview loads from this site, whatever address the snippets were built for.
            "widget_path": widget_path,
            "badge_path": badge_path,
            "page_path": page_path,
            "widget_width": WIDGET_WIDTH,
            "widget_height": WIDGET_HEIGHT,
            "page_title": _("Embed the status of %(name)s") % {"name": label},
            "page_description": _("A status widget and a badge for %(name)s to put on any site.")
            % {"name": label},
        },
    )


# --- all outages ----------------------------------------------------------------------------

INCIDENTS_PER_PAGE = 25


@require_safe
def incident_list(request: HttpRequest) -> HttpResponse:
    """Every public incident, newest first, filtered by service, category, country, day and
    state; paginated, with its Atom feed (same filters) at /incidents.atom."""
    form = IncidentFilterForm(request.GET or None)
    now = timezone.now()
    times = page_time(now=now)
    query = form.query() if form.is_bound and form.is_valid() else {}
    incidents: QuerySet[Incident]
    if form.is_bound and not form.is_valid():
        incidents = Incident.objects.none()
        status = 400
    else:
        incidents = public_incident_query(**query, zone=times.zone)
        status = 200
    paged = Paginator(incidents, INCIDENTS_PER_PAGE).get_page(request.GET.get("page"))
    shown = list(paged.object_list)
    rows = [
        {
            "incident": public,
            "status_text": incident_state_text(confirmed=incident.confirmed, ongoing=incident.ongoing),
        }
        # Filtered by a country, each incident's figures are that country's.
        for incident, public in zip(
            shown, as_public_in(shown, scope=query.get("country", ""), now=now), strict=True
        )
    ]
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "outages/incidents.html",
        {
            "form": form,
            "rows": rows,
            # Filtered by a country, an incident's page opens on that country's figures too.
            "country": query.get("country", ""),
            "page": paged,
            "filters": filters.urlencode(),
            "services": Service.objects.active().only("slug", "name"),
            "page_time": times,
            "page_title": _("All outages"),
            "page_description": _("Every outage Downradar detected from user reports, newest first."),
        },
        status=status,
    )
