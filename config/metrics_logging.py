"""Log records without client addresses, as plain text or one JSON object a line.

Nothing in Downradar logs an address on purpose; this filter is the safety net for
messages from libraries (a connection error quoting a peer, a third-party warning): IPv4
and IPv6 addresses in a record's message and arguments are replaced before any handler
formats it.
"""

from __future__ import annotations

import ipaddress
import logging
import re

REDACTED = "[address]"
_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"
_IPV6 = r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"
_CANDIDATE = re.compile(f"{_IPV4}|{_IPV6}")


def _redact(text: str) -> str:
    def replace(match: re.Match) -> str:
        try:
            ipaddress.ip_address(match.group(0))
        except ValueError:
            return match.group(0)  # a time like 12:30:00 or a version, not an address
        return REDACTED

    return _CANDIDATE.sub(replace, text)


class NoAddressesFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = _redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
