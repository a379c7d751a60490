from __future__ import annotations

import functools

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

# Pages a crawler has no business in: reviewers' and admins' screens, log-in, the JSON API.
ROBOTS_DISALLOWED = ("/review/", "/admin/", "/accounts/", "/i18n/", "/api/")
ICON_CACHE_SECONDS = 24 * 3600


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness only: touches no database or cache, so it measures the bare stack."""
    return HttpResponse("ok", content_type="text/plain")


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": "not_found", "detail": f"Nothing at {request.path}."}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {
                "error": "server_error",
                "detail": "Something broke on our side; try again.",
            },
            status=500,
        )
    return render(request, "500.html", status=500)


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOWED)]
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@functools.cache
def _icon() -> bytes:
    path = finders.find("downradar/favicon.svg")
    assert isinstance(path, str), "downradar/favicon.svg is missing from the static files"
    with open(path, "rb") as icon:
        return icon.read()


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers and crawlers ask for whatever the page links: the site's
    one icon (SVG, which browsers take at this address too)."""
    response = HttpResponse(_icon(), content_type="image/svg+xml")
    patch_cache_control(response, public=True, max_age=ICON_CACHE_SECONDS)
    return response
