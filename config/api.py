"""API-wide rule: every error is a JSON body that says what to fix (the format of a moment
in JSON is reports.api_time, where the apps can reach it)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, with JSON nested deeper than Python's recursion limit (about 1,000
    levels) answered as malformed: the standard library raises RecursionError there, which
    DRF does not catch (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("nested too deeply") from None


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
