"""The public pages. Each page renders its numbers once on the server (it works without
JavaScript) and names a JSON URL in a data- attribute that its script fetches every
minute to refresh them."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from catalogue.models import ProblemType, Service
from outages.display_time import page_time
from outages.map_selectors import WINDOWS
from outages.models import Incident, ServiceStatus
from outages.page_selectors import (
    incident_timeseries,
    service_numbers,
    services_overview,
    sparkline_start,
)
from outages.presenters import STATUS_ICON, isp_text, status_payload, status_text
from outages.public import PublicIncident, public_incidents
from outages.status import incident_state_text
from reports.api_time import json_datetime
from reports.forms import ReportForm

REFRESH_SECONDS = 60

RECENT_INCIDENTS = 5


def _public_status_text(incident: PublicIncident) -> str:
    return incident_state_text(confirmed=incident.confirmed, ongoing=incident.resolved_at is None)


WINDOW_LABELS = {60: _("1 hour"), 360: _("6 hours"), 1440: _("24 hours")}


SPARK_WIDTH, SPARK_HEIGHT = 120, 28


def sparkline_points(values: list[int]) -> str:
    """SVG polyline points for a sparkline; static/downradar/js/home.js draws the same."""
    top = max(values) or 1
    step = SPARK_WIDTH / max(len(values) - 1, 1)
    return " ".join(
        f"{index * step:.1f},{SPARK_HEIGHT - 2 - (SPARK_HEIGHT - 4) * value / top:.1f}"
        for index, value in enumerate(values)
    )


def _status(code: str) -> dict[str, str]:
    return {"code": code, "text": status_text(code), "icon": STATUS_ICON[code]}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    now = timezone.now()
    summaries = services_overview(now=now, query=query)
    return render(
        request,
        "outages/home.html",
        {
            "query": query,
            "summaries": [
                {
                    "service": row.service,
                    "status": _status(row.status),
                    "sparkline": row.sparkline,
                    "points": sparkline_points(row.sparkline),
                    "last_day": sum(row.sparkline),
                }
                for row in summaries
            ],
            "data_url": reverse("outages:home-data"),
            "problems": sum(1 for row in summaries if row.status != ServiceStatus.Tier.OK),
            "refresh_seconds": REFRESH_SECONDS,
            "page_time": page_time(now=now),
            # The sparklines' window, named on the page: not the service page's last 1,440 minutes.
            "sparkline_since": sparkline_start(now),
        },
    )


@require_GET
def home_data(request: HttpRequest) -> JsonResponse:
    summaries = services_overview(now=timezone.now())
    return JsonResponse(
        {
            "services": [
                {"slug": row.service.slug, "status": _status(row.status), "sparkline": row.sparkline}
                for row in summaries
            ]
        }
    )


def _service_numbers(service: Service, now: dt.datetime) -> dict:
    """The page's numbers in the request's language: the cached counts are by code and
    id, the labels and city names are added here."""
    numbers = service_numbers(service=service, now=now)
    labels = {problem.code: problem.display_label for problem in service.problem_types.all()}
    return {
        "status": status_payload(service),
        "count_last_hour": numbers.count_last_hour,
        "count_last_day": numbers.count_last_day,
        # The detector's own baseline and warning line, so the chart and the status agree.
        "timeseries": [{**bucket, "start": json_datetime(bucket["start"])} for bucket in numbers.timeseries],
        "problems": [
            {"label": str(labels.get(code, code)), "count": count, "percent": percent}
            for code, count, percent in numbers.problems
        ],
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
    }


def _active_service(slug: str) -> Service:
    return get_object_or_404(
        Service.objects.active().select_related("current_status__incident").prefetch_related("problem_types"),
        slug=slug,
    )


@require_GET
def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    service = _active_service(slug)
    now = timezone.now()
    numbers = _service_numbers(service, now)
    problem_types: list[ProblemType] = list(service.problem_types.all())
    context = {
        "service": service,
        "form": ReportForm(problem_types=problem_types),
        "numbers": numbers,
        # What the public may see: no dismissed or merged-away incidents, reviewers' public notes.
        "incidents": [
            {"incident": incident, "status_text": _public_status_text(incident)}
            for incident in public_incidents(service_id=service.pk, limit=RECENT_INCIDENTS)
        ],
        **_map_context(),
        "data_url": reverse("outages:service-data", kwargs={"slug": slug}),
        "refresh_seconds": REFRESH_SECONDS,
        "page_time": page_time(now=now, service=service),
    }
    return render(request, "outages/service_detail.html", context)


@require_GET
def service_data(request: HttpRequest, slug: str) -> JsonResponse:
    service = _active_service(slug)
    return JsonResponse(_service_numbers(service, timezone.now()))


def _map_context() -> dict:
    return {
        "outlines_url": static("downradar/geo/countries-110m.geojson"),
        "tile_url": getattr(settings, "MAP_TILE_URL", ""),
        "tile_attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", ""),
    }


@require_GET
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
            **_map_context(),
        },
    )


@require_GET
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.public().select_related("service"), pk=pk)
    now = timezone.now()
    end = incident.resolved_at or now
    labels = {problem.code: problem.display_label for problem in incident.service.problem_types.all()}
    total_problems = sum(row.get("count", 0) for row in incident.problems) or 1
    return render(
        request,
        "outages/incident_detail.html",
        {
            "incident": incident,
            "service": incident.service,
            "status_text": incident_state_text(confirmed=incident.confirmed, ongoing=incident.ongoing),
            "duration_minutes": max(0, int((end - incident.started_at).total_seconds() // 60)),
            "cities": list(incident.cities.listed().select_related("city")[:20]),
            "problems": [
                {
                    "label": str(labels.get(row.get("code"), row.get("code"))),
                    "count": row.get("count", 0),
                    "percent": round(100 * row.get("count", 0) / total_problems),
                }
                for row in incident.problems
            ],
            "timeseries": incident_timeseries(incident=incident, now=now),
            "page_time": page_time(now=now, service=incident.service),
            "isp_text": isp_text(incident.operator),
        },
    )
