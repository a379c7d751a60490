from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports and counts"

    def process_caches_clear(self) -> None:
        """Forget the rows this app's modules keep in memory between requests (the day's salt).

        The one reset hook for module-level caches: each app clears its own here, and
        tests/conftest.py calls it for every app around each test, since a test's rollback
        deletes the rows they hold."""
        from reports.hashing import salt_cache_clear

        salt_cache_clear()
