"""The badge as a browser draws it: each text sits in its half with the same space on its
left and on its right, for a few names and every status, in English and Italian."""

from __future__ import annotations

import pytest
from django.utils import timezone

from catalogue.models import Service
from outages.badge_font import text_width
from outages.models import ServiceStatus
from outages.status import status_apply

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Each text with its padding on the left and on the right in its half, from the boxes the
# browser laid out, and its width as the font sets it (no textLength, no kerning).
PADDINGS = """() => {
  const rects = [...document.querySelectorAll("rect")];
  return [...document.querySelectorAll("text")].map((text, index) => {
    const box = text.getBBox(), half = rects[index];
    const left = box.x - half.x.baseVal.value;
    const right = half.x.baseVal.value + half.width.baseVal.value - (box.x + box.width);
    text.removeAttribute("textLength");
    text.style.fontKerning = "none";
    return [text.textContent, left, right, text.getBBox().width];
  });
}"""

STATUSES = {
    "chatgpt": ServiceStatus.Tier.OUTAGE,
    "playstation-network": ServiceStatus.Tier.WARNING,
    "whatsapp": ServiceStatus.Tier.OK,
}

EXPECTED_STATUSES = {
    "en": {"✕ Problems detected", "! Possible problems", "✓ No problems"},
    "it": {"✕ Problemi rilevati", "! Possibili problemi", "✓ Nessun problema"},
}


@pytest.fixture
def statuses():
    now = timezone.now()
    for slug, evidence in STATUSES.items():
        for scope in ("", "IT"):
            service = Service.objects.get(slug=slug)
            row = ServiceStatus(
                service=service, scope=scope, evidence=evidence, count=50, baseline=5.0, minute=now
            )
            status_apply(row, None).save()


@pytest.mark.parametrize("language", ["en", "it"])
def test_each_badge_text_has_the_same_padding_on_both_sides(open_page, statuses, language):
    page = open_page(language=language)
    shown = set()
    for slug in STATUSES:
        for query in ("", "?country=IT"):
            page.goto(f"/s/{slug}/badge.svg{query}")

            texts = page.evaluate(PADDINGS)

            assert len(texts) == 2
            for text, left, right, natural_width in texts:
                assert abs(left - right) <= 1, (slug, query, text, left, right)
                # The width table matches the font the browser draws with: the text is barely
                # stretched or squeezed to its textLength.
                assert abs(natural_width - text_width(text)) <= 1, (text, natural_width)
            shown.add(texts[1][0])
    assert shown == EXPECTED_STATUSES[language]
