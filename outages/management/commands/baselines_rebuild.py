from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from catalogue.models import Service
from outages.baselines import baselines_rebuild


class Command(BaseCommand):
    help = "Rebuild the seasonal baselines now (beat also does it nightly)."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="services to rebuild (default: every active one)")

    def handle(self, *args, slugs: list[str], **options):
        service_ids = None
        if slugs:
            found = dict(Service.objects.filter(slug__in=slugs).values_list("slug", "pk"))
            missing = sorted(set(slugs) - set(found))
            if missing:
                raise CommandError(f"Unknown services: {', '.join(missing)}")
            service_ids = list(found.values())
        stored = baselines_rebuild(service_ids=service_ids, now=timezone.now())
        self.stdout.write(f"{stored} baselines stored")
