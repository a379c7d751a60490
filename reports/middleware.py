from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

# Reports are tiny; anything bigger is a mistake or an attack, refused before parsing.
LIMITED_PREFIXES = ("/api/", "/s/")


class ApiBodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(LIMITED_PREFIXES):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return JsonResponse(
                    {
                        "error": "bad_content_length",
                        "detail": "Content-Length must be a number.",
                    },
                    status=400,
                )
            limit = settings.REPORT_MAX_BODY_BYTES
            if length > limit:
                return JsonResponse(
                    {
                        "error": "body_too_large",
                        "detail": f"The body is {length} bytes; the limit is {limit}.",
                    },
                    status=413,
                )
        return self.get_response(request)
