from __future__ import annotations

from django import template

from reports.waits import wait_text

register = template.Library()
register.filter("wait_text", wait_text)
