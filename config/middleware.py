from __future__ import annotations

import logging
from collections.abc import Callable

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def unavailable_response(
    request: HttpRequest, *, error: str, api_detail: str, page_text: str
) -> HttpResponse:
    """503 + Retry-After: a JSON error on the API, a plain line on pages."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"error": error, "detail": api_detail}, status=503)
    else:
        response = HttpResponse(page_text, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class NulBytesMiddleware:
    """A NUL byte in the path or the query string answers 400: PostgreSQL cannot hold one in
    a text value, so `/?q=%00` or `/unsubscribe/%00/` would otherwise reach the database and
    fail with a 500. Form and JSON fields are checked by their own validation."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            detail = "The address contains a NUL character (%00); remove it."
            if request.path.startswith("/api/"):
                return JsonResponse({"error": "invalid", "detail": detail}, status=400)
            return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class FriendlyErrorPagesMiddleware:
    """A 405 from a page (Django answers it with an empty body) gets the site's own page,
    which names the methods that work; the API keeps its JSON errors."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 405 and not response.content and not request.path.startswith("/api/"):
            from django.shortcuts import render

            allowed = response.get("Allow", "")
            page = render(request, "405.html", {"method": request.method, "allowed": allowed}, status=405)
            page["Allow"] = allowed
            return page
        return response


class DatabaseUnavailableMiddleware:
    """A database that is down or restarting answers 503 + Retry-After, not a 500.

    The failed request's transaction is rolled back, so nothing is half-written; Django
    drops the broken connection when the request ends and the next one reconnects.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable: %s", type(exception).__name__)
        return unavailable_response(
            request,
            error="unavailable",
            # A read is not a report: say what could not be done.
            api_detail=(
                "We cannot store reports right now; retry shortly."
                if request.method == "POST"
                else "We cannot read the data right now; retry shortly."
            ),
            page_text="Downradar is briefly unavailable; please retry in a few seconds.",
        )


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp, minus its work on paths no policy applies to.

    django-csp builds both headers for every response and only then looks at
    EXCLUDE_URL_PREFIXES; that was about a tenth of a report's CPU. A path is skipped
    only when every configured policy (enforced and report-only) excludes it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        policies = [
            policy
            for policy in (
                getattr(settings, "CONTENT_SECURITY_POLICY", None),
                getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None),
            )
            if policy
        ]
        prefix_sets = [set(policy.get("EXCLUDE_URL_PREFIXES") or ()) for policy in policies]
        self.skipped_prefixes = tuple(set.intersection(*prefix_sets)) if prefix_sets else ()

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if self.skipped_prefixes and request.path_info.startswith(self.skipped_prefixes):
            return response
        return super().process_response(request, response)
