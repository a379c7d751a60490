"""Log records and error reports without client addresses or raw Host values, as plain
text or one JSON object a line.

Nothing in Downradar logs an address on purpose; this is the safety net for messages from
libraries (a connection error quoting a peer, a third-party warning) and for tracebacks:
IPv4 and IPv6 addresses are replaced in a record's message, its traceback (exc_info,
exc_text) and its stack (stack_info) before any handler formats it.

A request's Host header is the client's to choose: Django quotes it in DisallowedHost
("Invalid HTTP_HOST header: ...") and its traceback, and an error report prints it as the
request's URL. So while a request is being answered (RequestIdentifiersMiddleware), the
values its client chose that name a host or an address (Host, X-Forwarded-Host,
X-Forwarded-For, Forwarded, X-Real-IP, REMOTE_ADDR, and SERVER_NAME, which gunicorn takes
from Host) are replaced wherever they appear too. Django's error reports (the debug page,
mail to ADMINS) go through the same redaction (RedactingExceptionReporter).
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponseBase
from django.utils.log import AdminEmailHandler
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

REDACTED = "[address]"
REDACTED_HOST = "[host]"
_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"
_IPV6 = r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"
_CANDIDATE = re.compile(f"{_IPV4}|{_IPV6}")

# request.META keys whose values the client chose and that name a host or an address.
CLIENT_CHOSEN_META = (
    "HTTP_HOST",
    "SERVER_NAME",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_FORWARDED",
    "HTTP_X_REAL_IP",
    "REMOTE_ADDR",
)

_PORT = re.compile(r"^\[?(?P<host>.*?)\]?:\d*$")

# The current request's META (None outside a request: Celery, commands); read only when a
# record is logged, so a request that logs nothing pays for no parsing.
_request_meta: ContextVar[Mapping[str, object] | None] = ContextVar("request_meta", default=None)


def client_chosen_values(meta: Mapping[str, object] | None) -> tuple[str, ...]:
    """The Host and address values of a request: each whole, each item of a list
    (X-Forwarded-For) and each host without its port (Django names the bare domain too),
    the longest first, so a value is replaced before any part of it."""
    values: set[str] = set()
    for key in CLIENT_CHOSEN_META if meta is not None else ():
        value = meta.get(key) if meta is not None else None
        if not isinstance(value, str) or not value.strip():
            continue
        for part in {value, *re.split(r"[,;]", value)}:
            part = part.strip()
            bare = _PORT.match(part)
            values.update(item for item in (part, bare and bare["host"]) if item)
    return tuple(sorted(values, key=len, reverse=True))


def _spellings(value: str) -> set[str]:
    # As given, as repr() shows it (Django's messages quote the Host with %r), as HTML shows it.
    quoted = repr(value)[1:-1]
    both_quotes = quoted.replace("'", "\\'")  # repr of a text holding ' and "
    return {value, quoted, both_quotes, *(html.escape(spelling) for spelling in (value, quoted))}


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def _redact_addresses(text: str) -> str:
    def replace(match: re.Match) -> str:
        try:
            ipaddress.ip_address(match.group(0))
        except ValueError:
            return match.group(0)  # a time like 12:30:00 or a version, not an address
        return REDACTED

    return _CANDIDATE.sub(replace, text)


def redact(text: str, values: Iterable[str] = ()) -> str:
    """The text without addresses and without any of `values` (a request's Host and
    address headers) standing on its own: `evil.example` goes, `evil.example.org` or a
    file called `a.py` for a Host of `a` stay."""
    for value in values:
        replacement = REDACTED if _is_address(value) else REDACTED_HOST
        for spelling in sorted(_spellings(value), key=len, reverse=True):
            pattern = rf"(?<![\w.-]){re.escape(spelling)}(?![\w-]|\.\w)"
            text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    return _redact_addresses(text)


class NoAddressesFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        values = client_chosen_values(_request_meta.get())
        message = record.getMessage()
        clean = redact(message, values)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatted here, once, as every formatter would (plain and JSON both fall back
            # to exc_text when exc_info is gone), so no handler formats the raw traceback.
            record.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, values)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, values)
        return True


class RequestIdentifiersMiddleware:
    """First in MIDDLEWARE: while a request is answered, log records and error reports know
    its client-chosen Host and address values, to replace them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = _request_meta.set(request.META)
        try:
            return self.get_response(request)
        finally:
            _request_meta.reset(token)


class RedactingReporterFilter(SafeExceptionReporterFilter):
    """Django's error report shows request.META: the Host and address headers are starred
    out as its secrets are."""

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, object]:
        meta = super().get_safe_request_meta(request)
        return {
            key: self.cleansed_substitute if key in CLIENT_CHOSEN_META else value
            for key, value in meta.items()
        }


class RedactingExceptionReporter(ExceptionReporter):
    """The report's URL, exception message and frame variables can quote the Host too
    (DisallowedHost does): the finished text and HTML are redacted as a log line is."""

    def _values(self) -> tuple[str, ...]:
        return client_chosen_values(getattr(self.request, "META", None) or _request_meta.get())

    def get_traceback_html(self) -> SafeString:
        # Safe still: a redaction only swaps escaped text for "[host]" or "[address]".
        return mark_safe(redact(super().get_traceback_html(), self._values()))

    def get_traceback_text(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_text(), self._values()))


class RedactingAdminEmailHandler(AdminEmailHandler):
    """Django's mail to ADMINS, whose subject and first lines are the record's message
    (DisallowedHost's names the Host); the report below them is RedactingExceptionReporter's."""

    def format_subject(self, subject: str) -> str:
        return super().format_subject(redact(subject, client_chosen_values(_request_meta.get())))

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), client_chosen_values(_request_meta.get()))
