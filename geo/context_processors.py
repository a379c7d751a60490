from __future__ import annotations

from django.http import HttpRequest

from geo.countries import UnknownCountry, country_name, page_country, selectable_countries
from geo.lookup import database_is_bundled
from geo.operators import table_in_use


def geolocation_attribution(request: HttpRequest) -> dict[str, bool]:
    # The CC BY 4.0 licences of DB-IP's city data and of the ASN table's sources (RouteViews,
    # the NRO, DB-IP) ask pages showing or using their data to credit them.
    return {"show_dbip_attribution": database_is_bundled(), "show_asn_attribution": table_in_use()}


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
