from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Before gunicorn forks (preload_app) and before the first request, not during it.
from geo.gazetteer import warm_up  # noqa: E402

warm_up()
