from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseRedirect, QueryDict
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from geo.countries import COUNTRY_PARAMETER, UnknownCountry, country_code


def _without_country(url: str) -> str:
    # The new choice must show: a ?country= left in the address would override it.
    parts = urlsplit(url)
    query = QueryDict(parts.query, mutable=True)
    query.pop(COUNTRY_PARAMETER, None)
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


@require_POST
def set_country(request: HttpRequest) -> HttpResponseRedirect | HttpResponseBadRequest:
    """The country selector: remembers the choice in a cookie, as set_language does."""
    try:
        code = country_code(request.POST.get(COUNTRY_PARAMETER, ""))
    except UnknownCountry as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(_without_country(next_url))
    response.set_cookie(
        settings.COUNTRY_COOKIE_NAME,
        code or "all",
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
