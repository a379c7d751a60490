"""What a site owner copies to show a service's status: the widget in an iframe and the badge,
as HTML and as Markdown, with absolute addresses (the embed code page shows them).

Plain functions on addresses and words: the view resolves the URLs, these only quote them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.html import format_html

# The widget's frame: outages/templates/outages/embed.html is laid out to fit it in every
# language (tests/browser/test_embed_browser.py checks that nothing overflows).
WIDGET_WIDTH = 400
WIDGET_HEIGHT = 120


@dataclass(frozen=True, slots=True)
class EmbedSnippets:
    iframe_html: str
    badge_html: str
    badge_markdown: str


def _markdown_text(text: str) -> str:
    # Brackets and backslashes would end or bend the image's alt text.
    return re.sub(r"([\\\[\]])", r"\\\1", text)


def _markdown_url(url: str) -> str:
    # A space or a parenthesis would end the link target early.
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def embed_snippets(*, widget_url: str, badge_url: str, page_url: str, title: str) -> EmbedSnippets:
    """The snippets for a service whose widget, badge and page are at these absolute URLs;
    `title` names the iframe and is the badge's alt text ("ChatGPT status on Downradar")."""
    iframe_html = format_html(
        '<iframe src="{}" width="{}" height="{}" title="{}" style="border:0" loading="lazy"></iframe>',
        widget_url,
        WIDGET_WIDTH,
        WIDGET_HEIGHT,
        title,
    )
    badge_html = format_html('<a href="{}"><img src="{}" alt="{}"></a>', page_url, badge_url, title)
    badge_markdown = f"[![{_markdown_text(title)}]({_markdown_url(badge_url)})]({_markdown_url(page_url)})"
    return EmbedSnippets(
        iframe_html=str(iframe_html), badge_html=str(badge_html), badge_markdown=badge_markdown
    )
