from __future__ import annotations

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("downradar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _logging_from_settings(**kwargs) -> None:
    """Workers and beat log through settings.LOGGING (LOG_FORMAT, addresses redacted)
    instead of Celery's own handler."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
