"""The badge's font and how wide each character is in it: advance widths of DejaVu Sans Book
(2.37, Debian's fonts-dejavu-core) at 11 px, read from the font's own tables
(`python -m tests.font_metrics` prints them; tests/test_badges.py checks them against the
font). Sums of these give a text's width without a font engine, as shields.io does with
Verdana's."""

from __future__ import annotations

# DejaVu Sans first, the font the widths are of; a reader without it gets Verdana (a close
# relative) stretched or squeezed to the same width by the text's textLength.
FONT_FAMILY = "DejaVu Sans,Verdana,Geneva,sans-serif"
FONT_SIZE = 11

# Printable ASCII, Latin-1 (Italian's accented letters among them), then the punctuation and
# status symbols the badge's words use. WIDTHS lists their widths in this order.
CHARACTERS = (
    "".join(chr(code) for code in range(0x20, 0x7F))
    + "".join(chr(code) for code in range(0xA0, 0x100))
    # en and em dashes, curly quotes, ellipsis, euro sign, check and cross marks
    + "\u2013\u2014\u2018\u2019\u201c\u201d\u2026\u20ac\u2713\u2715"
)
# fmt: off
WIDTHS = (
    3.50, 4.41, 5.06, 9.22, 7.00, 10.45, 8.58, 3.02, 4.29, 4.29, 5.50, 9.22, 3.50, 3.97, 3.50, 3.71,
    7.00, 7.00, 7.00, 7.00, 7.00, 7.00, 7.00, 7.00, 7.00, 7.00, 3.71, 3.71, 9.22, 9.22, 9.22, 5.84,
    11.00, 7.52, 7.55, 7.68, 8.47, 6.95, 6.33, 8.52, 8.27, 3.24, 3.24, 7.21, 6.13, 9.49, 8.23, 8.66,
    6.63, 8.66, 7.64, 6.98, 6.72, 8.05, 7.52, 10.88, 7.54, 6.72, 7.54, 4.29, 3.71, 4.29, 9.22, 5.50,
    5.50, 6.74, 6.98, 6.05, 6.98, 6.77, 3.87, 6.98, 6.97, 3.06, 3.06, 6.37, 3.06, 10.72, 6.97, 6.73,
    6.98, 6.98, 4.52, 5.73, 4.31, 6.97, 6.51, 9.00, 6.51, 6.51, 5.77, 7.00, 3.71, 7.00, 9.22, 3.50,
    4.41, 7.00, 7.00, 7.00, 7.00, 3.71, 5.50, 5.50, 11.00, 5.18, 6.73, 9.22, 3.97, 11.00, 5.50, 5.50,
    9.22, 4.41, 4.41, 5.50, 7.00, 7.00, 3.50, 5.50, 4.41, 5.18, 6.73, 10.66, 10.66, 10.66, 5.84, 7.52,
    7.52, 7.52, 7.52, 7.52, 7.52, 10.72, 7.68, 6.95, 6.95, 6.95, 6.95, 3.24, 3.24, 3.24, 3.24, 8.52,
    8.23, 8.66, 8.66, 8.66, 8.66, 8.66, 9.22, 8.66, 8.05, 8.05, 8.05, 8.05, 6.72, 6.65, 6.93, 6.74,
    6.74, 6.74, 6.74, 6.74, 6.74, 10.80, 6.05, 6.77, 6.77, 6.77, 6.77, 3.06, 3.06, 3.06, 3.06, 6.73,
    6.97, 6.73, 6.73, 6.73, 6.73, 6.73, 9.22, 6.73, 6.97, 6.97, 6.97, 6.97, 6.51, 6.98, 6.51, 5.50,
    11.00, 3.50, 3.50, 5.70, 5.70, 11.00, 7.00, 9.22, 9.22
)
# fmt: on
CHARACTER_WIDTHS: dict[str, float] = dict(zip(CHARACTERS, WIDTHS, strict=True))
# A character outside the table is taken as wide as "M", so a badge errs on the roomy side.
UNKNOWN_WIDTH = CHARACTER_WIDTHS["M"]


def text_width(text: str) -> float:
    """The width of `text` in pixels, set in FONT_FAMILY at FONT_SIZE px, without kerning."""
    return sum(CHARACTER_WIDTHS.get(character, UNKNOWN_WIDTH) for character in text)
