"""Login attempts are limited (django-ratelimit on the cache), for the review login and the admin's.

Two budgets, both counted on every POST to a login form: one per client (its address, or its
IPv6 /64, as an HMAC like the report budget) against one guesser trying many passwords, and
one per username against many guessers sharing one account's passwords. A spent budget
answers 429 with Retry-After until its window ends; the right password is refused too
meanwhile, or the budget would let a guesser learn when it hit. The cache fails open
(see CACHES), so a Redis outage lets people log in rather than locking everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django_ratelimit.core import get_usage

from geo.ip import client_ip
from reports.hashing import rate_limit_key

# Generous for a person who mistypes, far too few for a dictionary.
PER_CLIENT_RATE = "10/15m"
PER_USERNAME_RATE = "30/h"


def login_username(username: str) -> str:
    """The account a login attempt is for, as Django's authentication sees it: the login form
    strips whitespace and normalises to NFKC (AbstractBaseUser.normalize_username), so
    "rtstaff ", "rtstaff" in fullwidth letters and "rtstaff" are one account and must share one budget;
    casefolded as well, so case variants cannot buy more guesses either."""
    return AbstractBaseUser.normalize_username(username.strip()).casefold()


def _username_key(username: str) -> str:
    # The limiter's cache key must not hold a username in clear either.
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"login|{login_username(username)}".encode(), hashlib.sha256
    )
    return digest.hexdigest()[:32]


def _retry_after(request: HttpRequest) -> int | None:
    """Count this attempt against both budgets; seconds to wait when either is spent."""
    address = client_ip(request)
    client = rate_limit_key(address) if address is not None else "unknown-client"
    budgets = [("login-client", client, PER_CLIENT_RATE)]
    username = request.POST.get("username", "")
    if username.strip():
        budgets.append(("login-username", _username_key(username), PER_USERNAME_RATE))
    waits = []
    for group, key, rate in budgets:
        usage = get_usage(
            request, group=group, key=lambda _group, _request, key=key: key, rate=rate, increment=True
        )
        if usage is not None and usage["should_limit"]:
            waits.append(max(1, usage["time_left"]))
    return max(waits) if waits else None


def login_rate_limited(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            retry_after = _retry_after(request)
            if retry_after is not None:
                response = render(request, "429.html", {"retry_after": retry_after}, status=429)
                response["Retry-After"] = str(retry_after)
                return response
        return view(request, *args, **kwargs)

    return limited
