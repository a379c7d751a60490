"""API-wide rules: every error is a JSON body that says what to fix, and every moment in
JSON is UTC in ISO 8601 with a Z, to the second."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def json_datetime(moment: dt.datetime) -> str:
    """2026-12-02T16:00:00Z: the one format of a moment in the API, the pages' JSON and
    webhooks. Display zones are for pages (outages.display_time), never for JSON."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField written with json_datetime; DRF's own writes the request's
    current zone (settings.TIME_ZONE) as an offset."""

    def to_representation(self, value: dt.datetime) -> str:
        return json_datetime(value)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ParseError):
        response.data = {
            "error": "malformed_json",
            "detail": f"The body is not valid JSON: {exc.detail}",
        }
    elif isinstance(exc, exceptions.MethodNotAllowed):
        view = context.get("view")
        allowed = ", ".join(view.allowed_methods) if view is not None else ""
        response.data = {
            "error": "method_not_allowed",
            "detail": f"{context['request'].method} is not allowed here; use {allowed}.",
        }
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        response.data = {
            "error": "unsupported_media_type",
            "detail": "Send the body as JSON with Content-Type: application/json.",
        }
    elif isinstance(exc, exceptions.NotFound):
        response.data = {"error": "not_found", "detail": str(exc.detail)}
    elif isinstance(exc, exceptions.Throttled):
        response.data = {"error": "rate_limited", "detail": str(exc.detail)}
    elif response.status_code == status.HTTP_400_BAD_REQUEST and isinstance(response.data, dict):
        response.data = {
            "error": "invalid",
            "detail": "Fix the fields listed in 'fields'.",
            "fields": response.data,
        }
    return response
