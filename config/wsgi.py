from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Before gunicorn forks (preload_app) and before the first request, not during it.
from geo.gazetteer import warm_up  # noqa: E402
from geo.operators import warm_up as operators_warm_up  # noqa: E402

warm_up()
operators_warm_up()

# Everything loaded so far (Django, the gazetteer's index) lives as long as the process:
# keep it out of the garbage collector's full passes, which otherwise walk it every time
# and add tens of milliseconds to an unlucky request.
import gc  # noqa: E402

gc.freeze()
