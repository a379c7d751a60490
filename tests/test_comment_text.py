"""What a comment's text may not hold (reports.comment_text): every way of hiding a link or
an address in it is refused through the form and the API, saying what to fix, while
ordinary Italian and English comments pass."""

from __future__ import annotations

import socket
import time
import unicodedata

import pytest

from reports import comment_text
from reports.comment_text import problems
from reports.comments import comment_clean
from reports.models import Comment, Report
from tests.helpers import MILAN_IP, post_report

pytestmark = pytest.mark.django_db

ORDINARY = [
    "Non funziona più, l'app si blocca all'avvio.",
    "Dalle 17.00 non riesco ad accedere, né da Wi-Fi né da 4G.",
    'L\'errore è "500" — dappertutto, anche a Napoli e Forlì.',
    "app v1.2 crashes, e.g. on start",
    "v10.0.19045 still broken after the update",
    "ok.ok",
    "Perché? Boh... ok. ok . ok",
    "Ciao.Come va?",
    "3.5mm jack, 1.5GB update, 10:30 a.m.",
    "Failed at 12:30:45 with 0x80070005",
    "Google DNS 8.8.8.8 non risponde",
    "AT&T down; 100% of calls fail",
    "il punto è questo: messo a punto in fretta",
    "the dot matrix printer",
    "😡😡 di nuovo giù",
    "🤦‍♂️ ancora",  # a joiner between two emoji
    "👍🏽 👩‍💻 ❤️‍🔥 🏳️‍🌈 🇮🇹 1️⃣",
    "🏴󠁧󠁢󠁥󠁮󠁧󠁿 down in London too",  # England's flag is made of tag characters
    "🫨 trema tutto",  # an emoji newer than Python's Unicode tables
    "Tiếng Việt: không được",
    "Привет, не работает",
    "日本語でもダメ。もう一度",
    "e\u0301 decomposed accents count as one letter",
    "riga uno\nriga due\tcon tab",
]

# (the comment, what the answer must say)
TRICKS = [
    ("evil[.]com", "remove “evil.com”"),
    ("evil(.)com", "remove “evil.com”"),
    ("evil (dot) com", "remove “evil.com”"),
    ("evil[DOT]com", "remove “evil.com”"),
    ("evil{punto}com", "remove “evil.com”"),
    ("see evil dot com now", "remove “evil.com”"),
    ("evil . com", "remove “evil.com”"),
    ("evil\u3002com", "remove “evil.com”"),  # ideographic full stop
    ("evil\uff0ecom", "remove “evil.com”"),  # fullwidth full stop
    ("evil\uff61com", "remove “evil.com”"),  # halfwidth ideographic full stop
    ("evil.\u0441\u043e\u043c", "remove “evil.com”"),  # Cyrillic сом
    ("EVIL.\u0421\u041e\u041c", "remove “EVIL.COM”"),
    ("\u0440\u0430\u0443\u0440\u0430l.com", "remove “paypal.com”"),  # Cyrillic letters U+0440 U+0430 U+0443
    ("evil.\u03bfrg", "remove “evil.org”"),  # Greek omicron
    ("citt\u00e0.it", "remove “citta.it”"),
    ("\uff45\uff56\uff49\uff4c\uff0e\uff43\uff4f\uff4d", "remove “evil.com”"),  # full-width
    ("mail me at someone@evil.com", "remove “someone@evil.com”"),
    ("http\uff1a//x", "remove “http://x”"),
    ("go to www.down", "remove “www.down”"),
    ("1.2.3.4:8080", "remove “1.2.3.4:8080”"),
    ("open 10.0.0.1:80/admin", "remove “10.0.0.1:80”"),
    ("1[.]2[.]3[.]4:8080", "remove “1.2.3.4:8080”"),
    ("[::1]:80", "remove “[::1]:80”"),
    ("see [2001:db8::1]:8443 now", "remove “[2001:db8::1]:8443”"),
    ("e" + "\u0301" * 200, "at most 3 marks"),
    ("Zalgo h\u0300\u0301\u0302\u0303\u0304ere", "at most 3 marks"),
    *[
        (f"evil{invisible}.com", "invisible characters")
        for invisible in ("\u200b", "\u200d", "\u2060", "\u00ad", "\ufeff", "\u061c", "\u202e")
    ],
    ("down \U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065", "invisible characters"),
    ("\U0001f3f4\U000e0065\U000e0076\U000e0069\U000e006c\U000e007f flag", "invisible characters"),
    ("nul\x00byte", "control characters"),
]


def trick_id(trick: tuple[str, str]) -> str:
    return trick[0].encode("unicode_escape").decode()[:40]


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ORDINARY)
def test_an_ordinary_comment_has_nothing_to_fix(text):
    assert problems(text) == []
    assert comment_clean(text) == unicodedata.normalize("NFC", text.strip())


@pytest.mark.parametrize(("text", "said"), TRICKS, ids=[trick_id(trick) for trick in TRICKS])
def test_each_way_of_hiding_a_link_or_an_address_is_named(text, said):
    assert any(said in problem for problem in problems(text))


def test_an_invisible_character_inside_a_domain_names_both_fixes():
    assert problems("evil\u200b.com") == [
        "Remove the invisible characters (zero-width, text-direction, soft hyphen or tag "
        "characters) from the comment.",
        "A comment cannot contain links, web or e-mail addresses: remove “evil.com”.",
    ]


def test_a_joiner_that_joins_no_emoji_is_refused():
    assert problems("👍\u200da") and problems("a\u200d👍") and problems("\u200d👍")


def test_three_marks_on_a_letter_pass_and_four_do_not():
    # Marks are counted after NFKC: "a" with a grave accent is one letter, "à", with none.
    assert problems("x\u0300\u0301\u0302 a\u0300\u0301\u0302\u0303") == []
    assert problems("x\u0300\u0301\u0302\u0303") != []


def test_a_comment_is_stored_composed():
    assert comment_clean("citta\u0300 ferma") == "città ferma"


def test_domains_are_found_offline_from_the_list_bundled_with_urlextract(monkeypatch):
    """urlextract downloads IANA's list only when asked to update; a fresh extractor with no
    network still knows the top-level domains."""

    def no_network(*args, **kwargs):
        raise AssertionError("the comment check tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    comment_text._extractor.cache_clear()
    try:
        assert problems("it is on example.photography too") != []
        assert problems("ok.ok") == []
    finally:
        comment_text._extractor.cache_clear()


@pytest.mark.parametrize("unit", ["1.", "1.2.3.4:", "a.", "\u0430.", "a.co", "(dot)", "[::1]:", "a@"])
def test_the_check_takes_time_in_proportion_to_the_text(unit):
    """Ten times a comment's length (problems() is never given more; comment_clean stops at
    280 characters): about 0.1 s here. urlextract's own IPv4 search, turned off, took 3 s on
    "1." and 1.8 s on "1.2.3.4:", growing with the square of the length."""
    text = unit * (2800 // len(unit))
    problems("warm the tables up")
    started = time.perf_counter()

    problems(text)

    assert time.perf_counter() - started < 1.0


# --- through the form and the API ----------------------------------------------------------


@pytest.mark.parametrize(("text", "said"), TRICKS, ids=[trick_id(trick) for trick in TRICKS])
def test_the_api_refuses_each_trick_with_400_saying_what_to_fix(client, text, said):
    response = post_report(client, {"service": "chatgpt", "problem": "login", "comment": text})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_comment" and said in body["detail"]
    assert Report.objects.count() == 0 and Comment.objects.count() == 0


@pytest.mark.parametrize(("text", "said"), TRICKS, ids=[trick_id(trick) for trick in TRICKS])
def test_the_form_refuses_each_trick_with_the_form_again_saying_what_to_fix(client, text, said):
    response = client.post("/s/chatgpt/report/", {"problem": "login", "comment": text}, REMOTE_ADDR=MILAN_IP)

    assert response.status_code == 400
    page = response.content.decode()
    assert said in page and 'name="comment"' in page
    assert Report.objects.count() == 0 and Comment.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("evil[.]com", "Un commento non può contenere link, indirizzi web o e-mail: togli “evil.com”."),
        ("evil\u200b", "Togli dal commento i caratteri invisibili"),
        ("e" + "\u0301" * 9, "Togli gli accenti sovrapposti: una lettera può averne al massimo 3."),
    ],
)
def test_the_form_says_what_to_fix_in_italian(client, text, said):
    response = client.post(
        "/s/chatgpt/report/",
        {"problem": "login", "comment": text},
        REMOTE_ADDR=MILAN_IP,
        HTTP_ACCEPT_LANGUAGE="it",
    )

    assert response.status_code == 400 and said in response.content.decode()


@pytest.mark.parametrize("text", ORDINARY)
def test_the_api_stores_an_ordinary_comment(client, text):
    response = post_report(client, {"service": "chatgpt", "problem": "login", "comment": text})

    assert response.status_code == 201 and response.json()["comment_stored"] is True
    assert Comment.objects.get().text == comment_clean(text)


@pytest.mark.parametrize("text", ORDINARY)
def test_the_form_stores_an_ordinary_comment(client, text):
    response = client.post("/s/chatgpt/report/", {"problem": "login", "comment": text}, REMOTE_ADDR=MILAN_IP)

    assert response.status_code == 302
    assert Comment.objects.get().text == comment_clean(text)
