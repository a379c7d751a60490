"""What a shared cache (a CDN, a proxy) may keep of a public response, and what it must key
the copy on.

The language of every page, badge, feed and API answer is picked by Accept-Language or by
the switcher's cookie (LocaleMiddleware reads the cookie first). A cache told to vary on
Accept-Language only would hand a copy chosen by one reader's cookie to everyone sending
the same Accept-Language: "Possibili problemi" to English readers. So everything that
varies by language varies on Cookie too. The country of a cacheable answer comes from its
URL (?country=), never a cookie or the client's address.
"""

from __future__ import annotations

from typing import TypeVar

from django.http import HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers

Response = TypeVar("Response", bound=HttpResponseBase)

# Every request header that can pick a response's language.
LANGUAGE_CHOOSERS = ("Accept-Language", "Cookie")


def vary_on_language(response: HttpResponseBase) -> None:
    patch_vary_headers(response, LANGUAGE_CHOOSERS)


def public_cache(response: Response, *, max_age: int) -> Response:
    """Let shared caches keep the response for max_age seconds, one copy per language choice."""
    patch_cache_control(response, public=True, max_age=max_age)
    vary_on_language(response)
    return response
