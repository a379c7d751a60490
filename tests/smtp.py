"""A real SMTP server for a test (aiosmtpd on a free port), with Django's SMTP backend
pointed at it."""

from __future__ import annotations

import email
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
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


@contextmanager
def smtp_inbox(settings, *, site_url: str) -> Iterator[Inbox]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = site_url
    try:
        yield handler
    finally:
        controller.stop()


def body_of(message: Message) -> str:
    return message.get_payload(decode=True).decode()


def link_in(message: Message, site_url: str, path: str) -> str:
    """The first link to `path`<token>/ in the message's body, as sent."""
    return re.search(rf"{re.escape(site_url)}{path}[A-Za-z0-9_-]+/", body_of(message))[0]
