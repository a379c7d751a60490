"""GET /api/v1/map/: the spike map's cities as GeoJSON."""

from __future__ import annotations

import functools

from django.core.cache import cache
from django.http import HttpResponse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import get_language, ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from catalogue.models import Service
from geo.countries import api_country
from outages.api import BAD_QUERY, NOT_FOUND, ReadApi
from outages.map_selectors import WINDOWS, map_cities
from outages.presenters import status_of
from outages.public_cache import public_cache
from outages.selectors import service_with_status
from reports.api_time import DateTimeField, json_datetime

# How long one answer is shared: short next to the pages' one-minute refresh.
MAP_CACHE_SECONDS = 20


@functools.lru_cache(maxsize=4096)
def reports_text(count: int, language: str) -> str:
    """ "1 report", "1.250 segnalazioni": the number grouped as the pages write it, in the
    active language, which the caller names (a map has thousands of cities, few counts)."""
    number = number_format(count, force_grouping=True)
    return ngettext("%(count)s report", "%(count)s reports", count) % {"count": number}


@functools.lru_cache(maxsize=4096)
def ratio_text(ratio: float, language: str) -> str:
    """ "1 time the usual", "2.5 times the usual" ("1 volta il solito", "2,5 volte il solito"):
    the ratio to one decimal, as the map shows it, with the plural its number takes."""
    shown = round(ratio, 1)
    plural = int(shown) if shown == int(shown) else 2  # a fraction reads as a plural
    number = number_format(shown, decimal_pos=0 if shown == int(shown) else 1, force_grouping=True)
    return ngettext("%(ratio)s time the usual", "%(ratio)s times the usual", plural) % {"ratio": number}


class MapQuerySerializer(serializers.Serializer):
    service = serializers.SlugField(
        required=False, allow_blank=True, help_text="A service slug; empty for all."
    )
    minutes = serializers.ChoiceField(choices=WINDOWS, default=60, help_text="The window: 60, 360 or 1440.")


_feature = inline_serializer(
    name="MapFeature",
    many=True,
    fields={
        "type": serializers.CharField(default="Feature"),
        "geometry": serializers.JSONField(help_text='{"type": "Point", "coordinates": [lon, lat]}'),
        "properties": inline_serializer(
            name="MapCityProperties",
            fields={
                "city": serializers.CharField(help_text="English name"),
                "city_local": serializers.CharField(
                    help_text="The name used locally where known (Milano), else English, as in the other APIs."
                ),
                "name": serializers.CharField(
                    help_text="The name in the request's language (Accept-Language)."
                ),
                "country": serializers.CharField(),
                "count": serializers.IntegerField(help_text="Reports in the window"),
                "count_text": serializers.CharField(
                    help_text='The count in words, in the request\'s language ("1 report", "2 reports").'
                ),
                "baseline": serializers.FloatField(help_text="This city's usual reports for such a window"),
                "ratio": serializers.FloatField(help_text="count / baseline"),
                "ratio_text": serializers.CharField(
                    help_text='The ratio in words, in the request\'s language ("1 time the usual", "2.5 times the usual").'
                ),
                "services": inline_serializer(
                    name="MapCityService",
                    fields={
                        "slug": serializers.CharField(),
                        "name": serializers.CharField(),
                        "count": serializers.IntegerField(),
                    },
                    many=True,
                ),
            },
        ),
    },
)


class MapApi(ReadApi):
    @extend_schema(
        operation_id="map_cities",
        summary="Cities with reports, as GeoJSON points",
        description=(
            "Every city with reports in the last `minutes` for one service (or all), in one "
            "country (or worldwide), busiest first, with its count, its own baseline for such a "
            "window and their ratio. City names follow Accept-Language (en, it)."
        ),
        parameters=[
            OpenApiParameter("service", OpenApiTypes.STR, description="service slug; omit for all"),
            OpenApiParameter(
                "country",
                OpenApiTypes.STR,
                description="ISO 3166-1 alpha-2 code (IT); omit, or 'all', for worldwide",
            ),
            OpenApiParameter("minutes", OpenApiTypes.INT, enum=list(WINDOWS), default=60),
        ],
        responses={
            200: inline_serializer(
                name="MapFeatureCollection",
                fields={
                    "type": serializers.CharField(default="FeatureCollection"),
                    "service": serializers.CharField(allow_null=True),
                    "country": serializers.CharField(allow_null=True, help_text="null for worldwide"),
                    "status": serializers.CharField(
                        allow_null=True,
                        help_text="The service's public status, as on its page; null for all.",
                    ),
                    "status_reason": serializers.CharField(allow_null=True),
                    "minutes": serializers.IntegerField(),
                    "generated_at": DateTimeField(),
                    "features": _feature,
                },
            ),
            400: BAD_QUERY,
            404: NOT_FOUND,
        },
        examples=[
            OpenApiExample(
                "Milan during an outage",
                value={
                    "type": "FeatureCollection",
                    "service": "chatgpt",
                    "country": "IT",
                    "status": "outage",
                    "status_reason": "confirmed",
                    "minutes": 60,
                    "generated_at": "2025-03-31T17:00:00Z",
                    "features": [
                        {
                            "type": "Feature",
                            "geometry": {"type": "Point", "coordinates": [9.19, 45.46]},
                            "properties": {
                                "city": "Milan",
                                "city_local": "Milano",
                                "name": "Milano",
                                "country": "IT",
                                "count": 412,
                                "count_text": "412 reports",
                                "baseline": 11.3,
                                "ratio": 36.5,
                                "ratio_text": "36.5 times the usual",
                                "services": [{"slug": "chatgpt", "name": "ChatGPT", "count": 412}],
                            },
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> HttpResponse:
        query = MapQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        country = api_country(request)
        slug = query.validated_data.get("service") or ""
        service = None
        if slug:
            service = service_with_status(slug, country)
            if service is None:
                raise NotFound(f"No service {slug!r}.")
        minutes = int(query.validated_data["minutes"])
        language = get_language() or "en"
        if request.accepted_renderer.format != "json":  # the browsable API, for people
            return Response(self._collection(service, slug, country, minutes, language))
        # Everyone asks the same question during an outage: the answer is shared for a few
        # seconds, per service, country, window and language (the names differ by language),
        # as the JSON itself, so a shared answer costs no work but sending it. Not cache_page:
        # its key follows the Vary headers, and Vary: Cookie would give each visitor (each
        # CSRF cookie) an answer of their own. The key names the current time slot, so every
        # worker shares one answer per slot (get_or_set keeps the first one stored).
        slot = int(timezone.now().timestamp()) // MAP_CACHE_SECONDS
        body = cache.get_or_set(
            f"map:response:{slug or '-'}:{country or '-'}:{minutes}:{language}:{slot}",
            lambda: JSONRenderer().render(self._collection(service, slug, country, minutes, language)),
            MAP_CACHE_SECONDS,
        )
        response = HttpResponse(body, content_type="application/json")
        # The names follow the language, which the switcher's cookie can choose too.
        return public_cache(response, max_age=MAP_CACHE_SECONDS)

    @staticmethod
    def _collection(service: Service | None, slug: str, country: str, minutes: int, language: str) -> dict:
        now = timezone.now()
        status = status_of(service, country) if service is not None else None
        return {
            "type": "FeatureCollection",
            "service": slug or None,
            "country": country or None,
            "status": status.code if status else None,
            "status_reason": status.reason if status else None,
            "minutes": minutes,
            "generated_at": json_datetime(now),
            "features": [
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Point",
                        "coordinates": [round(row.longitude, 4), round(row.latitude, 4)],
                    },
                    "properties": {
                        "city": row.name_en,
                        "city_local": row.native_name,
                        "name": row.local_name(language),
                        "country": row.country_code,
                        "count": row.count,
                        "count_text": reports_text(row.count, language),
                        "baseline": round(row.baseline, 2),
                        "ratio": round(row.ratio, 2),
                        "ratio_text": ratio_text(row.ratio, language),
                        "services": [{"slug": s, "name": name, "count": n} for s, name, n in row.services],
                    },
                }
                for row in map_cities(service=service, minutes=minutes, now=now, country=country)
            ],
        }
