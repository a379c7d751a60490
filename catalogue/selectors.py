"""Reads of the catalogue that every report needs."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.utils.text import slugify

from catalogue.models import CATEGORY_LABELS, ProblemType, Service

INTAKE_CACHE_SECONDS = 30


@dataclass(frozen=True, slots=True)
class IntakeService:
    service: Service
    problem_codes: tuple[str, ...]


_intake_cache: dict[str, tuple[float, IntakeService | None]] = {}


def intake_service(slug: str) -> IntakeService | None:
    """The active service a report names, with its problem codes, or None.

    Every report asks this, so each process keeps the answer for INTAKE_CACHE_SECONDS:
    an admin's edit to the catalogue takes effect within that time.
    """
    now = time.monotonic()
    cached = _intake_cache.get(slug)
    if cached is not None and now - cached[0] < INTAKE_CACHE_SECONDS:
        return cached[1]
    service = Service.objects.active().filter(slug=slug).first()
    intake = None
    if service is not None:
        codes = tuple(ProblemType.objects.filter(service=service).values_list("code", flat=True))
        intake = IntakeService(service=service, problem_codes=codes)
    if len(_intake_cache) > 10_000:  # unknown slugs must not grow it without bound
        _intake_cache.clear()
    _intake_cache[slug] = (now, intake)
    return intake


def intake_cache_clear() -> None:
    _intake_cache.clear()


def category_choices() -> list[tuple[str, str]]:
    """(slug, label) of the active services' categories, by label in the active language: the
    slug is the one their addresses use (/c/telecom/, Service.category_slug)."""
    names = set(Service.objects.active().exclude(category="").values_list("category", flat=True).distinct())
    return sorted(
        ((slugify(name), str(CATEGORY_LABELS.get(name, name))) for name in names), key=lambda pair: pair[1]
    )
