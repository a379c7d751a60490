from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from catalogue.icons import icon_svg

register = template.Library()


@register.simple_tag
def service_icon(service, size: int = 32) -> SafeString:
    return icon_svg(name=service.name, slug=service.slug, size=size)
