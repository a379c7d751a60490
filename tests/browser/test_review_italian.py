"""The review UI in Italian, in Chromium: a reviewer who reads Italian visits every review
page (the queue, its filters, an incident with its audit log, the comments waiting and the
approved ones) and meets no English string the review UI uses. The list is built from the
English msgids of the review templates and the labels the review shows from Python (review
states, actions, dismissal reasons, form labels, problem names) and the English names of
Italian cities; a msgid whose Italian is the same word ("API") is left out, an untranslated
one is not, so the check fails when a string is added without its translation."""

from __future__ import annotations

import datetime as dt
import gettext
import re
from pathlib import Path

import pytest
from django.utils import timezone, translation

from catalogue.models import DEFAULT_PROBLEM_TYPES, Service
from outages.models import Incident
from outages.review.forms import ActionForm, ExcludeNetworkForm, QueueFilterForm
from outages.review.models import DismissReason, ReviewAction
from outages.review.services import incident_act
from reports.models import Comment
from tests.detection_helpers import city
from tests.review_helpers import incident, reviewer_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[2]
REVIEW_TEMPLATES = ROOT / "outages" / "templates" / "review"
# Only the review pages' own templates: the sign-up and email ones are public pages.
REVIEWER_TEMPLATES = [
    "_facts.html",
    "_signals.html",
    "_sparkline.html",
    "comments.html",
    "incident.html",
    "queue.html",
    "login.html",
]
CATALOGUE = ROOT / "locale" / "it" / "LC_MESSAGES" / "django.mo"
# The Italian cities the review names, by their English names (the gazetteer's exonyms).
CITIES = [
    ("Milan", "Milano"),
    ("Rome", "Roma"),
    ("Naples", "Napoli"),
    ("Florence", "Firenze"),
    ("Turin", "Torino"),
    ("Venice", "Venezia"),
    ("Genoa", "Genova"),
    ("Bologna", "Bologna"),
    ("Palermo", "Palermo"),
    ("Bari", "Bari"),
    ("Catania", "Catania"),
    ("Verona", "Verona"),
]
PLACEHOLDER = re.compile(r"\{\{.*?\}\}|%\(\w+\)[sd]|\{%.*?%\}")


def template_msgids() -> set[str]:
    """The English msgids of the review templates ({% translate %} and {% blocktranslate %})."""
    found: set[str] = set()
    for name in REVIEWER_TEMPLATES:
        text = (REVIEW_TEMPLATES / name).read_text()
        found.update(re.findall(r"""\{% translate "([^"]+)" %\}""", text))
        found.update(re.findall(r"""\{% translate '([^']+)' %\}""", text))
        for block in re.findall(r"\{% blocktranslate[^%]*%\}(.*?)\{% endblocktranslate %\}", text, re.S):
            found.update(part for part in block.split("{% plural %}"))
    return found


def python_labels() -> set[str]:
    """What the review shows from Python, in English: review states, actions, dismissal
    reasons, the form labels and the default problem names."""
    with translation.override("en"):
        labels = {str(label) for _, label in Incident.Status.choices}
        labels |= {str(label) for _, label in ReviewAction.Kind.choices}
        labels |= {str(label) for _, label in DismissReason.choices}
        labels |= {str(label) for label in DEFAULT_PROBLEM_TYPES.values()}
        for form in (ActionForm(), ExcludeNetworkForm(), QueueFilterForm(services=Service.objects.none())):
            labels |= {str(field.label) for field in form.fields.values() if field.label}
    return labels


def english_phrases() -> list[str]:
    """The pieces of English to look for: each msgid's text between its placeholders (at
    least four letters long), except those Italian writes the same way."""
    with CATALOGUE.open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    same_in_italian = {msgid for msgid, msgstr in catalog.items() if msgid == msgstr}
    phrases: set[str] = set()
    for msgid in template_msgids() | python_labels():
        if msgid in same_in_italian:
            continue
        for piece in PLACEHOLDER.split(msgid):
            piece = piece.strip(" .,:;()—·←→")
            if len(re.sub(r"[^A-Za-z]", "", piece)) >= 4:
                phrases.add(piece)
    phrases |= {english for english, italian in CITIES if english != italian}
    return sorted(phrases)


def english_in(text: str, phrases: list[str]) -> list[str]:
    return [phrase for phrase in phrases if re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", text)]


def page_text(page) -> str:
    """Everything the reviewer can read or hear: the title, the main text as shown, the
    folded parts and the options of the selects, and the labels of images and controls
    (the service filter's list of names aside)."""
    hidden = page.eval_on_selector_all(
        # The services' names are names ("PlayStation Network"), not the UI's words.
        "main details, main select:not([name=service]) option, main [aria-label], main [title], main [placeholder]",
        """nodes => nodes.map(n => [n.tagName === 'DETAILS' || n.tagName === 'OPTION' ? n.textContent : '',
            n.getAttribute('aria-label'), n.getAttribute('title'), n.getAttribute('placeholder')]
            .filter(Boolean).join(' '))""",
    )
    main = page.locator("main").evaluate(
        "node => { const copy = node.cloneNode(true); copy.querySelectorAll('select[name=service]').forEach(s => s.remove()); document.body.append(copy); const text = copy.innerText; copy.remove(); return text; }"
    )
    return "\n".join([page.title(), main, *hidden])


@pytest.fixture
def reviewed_day(chatgpt):
    """An ongoing incident with a dozen cities, a resolved one reviewed twice (its audit log),
    a comment waiting and one approved."""
    places = [city(english, name_it=italian) for english, italian in CITIES]
    now = timezone.now()
    ongoing = incident(
        chatgpt,
        started_at=now - dt.timedelta(minutes=30),
        resolved=False,
        minutes=30,
        problems=[{"code": "login", "count": 150}, {"code": "app", "count": 40}],
        cities={place: (200 - 10 * i, 150 - 10 * i) for i, place in enumerate(places)},
    )
    earlier = incident(chatgpt, started_at=now - dt.timedelta(hours=5), cities={places[0]: (30, 20)})
    reviewer = reviewer_user()
    incident_act(incident_id=earlier.pk, action="confirm", actor=reviewer, now=now, note="visto")
    incident_act(incident_id=earlier.pk, action="dismiss", actor=reviewer, now=now, reason="media")
    for state, text in (
        (Comment.State.PENDING, "Non riesco ad accedere"),
        (Comment.State.APPROVED, "App giù"),
    ):
        Comment.objects.create(
            report_id=1,
            service=chatgpt,
            problem="login",
            city=places[0],
            network_hash="0" * 32,
            text=text,
            language="it",
            created_at=now - dt.timedelta(minutes=5),
            state=state,
        )
    return ongoing, earlier


def log_in_in_italian(page) -> None:
    page.goto("/accounts/login/?next=/review/")
    assert english_in(page_text(page), english_phrases()) == []
    page.get_by_label("Nome utente").fill("reviewer")
    page.get_by_label("Password").fill("pw-reviewer-1")
    page.locator("main").get_by_role("button").click()
    page.wait_for_url("**/review/")


def test_the_list_of_english_strings_catches_english(open_page, reviewed_day):
    phrases = english_phrases()
    assert {"Review queue", "Suspected", "False alarm", "Reason for dismissing", "Login", "Milan"} <= set(
        phrases
    )
    page = open_page("en")
    page.goto("/accounts/login/?next=/review/")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill("pw-reviewer-1")
    page.locator("main").get_by_role("button").click()
    page.wait_for_url("**/review/")

    found = english_in(page_text(page), phrases)

    assert {"Review queue", "Suspected", "Milan", "Login"} <= set(found)


def test_every_review_page_is_in_italian(open_page, reviewed_day):
    ongoing, earlier = reviewed_day
    phrases = english_phrases()
    page = open_page("it")
    log_in_in_italian(page)

    # The queue: the ongoing incident first, its cities by their Italian names, the top ten
    # shown and the rest folded.
    queue = page.locator("ol.queue > li")
    assert queue.first.get_attribute("id") == f"incident-{ongoing.pk}"
    cities = queue.first.locator("dd.cities")
    assert cities.locator("details").count() == 1
    assert not cities.locator("details").evaluate("node => node.open")
    shown = cities.inner_text()
    assert "Milano (200)" in shown and "Firenze" in shown and "Verona" not in shown
    assert "Accesso (150)" in shown or "Accesso (150)" in queue.first.inner_text()
    for url in (
        "/review/",
        f"/review/?service={ongoing.service_id}&status=suspected",
        "/review/?status=dismissed",
    ):
        page.goto(url)
        text = page_text(page)
        assert english_in(text, phrases) == [], (url, text)

    page.goto(f"/review/incidents/{earlier.pk}/")
    audit = page.locator("table.audit").inner_text()
    assert "Sospetto → Confermato" in audit and "Confermato → Archiviato" in audit
    assert "Respingi (Spinto dai media)" in audit
    assert english_in(page_text(page), phrases) == []

    page.goto(f"/review/incidents/{ongoing.pk}/")
    assert english_in(page_text(page), phrases) == []

    for url in ("/review/comments/", "/review/comments/?state=approved"):
        page.goto(url)
        assert "Milano" in page.locator("main table").inner_text()
        assert english_in(page_text(page), phrases) == [], url
