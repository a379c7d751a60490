"""The device cookie: a first-party token that tells apart people behind one shared address.

The service page gives each browser a random id in the signed cookie `dr_device`
(django.core.signing, under SECRET_KEY and this module's salt); the web form and the report
API read it back. A forged or altered cookie fails its signature and is ignored: the report
counts as if it had none. The id is never stored: reports.hashing folds it into one of
REPORT_DEVICES_PER_ADDRESS slots of its address, and only the slot's keyed hash is kept, so a
client that cycles cookies gains at most that many votes on one address. It counts only on a
shared address (geo.carriers.is_shared); everywhere else one address is one vote, as before.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

COOKIE = "dr_device"
_SALT = "reports.devices"
_MAX_AGE_SECONDS = 365 * 86400
_ID = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)


def _signer() -> signing.TimestampSigner:
    return signing.get_cookie_signer(salt=_SALT)


def device_sign(device: str) -> str:
    """The cookie's value for a device id, as the service page sets it."""
    return _signer().sign(device)


def device_unsign(value: str | None) -> str | None:
    """The device id of a well-signed cookie value, else None (none, forged, or malformed)."""
    if not value:
        return None
    try:
        device = _signer().unsign(value, max_age=_MAX_AGE_SECONDS)
    except signing.BadSignature:  # SignatureExpired too
        return None
    return device if _ID.fullmatch(device) else None


def device_of(request: HttpRequest) -> str | None:
    """The device id of the request's cookie, or None."""
    return device_unsign(request.COOKIES.get(COOKIE))


def device_cookie_set(request: HttpRequest, response: HttpResponse) -> None:
    """Give the browser a device id unless it already holds a good one."""
    if device_of(request) is not None:
        return
    response.set_cookie(
        COOKIE,
        device_sign(secrets.token_urlsafe(16)),
        max_age=_MAX_AGE_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
