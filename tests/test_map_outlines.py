"""The shipped country outlines (with their ISO codes), and the unwrapping that keeps Russia and Fiji from drawing
bands across the map (outages/map_outlines.py), on the real Natural Earth shapes."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from outages.map_outlines import continuous_geometry, continuous_ring, drawable_outlines

OUTLINES = Path(__file__).resolve().parents[1] / "outages/static/downradar/geo/countries-110m.geojson"


@pytest.fixture(scope="module")
def shipped() -> dict:
    return json.loads(OUTLINES.read_text(encoding="utf-8"))


def country(collection: dict, name: str) -> dict:
    return next(f["geometry"] for f in collection["features"] if f["properties"]["name"] == name)


def rings(geometry: dict) -> list[list[list[float]]]:
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return [ring for polygon in polygons for ring in polygon]


def widest_step(geometry: dict) -> float:
    return max(abs(b[0] - a[0]) for ring in rings(geometry) for a, b in pairwise(ring))


def longitudes(geometry: dict) -> list[float]:
    return [lon for ring in rings(geometry) for lon, _ in ring]


def wrapped(lon: float) -> float:
    return round((lon + 180) % 360 - 180, 2) if abs(lon) > 180 else lon


def as_natural_earth_cuts_it(geometry: dict) -> dict:
    """Every longitude back between -180 and 180, as Natural Earth (world-atlas) ships it."""
    polygons = geometry["coordinates"]
    return {
        **geometry,
        "coordinates": [
            [[[wrapped(lon), lat] for lon, lat in ring] for ring in polygon] for polygon in polygons
        ],
    }


@pytest.mark.parametrize(("name", "widest"), [("Russia", 175), ("Fiji", 4)])
def test_a_country_across_the_180th_meridian_becomes_one_continuous_shape(shipped, name, widest):
    cut = as_natural_earth_cuts_it(country(shipped, name))
    assert widest_step(cut) > 300  # the band Leaflet would draw across the map
    assert max(longitudes(cut)) - min(longitudes(cut)) > 350

    joined = continuous_geometry(cut)

    assert widest_step(joined) < 20
    assert max(longitudes(joined)) - min(longitudes(joined)) < widest
    # The larger part stays where it is; the part past the meridian goes on beyond 180.
    assert min(longitudes(joined)) > 0 and max(longitudes(joined)) > 180


def test_the_shipped_outlines_are_already_continuous(shipped):
    assert drawable_outlines(shipped) == shipped
    for name in ("Russia", "Fiji"):
        assert widest_step(country(shipped, name)) < 20, name
    assert (
        19 < min(longitudes(country(shipped, "Russia"))) < max(longitudes(country(shipped, "Russia"))) < 191
    )


def test_a_ring_around_the_pole_is_left_as_it_is(shipped):
    antarctica = country(shipped, "Antarctica")
    ring = max(rings(antarctica), key=len)

    assert continuous_ring(ring) == ring
    assert continuous_geometry(antarctica) == antarctica


def test_each_outline_carries_its_country_s_iso_code(shipped):
    codes = {f["properties"]["name"]: f["properties"]["iso"] for f in shipped["features"]}

    assert (codes["Italy"], codes["Russia"], codes["Fiji"], codes["United States of America"]) == (
        "IT",
        "RU",
        "FJ",
        "US",
    )
    assert codes["Kosovo"] is None  # no ISO 3166 code of its own
    assert sum(code is not None for code in codes.values()) == len(codes) - 3
