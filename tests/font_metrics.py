"""Advance widths read straight from a TrueType file (its cmap, head, hhea and hmtx tables),
so the badge's width table (outages/badge_font.py) can be checked against the font itself.

Run as a script to print the table: python -m tests.font_metrics [path]"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _tables(data: bytes) -> dict[bytes, bytes]:
    count = struct.unpack_from(">H", data, 4)[0]
    tables = {}
    for index in range(count):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * index)
        tables[tag] = data[offset : offset + length]
    return tables


def _glyph_ids(cmap: bytes) -> dict[int, int]:
    """Code point -> glyph id from the Unicode BMP subtable (format 4)."""
    count = struct.unpack_from(">H", cmap, 2)[0]
    for index in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", cmap, 4 + 8 * index)
        if (platform, encoding) in {(3, 1), (0, 3)} and struct.unpack_from(">H", cmap, offset)[0] == 4:
            break
    else:
        raise ValueError("no Unicode BMP cmap subtable")
    segments = struct.unpack_from(">H", cmap, offset + 6)[0] // 2
    ends = offset + 14
    starts = ends + 2 * segments + 2
    deltas = starts + 2 * segments
    range_offsets = deltas + 2 * segments
    ids = {}
    for segment in range(segments):
        end = struct.unpack_from(">H", cmap, ends + 2 * segment)[0]
        start = struct.unpack_from(">H", cmap, starts + 2 * segment)[0]
        delta = struct.unpack_from(">h", cmap, deltas + 2 * segment)[0]
        range_offset = struct.unpack_from(">H", cmap, range_offsets + 2 * segment)[0]
        for code in range(start, min(end, 0xFFFE) + 1):
            if range_offset == 0:
                glyph = (code + delta) & 0xFFFF
            else:
                at = range_offsets + 2 * segment + range_offset + 2 * (code - start)
                glyph = struct.unpack_from(">H", cmap, at)[0]
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:
                ids[code] = glyph
    return ids


def advance_widths(path: Path, *, size: float) -> dict[str, float]:
    """Each character the font maps, with its advance width in pixels at `size` px."""
    tables = _tables(path.read_bytes())
    units_per_em = struct.unpack_from(">H", tables[b"head"], 18)[0]
    metrics = struct.unpack_from(">H", tables[b"hhea"], 34)[0]
    advances = [struct.unpack_from(">H", tables[b"hmtx"], 4 * index)[0] for index in range(metrics)]
    return {
        chr(code): advances[min(glyph, metrics - 1)] * size / units_per_em
        for code, glyph in _glyph_ids(tables[b"cmap"]).items()
    }


if __name__ == "__main__":
    from outages.badge_font import CHARACTERS, FONT_SIZE

    widths = advance_widths(Path(sys.argv[1]) if len(sys.argv) > 1 else DEJAVU_SANS, size=FONT_SIZE)
    print(", ".join(f"{widths[character]:.2f}" for character in CHARACTERS))
