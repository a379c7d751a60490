from __future__ import annotations

from django.apps import AppConfig


class OutagesConfig(AppConfig):
    name = "outages"
    verbose_name = "Services, baselines and incidents"

    def process_caches_clear(self) -> None:
        """Forget the rows this app's modules keep in memory between requests (the decoded profiles).

        The one reset hook for module-level caches: each app clears its own here, and
        tests/conftest.py calls it for every app around each test, since a test's rollback
        deletes the rows they hold."""
        from outages.baselines import profile_cache_clear

        profile_cache_clear()
