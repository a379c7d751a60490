"""The one sparkline: a small series drawn as SVG polyline points. The home page draws each
service's last 24 clock hours with it (static/downradar/js/home.js redraws them the same way
every minute), the review queue an incident's reports against its baseline."""

from __future__ import annotations

from collections.abc import Sequence

# Home's sparkline, as outages/templates/outages/home.html and home.js size it.
HOME_WIDTH, HOME_HEIGHT = 120, 28
# Space kept free above the highest point and below zero, in pixels.
_MARGIN = 2


def sparkline_step(count: int, *, width: float) -> float:
    """The horizontal distance between two of `count` points spread across `width`."""
    return width / max(count - 1, 1)


def sparkline_top(*series: Sequence[float | None]) -> float:
    """The value drawn at the top: the largest in the series, at least 1 (a quiet series
    stays flat at the bottom rather than filling the height)."""
    return max([1, *(value for values in series for value in values if value is not None)])


def sparkline_points(
    values: Sequence[float | None], *, width: float, height: float, top: float | None = None
) -> str:
    """SVG polyline points for `values` across `width` and up `height`, with `top` (default
    sparkline_top of the values; give one to draw several series on one scale) at the top.
    A None is left out: the line joins its neighbours."""
    if top is None:
        top = sparkline_top(values)
    step = sparkline_step(len(values), width=width)
    return " ".join(
        f"{index * step:.1f},{height - _MARGIN - (height - 2 * _MARGIN) * value / top:.1f}"
        for index, value in enumerate(values)
        if value is not None
    )
