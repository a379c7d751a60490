"""The maps' country outlines, drawn without bands across the world, each with its ISO code.

Natural Earth cuts the countries that cross the 180° meridian (Russia's Chukotka, Fiji): a
ring runs to 180 and goes on from -180. Leaflet joins such points with a straight line across
the whole map, so those rings are unwrapped here instead: longitudes past the meridian go on
beyond 180 (or below -180), and each part of a country sits next to its largest part.
Each outline also gets its country's ISO 3166-1 alpha-2 code (`properties.iso`, from the
atlas' numeric id), so a map can open on the selected country even before it has reports.

Run once on the shipped file, after converting it (see outages/static/vendor/README.md):

    python -m outages.map_outlines outages/static/downradar/geo/countries-110m.geojson
"""

from __future__ import annotations

import json
import sys
from itertools import pairwise
from pathlib import Path

from django_countries.data import ALT_CODES

Ring = list[list[float]]
Polygon = list[Ring]

TURN = 360
# ISO 3166-1 numeric -> alpha-2: the world atlas names countries by number ("380" is Italy).
ALPHA2_OF_NUMERIC = {numeric: alpha2 for alpha2, (_, numeric) in ALT_CODES.items()}


def _moved(ring: Ring, turns: list[int]) -> Ring:
    # A point that is not moved keeps its value exactly, so an outline already continuous
    # is written back byte for byte.
    return [
        [round(lon + TURN * k, 2), lat] if k else [lon, lat]
        for (lon, lat), k in zip(ring, turns, strict=True)
    ]


def continuous_ring(ring: Ring) -> Ring:
    """The ring with no step of more than 180° in longitude. A ring around a pole (it steps
    a whole turn to close, Antarctica's) is left as it is: it has no other drawing."""
    turns = [0]
    for (before, _), (lon, _) in pairwise(ring):
        step = lon - before
        turns.append(turns[-1] - (step > TURN / 2) + (step < -TURN / 2))
    if turns[-1] != turns[0]:
        return ring
    return _moved(ring, turns)


def _middle(polygon: Polygon) -> float:
    outer = polygon[0]
    return (min(lon for lon, _ in outer) + max(lon for lon, _ in outer)) / 2


def _shifted(polygon: Polygon, turns: int) -> Polygon:
    return [_moved(ring, [turns] * len(ring)) for ring in polygon] if turns else polygon


def _turns_towards(middle: float, target: float) -> int:
    """Whole turns that bring `middle` within half a turn of `target`."""
    return round((target - middle) / TURN)


def continuous_polygons(polygons: list[Polygon]) -> list[Polygon]:
    """Each polygon's rings unwrapped, the polygon moved by whole turns so that its middle is
    on the map (-180 to 180), then every other polygon moved next to the largest one."""
    placed = []
    for polygon in polygons:
        unwrapped = [continuous_ring(ring) for ring in polygon]
        placed.append(_shifted(unwrapped, _turns_towards(_middle(unwrapped), 0)))
    largest = max(placed, key=lambda polygon: len(polygon[0]))
    anchor = _middle(largest)
    return [_shifted(polygon, _turns_towards(_middle(polygon), anchor)) for polygon in placed]


def continuous_geometry(geometry: dict | None) -> dict | None:
    """A GeoJSON Polygon or MultiPolygon with continuous longitudes (see the module)."""
    if geometry is None:
        return None
    if geometry["type"] == "Polygon":
        return {**geometry, "coordinates": continuous_polygons([geometry["coordinates"]])[0]}
    if geometry["type"] == "MultiPolygon":
        return {**geometry, "coordinates": continuous_polygons(geometry["coordinates"])}
    return geometry


def country_code_of(feature: dict) -> str | None:
    """The outline's ISO alpha-2 code; None for places without one (Kosovo, N. Cyprus)."""
    number = str(feature.get("id") or "")
    return ALPHA2_OF_NUMERIC.get(int(number)) if number.isdigit() else None


def drawable_outlines(collection: dict) -> dict:
    """The outlines as the maps load them: continuous longitudes and an ISO code each."""
    features = []
    for feature in collection["features"]:
        properties = {**feature["properties"], "iso": country_code_of(feature)}
        geometry = continuous_geometry(feature["geometry"])
        features.append({**feature, "properties": properties, "geometry": geometry})
    return {**collection, "features": features}


def main(path: str) -> None:
    source = Path(path)
    outlines = drawable_outlines(json.loads(source.read_text(encoding="utf-8")))
    source.write_text(json.dumps(outlines, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
