"""What the outbox's tests share: a real webhook receiver, and Celery tasks run here and now."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from config.celery import app as celery_app


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.path, self.headers["Content-Type"], body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.end_headers()
        echo = self.server.echo and body.get("type") == "url_verification"
        self.wfile.write(body["challenge"].encode() if echo else b"ok")

    def log_message(self, *args):
        pass


@contextmanager
def webhook_receiver() -> Iterator[ThreadingHTTPServer]:
    """A real HTTP server on 127.0.0.1 that records what it is sent (`received`: path,
    content type, JSON body); `statuses` are its next answers (200 once they run out); with
    `echo` it answers a handshake's challenge."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []
    server.statuses = []
    server.echo = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def eager_celery() -> Iterator[None]:
    """Tasks queued (after commit) run here and now, as a worker would run them."""
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False
