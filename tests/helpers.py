"""Small helpers shared by tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from django.test import Client

MILAN_IP = "93.56.1.1"
SYDNEY_IP = "1.1.1.1"
MOUNTAIN_VIEW_IP = "8.8.8.8"
BOLOGNA_IP = "2.37.197.1"


def post_report(client: Client, body: Any, *, ip: str = MILAN_IP, **extra) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/api/v1/reports/", data, content_type="application/json", REMOTE_ADDR=ip, **extra)


def wait_until(condition: Callable[[], object], *, timeout: float, step: float = 0.05) -> bool:
    """Whether `condition()` came true within `timeout` seconds, asked every `step`: how a
    test waits for another thread or process (never a fixed sleep that hopes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def live_server_warm_up() -> None:
    """What config/wsgi.py does before gunicorn serves, for a live server that runs in the
    test's process: build the gazetteer index and load the tables once here, not in every
    request thread at once (on a busy machine they time out)."""
    import ipaddress

    from geo.gazetteer import match_city
    from geo.lookup import locate
    from geo.operators import warm_up as operators_warm_up

    match_city("Milan", "IT", None, None)
    operators_warm_up()
    locate(ipaddress.ip_address(MILAN_IP))
