from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from outages.official.services import official_poll, official_sources_due


@shared_task(name="outages.official.tasks.official_poll_due")
def official_poll_due() -> int:
    """Beat runs this every minute: one poll task per official page that is due (each
    claims its page, so a task queued twice fetches it once)."""
    due = official_sources_due(now=timezone.now())
    for service_id in due:
        official_poll_one.delay(service_id)
    return len(due)


@shared_task(name="outages.official.tasks.official_poll")
def official_poll_one(service_id: int) -> str:
    return official_poll(service_id=service_id, now=timezone.now())
