from __future__ import annotations

from django.http import HttpRequest

from geo.countries import UnknownCountry, country_name, page_country, selectable_countries
from geo.lookup import database_is_bundled


def geolocation_attribution(request: HttpRequest) -> dict[str, bool]:
    # DB-IP's CC BY 4.0 licence asks pages showing its data to credit it.
    return {"show_dbip_attribution": database_is_bundled()}


def country_selector(request: HttpRequest) -> dict:
    """The country the page is shown for (a bad ?country= is the view's to refuse) and the
    selector's choices."""
    try:
        code = page_country(request)
    except UnknownCountry:
        code = ""
    return {
        "selected_country": code,
        "selected_country_name": country_name(code),
        "country_choices": selectable_countries(code),
    }
