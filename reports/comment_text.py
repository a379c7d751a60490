"""What a comment's text may not hold: the one rule, as a pure function (no database, no
settings). reports.comments.comment_clean calls it for the form and both API paths.

A comment is read as a person would read it before looking for an address in it: NFKC
(full-width and other compatibility forms count as what they look like), look-alike
separators as a dot ("evil[.]com", "evil(dot)com", "evil dot com", the ideographic full stop),
and, in a second reading, letters that only look Latin (Cyrillic "сом") as Latin without
accents. urlextract finds the domains in each reading against IANA's list of top-level
domains, so "e.g.", "v1.2", "17.00" and "ok.ok" stay words.

Invisible characters (Unicode category Cf: zero-width, text-direction, soft hyphen, tags)
and long stacks of combining marks are refused rather than removed: they only hide what
the reviewer and the reader would see. The exceptions are what emoji are made of: a
zero-width joiner between two symbols (🤦‍♂️) and the three tagged flags (🏴󠁧󠁢󠁥󠁮󠁧󠁿).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata

from confusable_homoglyphs import utils as confusable_data
from django.utils.translation import gettext as _
from urlextract import URLExtract

# More marks than this on one letter is a stack (Zalgo text), not a language: after NFKC,
# Italian and Vietnamese letters carry none (they are precomposed), Thai and a keycap (1️⃣) two.
MAX_MARKS_PER_LETTER = 3

_ALLOWED_CONTROLS = frozenset("\n\r\t")
# Control, surrogate and private-use characters; unassigned ones are refused too, except
# in the emoji blocks, where they are emoji newer than Python's Unicode tables.
_CONTROL_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})
_EMOJI_BLOCKS = range(0x1F000, 0x1FB00)
_ZERO_WIDTH_JOINER = "\u200d"
# What may sit between an emoji and the joiner that follows it: a variation selector or a
# skin tone.
_EMOJI_MODIFIERS = frozenset("\ufe0e\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")
# England, Scotland, Wales: the only tag sequences Unicode recommends showing.
_TAGGED_FLAGS = re.compile(
    "\U0001f3f4\U000e0067\U000e0062(?:\U000e0065\U000e006e\U000e0067|\U000e0073\U000e0063\U000e0074"
    "|\U000e0077\U000e006c\U000e0073)\U000e007f"
)
_ENTITY = re.compile(r"&(?:#[0-9]+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE)

# Full stops that NFKC leaves alone: ideographic (and halfwidth, which NFKC makes
# ideographic), its vertical form, and the middle dots of Katakana and Catalan.
_FULL_STOPS = frozenset("\u3002\ufe12\u30fb\u00b7")
# Separators written out: [.] (.) {.} [dot] (dot) (punto), and " dot " between words. The
# Italian word goes only in brackets: "messo a punto in" is Italian, "a.in" a domain.
_WRITTEN_DOT = re.compile(
    r"\s*[\[({]\s*(?:\.|dot|punto)\s*[\])}]\s*|\s+dot\s+|\s+\.\s+",
    re.IGNORECASE,
)
# Cheap signs of a link urlextract does not look for: a scheme with any host, a "www."
# host with a made-up ending, a bracketed IPv6 address with a port ([::1]:80).
_SCHEME_OR_WWW = re.compile(r"://|\bwww\.", re.IGNORECASE)
_BRACKETED_ADDRESS = re.compile(r"\[([0-9a-f:.]{2,45})\]:\d+", re.IGNORECASE)
# An IPv4 address with a port (1.2.3.4:8080), valid or not: a bare one names a server people
# talk about ("8.8.8.8 does not answer"), with a port it is something to visit.
_ADDRESS_WITH_PORT = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}")
# The most of an address quoted back in an error message.
_QUOTED_MAX = 60


def problems(text: str) -> list[str]:
    """What to fix in the comment, one sentence each in the reader's language; empty when
    it can be stored."""
    found: list[str] = []
    shown = _TAGGED_FLAGS.sub("\U0001f3f4", text)
    if any(_invisible(shown, index) for index in range(len(shown))):
        found.append(
            _(
                "Remove the invisible characters (zero-width, text-direction, soft hyphen or "
                "tag characters) from the comment."
            )
        )
    if any(_control(character) for character in shown):
        found.append(_("Remove the control characters from the comment."))
    # Read without what was refused above, so one answer names every fix ("evil\u200b.com"
    # is invisible characters and a link).
    plain = unicodedata.normalize("NFKC", "".join(c for c in shown if not _hidden(c)))
    if _longest_mark_run(plain) > MAX_MARKS_PER_LETTER:
        found.append(
            _("Remove the stacked accents: a letter can carry at most %(max)d marks.")
            % {"max": MAX_MARKS_PER_LETTER}
        )
    if "<" in plain or ">" in plain or _ENTITY.search(plain):
        found.append(_("A comment cannot contain markup: remove < > and HTML entities."))
    address = _address_in(plain)
    if address is not None:
        found.append(
            _("A comment cannot contain links, web or e-mail addresses: remove “%(address)s”.")
            % {"address": address[:_QUOTED_MAX]}
        )
    return found


def _invisible(text: str, index: int) -> bool:
    character = text[index]
    if unicodedata.category(character) != "Cf":
        return False
    return not (character == _ZERO_WIDTH_JOINER and _joins_emoji(text, index))


def _joins_emoji(text: str, index: int) -> bool:
    before = index - 1
    while before >= 0 and text[before] in _EMOJI_MODIFIERS:
        before -= 1
    after = index + 1
    return before >= 0 and after < len(text) and _emoji(text[before]) and _emoji(text[after])


def _emoji(character: str) -> bool:
    return unicodedata.category(character) == "So" or ord(character) in _EMOJI_BLOCKS


def _hidden(character: str) -> bool:
    return unicodedata.category(character) == "Cf" or _control(character)


def _control(character: str) -> bool:
    if character in _ALLOWED_CONTROLS or ord(character) in _EMOJI_BLOCKS:
        return False
    return unicodedata.category(character) in _CONTROL_CATEGORIES


def _longest_mark_run(text: str) -> int:
    longest = run = 0
    for character in text:
        run = run + 1 if unicodedata.category(character).startswith("M") else 0
        longest = max(longest, run)
    return longest


def _address_in(plain: str) -> str | None:
    """The first link, domain, e-mail address or IP address with a port in the text, as
    read with separators as dots (then also with look-alike letters as Latin); None if none."""
    dotted = _WRITTEN_DOT.sub(".", "".join("." if c in _FULL_STOPS else c for c in plain))
    skeleton = _latin_skeleton(dotted)
    for reading in (skeleton, dotted) if skeleton != dotted else (dotted,):
        if found := _SCHEME_OR_WWW.search(reading):
            return _word_around(reading, found.start())
        if found := _ADDRESS_WITH_PORT.search(reading):
            return found.group(0)
        for bracketed in _BRACKETED_ADDRESS.finditer(reading):
            if _is_ip_address(bracketed.group(1)):
                return bracketed.group(0)
        if url := next(_extractor().gen_urls(reading), None):
            return str(url)
    return None


def _word_around(text: str, index: int) -> str:
    start = index
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:].split(maxsplit=1)[0]


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _latin_skeleton(text: str) -> str:
    """The text with every letter or digit that looks like an ASCII one replaced by it
    (Cyrillic "сом" -> "com"), and accents dropped ("città" -> "citta")."""
    look_alikes = _ascii_look_alikes()
    latin = "".join(look_alikes.get(character, character) for character in text)
    return "".join(
        character
        for character in unicodedata.normalize("NFKD", latin)
        if not unicodedata.category(character).startswith("M")
    )


@functools.cache
def _ascii_look_alikes() -> dict[str, str]:
    """Each non-ASCII character that Unicode's confusables list says looks like an ASCII
    letter, digit or full stop, mapped to it. A lower-case letter whose look-alike is only
    its capital (Cyrillic "м" looks like a small "M") maps to the lower-case ASCII letter.
    About 1,400 entries, built once from confusable-homoglyphs' data; the 900 kB table it
    comes from is not kept."""
    table: dict[str, list[dict[str, str]]] = confusable_data.load("confusables.json")
    wanted = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.")

    def ascii_of(character: str) -> str | None:
        for homoglyph in table.get(character, ()):
            if homoglyph["c"] in wanted:
                return homoglyph["c"]
        return None

    look_alikes: dict[str, str] = {}
    for character in set(table) | {key.lower() for key in table}:
        if len(character) != 1 or character.isascii():
            continue
        found = ascii_of(character)
        if found is None and character.upper() != character and len(character.upper()) == 1:
            capital = ascii_of(character.upper())
            found = capital.lower() if capital is not None else None
        if found is not None:
            look_alikes[character] = found
    return look_alikes


class _DomainExtractor(URLExtract):
    """urlextract without its IPv4 search: it treats ".0" to ".255" as top-level domains and
    follows each one across the whole text, 25 ms on 280 characters of "1.". IP addresses
    are _ADDRESS_WITH_PORT's and _BRACKETED_ADDRESS's."""

    _ipv4_tld: list[str] = []


@functools.cache
def _extractor() -> URLExtract:
    # Only URLExtract.update() downloads IANA's list; never called, so the list bundled with
    # the pinned version is the one used, offline. No DNS checks either.
    return _DomainExtractor(extract_email=True, cache_dns=False, extract_localhost=False)
