"""Failed logins are limited (django-ratelimit on the cache), for the site's login and the admin's.

Only failures count: a wrong password, or a wrong second-factor code. While a budget is spent,
every attempt it covers answers 429 with Retry-After until its window ends, the right password
included, or the budget would tell a guesser when it hit.

From a browser the account has signed in from before (a "known device": a signed cookie bound
to the account's name, set on each successful login, kept LOGIN_KNOWN_DEVICE_DAYS), failures
have one budget of their own, per (name, device). Anywhere else three budgets apply: per client
address (one guesser trying many names), per (name, address) (one guesser on one account), and
per name (many addresses sharing one account's guesses). Guesses from elsewhere can spend the
name's budget, which stops them, but never the owner's device budget: the owner keeps signing
in from their own browser while someone else hammers their name.

Counters are read before the password is checked and raised after it failed, so requests that
run at the same moment may each pass the check: a budget can be overshot by as many attempts
as the server runs at once. The cache fails open (see CACHES): a Redis outage lets people log
in rather than locking everyone out. Keys are HMACs: no address or name is kept in clear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django_ratelimit.core import get_usage

from geo.ip import client_ip
from reports.hashing import rate_limit_key

logger = logging.getLogger(__name__)

# Generous for a person who mistypes, far too few for a dictionary.
PER_CLIENT_RATE = "10/15m"
PER_NAME_AND_CLIENT_RATE = "5/15m"
PER_NAME_RATE = "30/h"
PER_KNOWN_DEVICE_RATE = "10/15m"

KNOWN_DEVICE_COOKIE = "downradar_device"
_KNOWN_DEVICE_SALT = "config.login_limit.known-device"


def login_username(username: str) -> str:
    """The account a login attempt is for, as Django's authentication sees it: the login form
    strips whitespace and normalises to NFKC (AbstractBaseUser.normalize_username), so
    "rtstaff ", "rtstaff" in fullwidth letters and "rtstaff" are one account and must share one budget;
    casefolded as well, so case variants cannot buy more guesses either."""
    return AbstractBaseUser.normalize_username(username.strip()).casefold()


def _name_key(username: str) -> str:
    # The limiter's cache keys and the device cookie must not hold a username in clear either.
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"login|{login_username(username)}".encode(), hashlib.sha256
    )
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class LoginAttempt:
    """Who is trying which account, as the budgets key it."""

    client: str
    name: str | None  # None when no name was given
    device: str | None  # the known device's id, when its cookie is for this name

    def budgets(self) -> list[tuple[str, str, str]]:
        """(group, key, rate) of each budget this attempt draws on."""
        if self.name is not None and self.device is not None:
            return [("login-device", f"{self.name}|{self.device}", PER_KNOWN_DEVICE_RATE)]
        budgets = [("login-client", self.client, PER_CLIENT_RATE)]
        if self.name is not None:
            budgets += [
                ("login-name-client", f"{self.name}|{self.client}", PER_NAME_AND_CLIENT_RATE),
                ("login-name", self.name, PER_NAME_RATE),
            ]
        return budgets


def _known_device(request: HttpRequest) -> tuple[str, str] | None:
    """(name key, device id) from a valid known-device cookie."""
    value = request.get_signed_cookie(
        KNOWN_DEVICE_COOKIE,
        default=None,
        salt=_KNOWN_DEVICE_SALT,
        max_age=dt.timedelta(days=settings.LOGIN_KNOWN_DEVICE_DAYS),
    )
    if not value or value.count(":") != 1:
        return None
    name, device = value.split(":")
    return name, device


def login_attempt(request: HttpRequest, username: str) -> LoginAttempt:
    address = client_ip(request)
    client = rate_limit_key(address) if address is not None else "unknown-client"
    if not username.strip():
        return LoginAttempt(client=client, name=None, device=None)
    name = _name_key(username)
    known = _known_device(request)
    device = known[1] if known is not None and hmac.compare_digest(known[0], name) else None
    return LoginAttempt(client=client, name=name, device=device)


def _usages(request: HttpRequest, attempt: LoginAttempt, *, increment: bool) -> list[tuple[str, dict]]:
    usages = []
    for group, key, rate in attempt.budgets():
        usage = get_usage(
            request, group=group, key=lambda _group, _request, key=key: key, rate=rate, increment=increment
        )
        if usage is not None:  # None: the cache is down, and the limit fails open
            usages.append((group, usage))
    return usages


def login_refusal(request: HttpRequest, attempt: LoginAttempt) -> HttpResponse | None:
    """The 429 page, with Retry-After, when a budget of this attempt is spent; None when it may go ahead."""
    waits = [
        (group, max(1, usage["time_left"]))
        for group, usage in _usages(request, attempt, increment=False)
        if usage["count"] >= usage["limit"]
    ]
    if not waits:
        return None
    group, wait = max(waits, key=lambda spent: spent[1])
    logger.warning("login refused: the %s budget is spent for %d s more", group, wait)
    response = render(request, "429.html", {"retry_after": wait}, status=429)
    response["Retry-After"] = str(wait)
    return response


def login_failure_record(request: HttpRequest, attempt: LoginAttempt) -> None:
    _usages(request, attempt, increment=True)


def known_device_remember(request: HttpRequest, response: HttpResponseBase, username: str) -> None:
    """After a successful login: this browser is a known device for this account from now on
    (it keeps its id when it already was one for it)."""
    name = _name_key(username)
    known = _known_device(request)
    device = known[1] if known is not None and hmac.compare_digest(known[0], name) else secrets.token_hex(16)
    response.set_signed_cookie(
        KNOWN_DEVICE_COOKIE,
        f"{name}:{device}",
        salt=_KNOWN_DEVICE_SALT,
        max_age=settings.LOGIN_KNOWN_DEVICE_DAYS * 24 * 3600,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
