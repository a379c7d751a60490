"""Which country a visitor is looking at: one rule for every page and read API.

"" means worldwide. A page takes, in order: `?country=` in its address, the country the
visitor chose with the selector (a cookie, remembered as the language is), a lookup of the
visitor's address made at request time and never stored, then the visitor's language
(Italian -> Italy). A read API, a badge or an embed takes `?country=` only: their answers are
cached and shared, so they cannot depend on who asks.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.utils.translation import get_language
from django_countries import countries

from geo.ip import client_ip
from geo.lookup import locate
from geo.models import City

WORLDWIDE = ""
COUNTRY_PARAMETER = "country"
# Spellings of "no country" accepted in ?country=, so a link can undo a remembered choice.
WORLDWIDE_SPELLINGS = frozenset({"", "all", "ww", "world", "worldwide"})
# The country a language's speakers most likely mean, when nothing else says.
LANGUAGE_COUNTRIES = {"it": "IT"}


class UnknownCountry(ValueError):
    """A `?country=` value that is not an ISO 3166-1 alpha-2 code."""

    def __init__(self, value: str):
        self.value = value
        shown = value[:20]
        super().__init__(
            f"Unknown country {shown!r}: use a two-letter ISO 3166 code such as IT or US, or 'all' for worldwide."
        )


def country_code(value: str | None) -> str:
    """`value` as a country code ("IT"), or WORLDWIDE; UnknownCountry when it is neither."""
    cleaned = (value or "").strip()
    if cleaned.casefold() in WORLDWIDE_SPELLINGS:
        return WORLDWIDE
    code = cleaned.upper()
    if len(code) == 2 and code in countries:
        return code
    raise UnknownCountry(cleaned)


def country_name(code: str) -> str:
    """The country's name in the active language ("Italia" in Italian); "" for worldwide."""
    return str(countries.name(code)) if code else ""


def requested_country(request: HttpRequest) -> str | None:
    """The country named by `?country=`, WORLDWIDE for 'all', None when the parameter is absent."""
    if COUNTRY_PARAMETER not in request.GET:
        return None
    return country_code(request.GET[COUNTRY_PARAMETER])


def remembered_country(request: HttpRequest) -> str | None:
    """The selector's choice, or None when there is none (or the cookie is not a country)."""
    raw = request.COOKIES.get(settings.COUNTRY_COOKIE_NAME)
    if raw is None:
        return None
    try:
        return country_code(raw)
    except UnknownCountry:
        return None


def default_country(request: HttpRequest) -> str:
    """Where the visitor probably is: their address's country (looked up, not kept), else the
    country of their language, else worldwide."""
    location = locate(client_ip(request))
    if location is not None and location.country_code in countries:
        return location.country_code
    return LANGUAGE_COUNTRIES.get((get_language() or "").split("-")[0], WORLDWIDE)


# The page country, worked out once per request (several views and tags ask).
_REQUEST_COUNTRY = "_downradar_country"


def page_country(request: HttpRequest) -> str:
    """The country a page is shown for. Raises UnknownCountry for a bad `?country=`."""
    requested = requested_country(request)
    if requested is not None:
        return requested
    if not hasattr(request, _REQUEST_COUNTRY):
        remembered = remembered_country(request)
        setattr(request, _REQUEST_COUNTRY, remembered if remembered is not None else default_country(request))
    return getattr(request, _REQUEST_COUNTRY)


def api_country(request: HttpRequest) -> str:
    """The country a read API, badge or embed answers for: `?country=` or worldwide."""
    requested = requested_country(request)
    return WORLDWIDE if requested is None else requested


def invalid_country_response(error: UnknownCountry) -> JsonResponse:
    """The 400 every read API, JSON, badge and embed answers a bad ?country= with."""
    return JsonResponse({"error": "invalid_country", "detail": str(error)}, status=400)


SELECTABLE_CACHE_SECONDS = 600


def selectable_countries(selected: str = WORLDWIDE) -> list[tuple[str, str]]:
    """(code, name) of the countries with located reports, by name in the active language,
    plus `selected` if it has none yet."""
    codes = cache.get("geo:selectable-countries")
    if codes is None:
        codes = sorted(set(City.objects.values_list("country_code", flat=True)) & set(dict(countries)))
        cache.set("geo:selectable-countries", codes, SELECTABLE_CACHE_SECONDS)
    if selected and selected not in codes:
        codes = [*codes, selected]
    return sorted(((code, country_name(code)) for code in codes), key=lambda pair: pair[1])
