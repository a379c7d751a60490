from __future__ import annotations

from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Service catalogue"

    def process_caches_clear(self) -> None:
        """Forget the rows this app's modules keep in memory between requests (the intake's services).

        The one reset hook for module-level caches: each app clears its own here, and
        tests/conftest.py calls it for every app around each test, since a test's rollback
        deletes the rows they hold."""
        from catalogue.selectors import intake_cache_clear

        intake_cache_clear()
