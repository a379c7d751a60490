"""The page's canonical address, for <link rel="canonical"> and og:url."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template

register = template.Library()

# Parameters that make a different page (a country's figures, a search, a filter, a page of the
# list); anything else in the address (tracking tags, a stray parameter) is the same page.
CANONICAL_PARAMETERS = ("q", "country", "service", "category", "date", "ongoing", "minutes", "page")


@register.simple_tag(takes_context=True)
def canonical_url(context) -> str:
    request = context.get("request")
    if request is None:
        return ""
    kept = [(name, request.GET[name]) for name in CANONICAL_PARAMETERS if request.GET.get(name)]
    query = f"?{urlencode(kept)}" if kept else ""
    return request.build_absolute_uri(request.path) + query
