"""POST /api/v1/reports/: the one hot endpoint.

Well-formed reports (a valid JSON object sent as application/json to a JSON client) take
a plain Django path: json.loads, no DRF negotiation, parsing or request wrapping, which was
about a third of a report's CPU. Anything else goes to the DRF view, which answers exactly
as before (its parse, media-type, field and method errors, the browsable API) and is what
/api/schema/ documents. Both check the body with one validator, ReportInputSerializer (the
plain path sends whatever it refuses to the DRF view, which answers the errors), then hand
it to reports.intake.report_intake, which checks it in the same order as the web form's
(client address, rate limit, service, proof of work, problem).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo.ip import client_ip
from reports.devices import COOKIE, device_of
from reports.intake import ReportRejected, report_intake
from reports.models import Source
from reports.pow import challenge_issue
from reports.presenters import report_payload
from reports.serializers import (
    ErrorSerializer,
    PowChallengeSerializer,
    ReportInputSerializer,
    ReportSerializer,
)

# ReportSerializer's created_at field, shared: to_representation keeps no state.
_TIMESTAMP = ReportSerializer().fields["created_at"]

# The one validator of the report body, for both paths. One shared instance: building a
# serializer per request deep-copies its fields (~0.2 ms), while run_validation on a built one
# keeps no state between calls (~0.02 ms). is_valid would store the result on the instance.
_INPUT = ReportInputSerializer()
# Accept headers for which DRF's negotiation picks JSONRenderer.
_JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})

# The response type follows the renderer: a DRF Response from the DRF view, a plain
# HttpResponse from the plain path.
ResponseT = TypeVar("ResponseT", bound=HttpResponse)


class ReportCreateApi(APIView):
    @extend_schema(
        operation_id="reports_create",
        summary="Report a problem with a service",
        request=ReportInputSerializer,
        parameters=[
            OpenApiParameter(
                COOKIE,
                OpenApiTypes.STR,
                OpenApiParameter.COOKIE,
                required=False,
                description="The device cookie the service page sets (signed by the server; "
                "a forged one is ignored). Optional: behind a shared mobile-carrier address it "
                "lets people on different devices count separately, up to a few per address; "
                "elsewhere one address is one vote with or without it.",
            )
        ],
        responses={
            201: OpenApiResponse(ReportSerializer, description="Stored and counted."),
            200: OpenApiResponse(
                ReportSerializer,
                description="Stored, not counted: a repeat within the dedupe window.",
            ),
            400: OpenApiResponse(
                ErrorSerializer,
                description="Malformed JSON, a missing field, an unknown problem or an invalid "
                "comment (invalid_comment): nothing is stored.",
            ),
            403: OpenApiResponse(
                ErrorSerializer,
                description="Proof of work (when on) wrong, expired or already used.",
            ),
            404: OpenApiResponse(ErrorSerializer, description="Unknown service."),
            413: OpenApiResponse(ErrorSerializer, description="Body over 4 KiB."),
            429: OpenApiResponse(
                ErrorSerializer,
                description="Too many reports from this client; see Retry-After.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        now = timezone.now()
        if not isinstance(request.data, dict):
            return _drf_response(
                _error(
                    "invalid",
                    'Send a JSON object such as {"service": "chatgpt", "problem": "login"}.',
                ),
                400,
            )
        # A ValidationError here is answered by the exception handler: field errors, 400.
        return _take(request, _INPUT.run_validation(request.data), now=now, respond=_drf_response)

    @classmethod
    def as_view(cls, **initkwargs):
        drf_view = super().as_view(**initkwargs)

        # functools.wraps copies the DRF view's attributes (cls, initkwargs, csrf_exempt),
        # so the URL still resolves to ReportCreateApi for drf-spectacular and CSRF.
        @functools.wraps(drf_view)
        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            data = _plain_input(request)
            if data is None:
                return drf_view(request, *args, **kwargs)
            return _take(request, data, now=timezone.now(), respond=_plain_response)

        return view


class PowChallengeApi(APIView):
    @extend_schema(
        operation_id="pow_challenge",
        summary="A proof-of-work challenge for one report",
        description="Only needed when the server requires proof of work (difficulty > 0).",
        responses={200: PowChallengeSerializer},
    )
    def get(self, request: Request) -> Response:
        issued = challenge_issue()
        response = Response(
            {"challenge": issued.challenge, "difficulty": issued.difficulty, "expires": issued.expires}
        )
        response["Cache-Control"] = "no-store"
        return response


def _plain_input(request: HttpRequest) -> dict[str, Any] | None:
    """The validated body when the plain path may answer this request, else None.

    Only requests DRF would answer with JSONRenderer and whose body the one validator
    accepts; a None sends the request to the DRF view, which parses the body again and
    answers its errors (parse, media type, fields) in DRF's own words."""
    meta = request.META
    if (
        request.method != "POST"
        or request.content_type != "application/json"
        or (request.content_params or {}).get("charset", "utf-8").lower() != "utf-8"
        or meta.get("HTTP_ACCEPT", "") not in _JSON_ACCEPTS
        or meta.get("QUERY_STRING")  # ?format= picks a renderer
    ):
        return None
    try:
        # As DRF's JSONParser: UTF-8 only, no NaN or Infinity. The body stays readable for
        # the DRF view.
        data = json.loads(request.body.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, RecursionError):
        # Nesting past the recursion limit (a few KiB at most, so the cost stays flat):
        # the DRF view's parser answers it as malformed JSON, like any other bad body.
        return None
    if not isinstance(data, dict):
        return None
    try:
        return _INPUT.run_validation(data)
    except ValidationError:
        return None


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _take(
    request: HttpRequest,
    data: dict[str, Any],
    *,
    now: dt.datetime,
    respond: Callable[[dict[str, Any], int], ResponseT],
) -> ResponseT:
    """Hand the validated body to the intake and render its outcome."""
    comment = data.get("comment", "")
    try:
        outcome = report_intake(
            slug=data["service"],
            problem=data["problem"],
            proof=(data.get("pow_challenge"), data.get("pow_nonce")),
            address=client_ip(request),
            source=Source.API,
            now=now,
            comment=comment,
            # LocaleMiddleware skips this path; the language is looked up only for a comment.
            language=translation.get_language_from_request(request) if comment.strip() else "",
            device=device_of(request),
        )
    except ReportRejected as rejected:
        extra = {} if rejected.valid is None else {"valid": rejected.valid}
        response = respond(_error(rejected.code, str(rejected), **extra), rejected.status)
        if rejected.retry_after is not None:
            response["Retry-After"] = str(rejected.retry_after)
        return response
    assert outcome is not None  # the API has no honeypot
    payload = report_payload(outcome)
    # The payload is plain data already; only the timestamp needs the serializer's
    # format. Building a ReportSerializer per request cost ~0.3 ms of CPU.
    payload["created_at"] = _TIMESTAMP.to_representation(payload["created_at"])
    if comment.strip():
        payload["comment_stored"] = outcome.comment is not None
    return respond(payload, status.HTTP_201_CREATED if outcome.counted else status.HTTP_200_OK)


def _error(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def _drf_response(data: dict[str, Any], http_status: int) -> Response:
    return Response(data, status=http_status)


# The headers and bytes DRF's JSONRenderer and APIView give the same answer.
_PLAIN_HEADERS = {"Allow": "POST, OPTIONS", "Vary": "Accept"}


def _plain_response(data: dict[str, Any], http_status: int) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return HttpResponse(
        body.encode(), status=http_status, content_type="application/json", headers=_PLAIN_HEADERS
    )
