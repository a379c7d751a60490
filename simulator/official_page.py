"""The demo's official status page: an Atlassian Statuspage summary (/api/v2/summary.json)
on loopback, served by the crowd process beside its reports, saying what
simulator.demo.official_indicator says at the crowd's own clock. `make run` lets
outages.official poll it (OFFICIAL_STATUS_ALLOW_LOOPBACK=true). Standard library only."""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = "/api/v2/summary.json"
# Where `make run`'s crowd serves it, and the address demo_data gives ChatGPT.
DEMO_OFFICIAL_PORT = 8010
DESCRIPTIONS = {"none": "All Systems Operational", "major": "Partial System Outage"}

Indicator = Callable[[], tuple[str, datetime]]


def official_page_url(port: int, *, summary: bool = True) -> str:
    """The page's address: its JSON (what is polled), or the page people read."""
    return f"http://127.0.0.1:{port}{PATH if summary else '/'}"


def summary_json(indicator: str, updated_at: datetime, *, name: str) -> bytes:
    return json.dumps(
        {
            "page": {
                "id": "downradar-demo",
                "name": name,
                "url": "http://127.0.0.1/",
                "updated_at": updated_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            },
            "status": {"indicator": indicator, "description": DESCRIPTIONS.get(indicator, indicator)},
            "components": [],
            "incidents": [],
        }
    ).encode()


def official_page_serve(*, host: str, port: int, name: str, state: Indicator) -> ThreadingHTTPServer:
    """Serve the page in a daemon thread until the process ends (or .shutdown()); an OSError
    if the port is taken."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            indicator, updated_at = state()
            if self.path == PATH:
                body, content_type = summary_json(indicator, updated_at, name=name), "application/json"
            elif self.path == "/":
                words = html.escape(DESCRIPTIONS.get(indicator, indicator))
                body = f"<!doctype html><title>{html.escape(name)} status (demo)</title><h1>{words}</h1>".encode()
                content_type = "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass  # a request a minute from the poller: nothing worth a line

    server = ThreadingHTTPServer((host, port), Page)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="official-page", daemon=True).start()
    return server
