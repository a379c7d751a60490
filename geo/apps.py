from __future__ import annotations

from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "geo"
    verbose_name = "Places and IP addresses"

    def process_caches_clear(self) -> None:
        """Forget the rows this app's modules keep in memory between requests (the cities
        seen). The geo databases' readers and the gazetteer are files loaded once, not rows:
        they stay.

        The one reset hook for module-level caches: each app clears its own here, and
        tests/conftest.py calls it for every app around each test, since a test's rollback
        deletes the rows they hold."""
        from geo.services import city_cache_clear

        city_cache_clear()
