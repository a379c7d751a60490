"""A real SMTP server for a test (aiosmtpd on a free port), with Django's SMTP backend
pointed at it: one that takes mail, one that refuses it (`Inbox.refusing`), and a blackhole
that accepts connections and never says a word."""

from __future__ import annotations

import email
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        # While set, every message is refused with a permanent error, as a server that
        # will not take our mail (blocklisted, over quota) answers.
        self.refusing = False
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refusing:
            self.refused += 1
            return "554 5.7.1 Message refused"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Message]:
        """The first `count` messages, once that many have arrived (mail may be sent by
        another thread, such as the live server's)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} messages arrived"
        return self.messages[:count]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def use_smtp_server(settings, port: int, *, site_url: str) -> None:
    """Point Django's SMTP backend at 127.0.0.1:port."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = site_url


@contextmanager
def smtp_inbox(settings, *, site_url: str, port: int | None = None) -> Iterator[Inbox]:
    port = port or free_port()
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    use_smtp_server(settings, port, site_url=site_url)
    try:
        yield handler
    finally:
        controller.stop()


class Blackhole:
    """Accepts every connection and never says a word (no SMTP greeting) until closed: a
    mail server that has hung, or a firewall that swallows the traffic. Holds each
    connection for `hold` seconds at most, so a client without a timeout fails late with
    another error instead of hanging the test for ever."""

    def __init__(self, *, hold: float = 5.0) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.hold = hold
        self.accepted = 0
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._hold, args=(connection,), daemon=True).start()

    def _hold(self, connection: socket.socket) -> None:
        self.done.wait(self.hold)
        connection.close()

    def close(self) -> None:
        self.done.set()
        self.socket.close()


@contextmanager
def smtp_blackhole(settings, *, site_url: str, hold: float = 5.0) -> Iterator[Blackhole]:
    server = Blackhole(hold=hold)
    use_smtp_server(settings, server.port, site_url=site_url)
    try:
        yield server
    finally:
        server.close()


def body_of(message: Message) -> str:
    return message.get_payload(decode=True).decode()


def link_in(message: Message, site_url: str, path: str) -> str:
    """The first link to `path`<token>/ in the message's body, as sent."""
    return re.search(rf"{re.escape(site_url)}{path}[A-Za-z0-9_-]+/", body_of(message))[0]
