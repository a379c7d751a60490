"""What the demo's crowd writes with its reports: a fixed pool of short comments per event,
in Italian for reporters in Italy and English for the others, and the rule the demo
reviewer decides them by.

Pure: no ORM, no settings, no clock. Each pool marks its off-topic lines: they pass the
automatic check (reports.comment_text) as any rude or pointless comment would, and only a
reviewer turns them away. The demo reviewer (simulator.reviewer) knows which lines are
which from here; it reads nothing into a text it did not write.

A line may name the reporter's city ("{city}"): a person in Palermo writes "Palermo", not
"Catania".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# The review actions the demo reviewer takes (outages.review.models.ReviewAction.Kind).
APPROVE = "comment_approve"
REJECT = "comment_reject"


@dataclass(frozen=True, slots=True)
class Line:
    text: str  # may hold "{city}": the reporter's city, in Italian
    language: str  # "it" or "en": the page language the reporter sends it in
    on_topic: bool = True

    def render(self, city: str) -> str:
        return self.text.replace("{city}", city)


@dataclass(frozen=True, slots=True)
class Pool:
    share: float  # of the event's reports that carry a comment
    lines: tuple[Line, ...]

    def lines_in(self, language: str) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.language == language)


def _it(*texts: str, on_topic: bool = True) -> tuple[Line, ...]:
    return tuple(Line(text, "it", on_topic) for text in texts)


def _en(*texts: str, on_topic: bool = True) -> tuple[Line, ...]:
    return tuple(Line(text, "en", on_topic) for text in texts)


# What any crowd posts beside the real complaints, in every pool: a reviewer rejects them.
OFF_TOPIC = _it("ahahah tutti a lavorare allora", "Ma chi lo usa ancora? 😂", on_topic=False) + _en(
    "first!", "lol who cares", on_topic=False
)

# Shares sized for the demo crowd's volumes (simulator.demo): from the moment `make run`
# starts, ChatGPT's tail brings some fifteen comments, each smaller event a handful; a whole
# cycle's ChatGPT outage about a hundred, as a busy Downdetector page has.
POOLS: dict[str, Pool] = {
    "chatgpt": Pool(
        0.03,
        _it(
            "Non risponde da 10 minuti, errore 503",
            "Non riesco ad accedere, mi rimanda sempre al login",
            "La pagina resta bianca, sia da PC che da app",
            "Si blocca a metà risposta e poi dà errore di rete",
            "{city}: non va né con la fibra né con il 4G",
            'Da app dice "Something went wrong", dal sito non carica',
            "Avevo una consegna per stasera, speriamo torni presto",
        )
        + _en(
            "Can't log in, network error",
            "Stuck on loading, then error 503",
            "Every reply stops halfway with a network error",
            "Down for me too, both the app and the website",
            "Login page keeps looping back to itself",
        )
        + OFF_TOPIC,
    ),
    "sora": Pool(
        0.06,
        _it(
            "I video restano in coda da mezz'ora",
            "Non carica la libreria, errore del server",
            "Login impossibile, come ChatGPT",
        )
        + _en("Generations stuck in the queue", "Can't sign in, same as ChatGPT")
        + OFF_TOPIC,
    ),
    # iliad's mobile network down in Sicily and Calabria.
    "iliad-regional": Pool(
        0.08,
        _it(
            "{city}, niente rete dati",
            "{city}: chiamate ok ma internet zero da stamattina",
            "Nessun servizio a {city}, il telefono cerca rete",
            "4G sparito, a {city} anche i miei colleghi con Iliad",
            "Riavviato il telefono due volte, a {city} ancora niente",
        )
        + OFF_TOPIC,
    ),
    # Fastweb's customers cannot reach anything: they report whatever they were using.
    "fastweb": Pool(
        0.02,
        _it(
            "Con Fastweb non carica niente, con il 4G va",
            "Modem Fastweb acceso, luci ok, ma nessun sito si apre",
            "{city}, Fastweb fibra: non va nulla da venti minuti",
            "Non è l'app, è la linea: con la rete del telefono funziona",
        )
        + OFF_TOPIC,
    ),
    # A bump from the news, not a failure: people asking.
    "media": Pool(
        0.1,
        _it(
            "Da me funziona, sto guardando adesso",
            "Va tutto, forse è lenta solo la nuova serie?",
            "Nessun problema qui a {city}",
        )
        + OFF_TOPIC,
    ),
}

# The reporter's city as an Italian writes it (the sampled places use DB-IP's English names).
ITALIAN_CITY_NAMES = {
    "Milan": "Milano",
    "Rome": "Roma",
    "Naples": "Napoli",
    "Turin": "Torino",
    "Florence": "Firenze",
    "Genoa": "Genova",
    "Venice": "Venezia",
    "Syracuse": "Siracusa",
}


def comment_language(country_code: str) -> str:
    """The language a reporter writes in: Italian in Italy, English elsewhere."""
    return "it" if country_code == "IT" else "en"


def city_as_written(name: str, language: str) -> str:
    return ITALIAN_CITY_NAMES.get(name, name) if language == "it" else name


def demo_verdict(text: str) -> str | None:
    """What the demo reviewer does with a pending comment: approve a line of a pool,
    reject an off-topic one, and leave anything else (a real person's) to a person."""
    on_topic, off_topic = _line_patterns()
    if off_topic.fullmatch(text):
        return REJECT
    if on_topic.fullmatch(text):
        return APPROVE
    return None


@functools.cache
def _line_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Every pool's on-topic and off-topic lines as two patterns, "{city}" as any name."""

    def pattern(lines: set[str]) -> re.Pattern[str]:
        return re.compile(
            "|".join(re.escape(text).replace(re.escape("{city}"), r"[^\n]{1,80}?") for text in sorted(lines))
        )

    lines = [line for pool in POOLS.values() for line in pool.lines]
    return (
        pattern({line.text for line in lines if line.on_topic}),
        pattern({line.text for line in lines if not line.on_topic}),
    )
