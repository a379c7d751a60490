"""The status API: services with their current status, their recent reports against the
baseline, the cities reporting, and incidents. Read-only; errors are JSON saying what to fix."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue.models import ProblemType, Service
from geo.countries import UnknownCountry, api_country, invalid_country_response
from outages import selectors
from outages.presenters import official_payload, operator_fields, status_of
from outages.public import incident_peaks_in, incident_problems_in
from outages.serializers import (
    BucketSerializer,
    CitiesQuerySerializer,
    CityRowSerializer,
    CountryQuerySerializer,
    IncidentSerializer,
    IncidentsQuerySerializer,
    ServiceDetailSerializer,
    ServicesQuerySerializer,
    ServiceStatusSerializer,
    TimeseriesQuerySerializer,
)
from reports.counts import minute_end
from reports.selectors import problem_shares
from reports.serializers import ErrorSerializer

NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No active service with this slug.")
BAD_QUERY = OpenApiResponse(ErrorSerializer, description="A query parameter is unknown or out of range.")
TOP_CITIES = 5


def _query(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """Validated query parameters; unknown or bad ones answer 400 naming what to fix."""
    known = set(serializer_class().fields)
    unknown = sorted(set(request.query_params) - known - {"format"})
    if unknown:
        raise exceptions.ValidationError(
            {name: [f"Unknown parameter; use one of: {', '.join(sorted(known))}."] for name in unknown}
        )
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _service(slug: str, country: str = "") -> Service:
    service = selectors.service_with_status(slug, country)
    if service is None:
        raise exceptions.NotFound(f"No active service {slug!r}; check the slug.")
    return service


class ReadApi(APIView):
    """A read API answering for ?country= (geo.countries.api_country): a bad code is a 400
    invalid_country, as on the page JSON, the badge and the embed."""

    def handle_exception(self, exc):
        if isinstance(exc, UnknownCountry):
            return invalid_country_response(exc)
        return super().handle_exception(exc)


def _status_fields(service: Service, now: dt.datetime, country: str = "") -> dict[str, Any]:
    view = status_of(service, country)
    return {
        "slug": service.slug,
        "name": service.name,
        "category": service.category,
        "country": country,
        "status": view.code,
        "status_reason": view.reason,
        "since": view.since,
        "score": round(view.score, 2),
        "count": view.count,
        "baseline": None if view.baseline is None else round(view.baseline, 2),
        "updated_at": view.updated_at,
        "operator": operator_fields(view.operator),
        "official": official_payload(service, now=now),
    }


class ServiceListApi(ReadApi):
    @extend_schema(
        operation_id="services_list",
        summary="Every service with its current status, or those matching ?q= (autocomplete)",
        parameters=[ServicesQuerySerializer],
        responses={200: ServiceStatusSerializer(many=True), 400: BAD_QUERY},
    )
    def get(self, request: Request) -> Response:
        query = _query(request, ServicesQuerySerializer)
        country = api_country(request)
        services = selectors.services_with_status(country)
        if query.get("q"):
            services = services.matching(query["q"])
        now = timezone.now()
        rows = [_status_fields(service, now, country) for service in services]
        return Response(ServiceStatusSerializer(rows, many=True).data)


class ServiceDetailApi(ReadApi):
    @extend_schema(
        operation_id="services_retrieve",
        summary="A service's status, problems, most affected cities and open incident",
        parameters=[CountryQuerySerializer],
        responses={200: ServiceDetailSerializer, 404: NOT_FOUND, 400: BAD_QUERY},
    )
    def get(self, request: Request, slug: str) -> Response:
        _query(request, CountryQuerySerializer)
        country = api_country(request)
        service = _service(slug, country)
        now = timezone.now()
        labels = {
            problem.code: problem.display_label for problem in ProblemType.objects.filter(service=service)
        }
        incident = status_of(service, country).incident
        payload = {
            **_status_fields(service, now, country),
            # The page's block: its state, the lead time of the incident and the record.
            "official": official_payload(service, now=now, incident=incident, record=True),
            "home_url": service.home_url,
            "status_page_url": service.status_page_url,
            "problems": [
                {
                    "code": share.code,
                    "label": labels.get(share.code, share.code),
                    "count": share.count,
                    "percent": share.percent,
                }
                for share in problem_shares(
                    service_id=service.pk,
                    start=now - dt.timedelta(hours=24),
                    end=minute_end(now),
                    country=country,
                )
            ],
            "cities": selectors.service_cities(
                service=service, now=now, minutes=60, limit=TOP_CITIES, country=country
            ),
            "incident": None
            if incident is None
            else {
                "id": incident.pk,
                "status": incident.status,
                "ongoing": incident.ongoing,
                "started_at": incident.started_at,
                "resolved_at": incident.resolved_at,
            },
        }
        return Response(ServiceDetailSerializer(payload).data)


class ServiceTimeseriesApi(ReadApi):
    @extend_schema(
        operation_id="services_timeseries",
        summary="Reports per bucket against the baseline; the last bucket is in progress",
        parameters=[TimeseriesQuerySerializer],
        responses={200: BucketSerializer(many=True), 404: NOT_FOUND, 400: BAD_QUERY},
    )
    def get(self, request: Request, slug: str) -> Response:
        query = _query(request, TimeseriesQuerySerializer)
        country = api_country(request)
        service = _service(slug)
        buckets = selectors.service_timeseries_buckets(
            service=service,
            now=timezone.now(),
            hours=query["hours"],
            bucket_minutes=query["bucket"],
            country=country,
        )
        return Response(BucketSerializer(buckets, many=True).data)


class ServiceCitiesApi(ReadApi):
    @extend_schema(
        operation_id="services_cities",
        summary="Cities reporting in the last minutes, most excess reports first",
        parameters=[CitiesQuerySerializer],
        responses={200: CityRowSerializer(many=True), 404: NOT_FOUND, 400: BAD_QUERY},
    )
    def get(self, request: Request, slug: str) -> Response:
        query = _query(request, CitiesQuerySerializer)
        country = api_country(request)
        service = _service(slug)
        rows = selectors.service_cities(
            service=service,
            now=timezone.now(),
            minutes=query["minutes"],
            limit=query["limit"],
            country=country,
        )
        return Response(CityRowSerializer(rows, many=True).data)


class IncidentListApi(ReadApi):
    @extend_schema(
        operation_id="incidents_list",
        summary="Public incidents (never dismissed or merged ones), newest first, with their affected cities",
        parameters=[IncidentsQuerySerializer],
        responses={200: IncidentSerializer(many=True), 400: BAD_QUERY},
    )
    def get(self, request: Request) -> Response:
        query = _query(request, IncidentsQuerySerializer)
        country = api_country(request)
        service_id = None
        if "service" in query:
            service_id = Service.objects.filter(slug=query["service"]).values_list("pk", flat=True).first()
            if service_id is None:
                raise exceptions.ValidationError({"service": [f"Unknown service {query['service']!r}."]})
        incidents = selectors.incidents_list(
            service_id=service_id,
            status=query.get("status"),
            ongoing=query.get("ongoing"),
            country=country,
            limit=query["limit"],
        )
        # In a country, each incident's peak, problems and cities are that country's, as on the pages.
        context: dict[str, Any] = {}
        if country:
            incidents = list(incidents)
            until = minute_end(timezone.now())
            context["country"] = country
            context["peaks"] = incident_peaks_in(incidents, scope=country, until=until)
            context["problems"] = incident_problems_in(incidents, scope=country, until=until)
        return Response(IncidentSerializer(incidents, many=True, context=context).data)
