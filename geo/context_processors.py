from __future__ import annotations

from django.http import HttpRequest

from geo.lookup import database_is_bundled


def geolocation_attribution(request: HttpRequest) -> dict[str, bool]:
    # DB-IP's CC BY 4.0 licence asks pages showing its data to credit it.
    return {"show_dbip_attribution": database_is_bundled()}
