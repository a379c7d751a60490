"""The catalogue of services people report on: the bottom layer, which `reports` and
`outages` both use. Its tables keep the names they had in the `outages` app."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from django.db import connections, models
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

# The problem types every service offers unless an admin changes its list.
DEFAULT_PROBLEM_TYPES: dict[str, StrPromise] = {
    "app": _("App"),
    "login": _("Login"),
    "website": _("Website"),
    "connection": _("Server connection"),
    "other": _("Something else"),
}
DEFAULT_PROBLEM = "other"
# The default catalogue's categories, translated; a category an admin adds shows as typed.
CATEGORY_LABELS: dict[str, StrPromise] = {
    "AI": _("AI"),
    "Email": _("Email"),
    "Gaming": _("Gaming"),
    "Messaging": _("Messaging"),
    "Music": _("Music"),
    "Social": _("Social networks"),
    "Telecom": _("Telecom operators"),
    "Video": _("Video"),
}


# How alike a query and a name must be to count as a typo of it. pg_trgm's word similarity on
# PostgreSQL ("chatgtp" and "chatgpt" score 0.62, "fb" and "facebook" 0.33); difflib's ratio
# where pg_trgm is missing (SQLite, `make run`'s default), which scores the same pairs higher.
TRIGRAM_SIMILARITY = 0.5
DIFFLIB_SIMILARITY = 0.75


def search_key(text: str) -> str:
    """What a search compares: lower case, letters and digits only, so "Chat GPT", "chat-gpt"
    and "chatgpt" are one query."""
    return "".join(character for character in text.casefold() if character.isalnum())


def close_to(key: str, word: str) -> bool:
    """Whether `key` is likely a typo of `word` (both search keys): the search's fallback
    where pg_trgm is missing."""
    return difflib.SequenceMatcher(None, key, word).ratio() >= DIFFLIB_SIMILARITY


class ServiceQuerySet(models.QuerySet):
    def active(self) -> ServiceQuerySet:
        return self.filter(is_active=True)

    def in_category(self, slug: str) -> ServiceQuerySet:
        """Services whose category reads `slug` in an address (/c/telecom/): the one rule
        from a category to its slug is Service.category_slug."""
        names = {name for name in self.values_list("category", flat=True).distinct() if slugify(name) == slug}
        return self.filter(category__in=names)

    def matching(self, query: str) -> ServiceQuerySet:
        """Services whose name, slug or one of their aliases contains the query (compared by
        search_key), or is close to it: "open ai" and "chat gpt" find ChatGPT, "psn"
        PlayStation Network, and the typo "chatgtp" ChatGPT too."""
        key = search_key(query)
        if not key:
            return self
        aliased = ServiceAlias.objects.filter(key__contains=key).values("service_id")
        return self.filter(
            models.Q(search_keys__contains=key)
            | models.Q(pk__in=aliased)
            | models.Q(pk__in=self._similar_to(key))
        )

    def _similar_to(self, key: str):
        """Ids of services whose name, slug or an alias is a likely typo of `key`: trigram
        similarity in PostgreSQL (a subquery), difflib over the catalogue elsewhere."""
        if connections[self.db].vendor == "postgresql":
            from django.contrib.postgres.search import TrigramWordSimilarity

            by_name = (
                Service.objects.annotate(similarity=TrigramWordSimilarity(key, "search_keys"))
                .filter(similarity__gte=TRIGRAM_SIMILARITY)
                .values("pk")
            )
            by_alias = (
                ServiceAlias.objects.annotate(similarity=TrigramWordSimilarity(key, "key"))
                .filter(similarity__gte=TRIGRAM_SIMILARITY)
                .values("service_id")
            )
            return by_name.union(by_alias)
        words = [
            (pk, word)
            for pk, keys in Service.objects.values_list("pk", "search_keys")
            for word in keys.split()
        ]
        words += list(ServiceAlias.objects.values_list("service_id", "key"))
        return [pk for pk, word in words if close_to(key, word)]

    def named(self, query: str) -> Service | None:
        """The service whose name, slug or one of whose aliases the query spells exactly, up to
        case and spacing (compared by search_key: "ChatGPT", "chat gpt", "PSN"): a search for
        it goes straight to its page."""
        key = search_key(query)
        if not key:
            return None
        found = (
            self.filter(
                models.Q(search_keys__startswith=f"{key} ")
                | models.Q(search_keys__endswith=f" {key}")
                | models.Q(aliases__key=key)
            )
            .distinct()
            .order_by("name")
            .first()
        )
        return found if isinstance(found, Service) else None


class Service(models.Model):
    class OfficialFormat(models.TextChoices):
        """What the service's own machine-readable status is (outages.official reads it)."""

        NONE = "none", "none"
        STATUSPAGE = "statuspage", "Atlassian Statuspage JSON (/api/v2/summary.json)"
        FEED = "feed", "RSS or Atom incident feed"

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=50, blank=True)
    home_url = models.URLField(blank=True)
    status_page_url = models.URLField("official status page", blank=True)
    # The address polled for the official state (status_page_url is the page people read).
    # Database defaults too: the benches insert services with SQL.
    official_format = models.CharField(
        "official status format",
        max_length=10,
        choices=OfficialFormat.choices,
        default=OfficialFormat.NONE,
        db_default=OfficialFormat.NONE,
    )
    official_url = models.URLField(
        "official status address",
        blank=True,
        default="",
        db_default="",
        help_text="e.g. https://status.openai.com/api/v2/summary.json, or the incident feed's address",
    )
    # Baselines follow the daily rhythm of the people who use the service.
    timezone = models.CharField(max_length=64, default="Europe/Rome")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # search_key of the name and the slug, kept by save(): the search compares keys.
    search_keys = models.CharField(max_length=250, blank=True, editable=False)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        db_table = "outages_service"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.search_keys = f"{search_key(self.name)} {search_key(self.slug)}"
        if "update_fields" in kwargs and kwargs["update_fields"] is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_keys"}
        super().save(*args, **kwargs)

    @property
    def has_official_status(self) -> bool:
        """Whether outages.official polls an official status for this service."""
        return self.official_format != self.OfficialFormat.NONE and bool(self.official_url)

    @property
    def category_slug(self) -> str:
        return slugify(self.category)  # ServiceQuerySet.in_category reads slugs the same way

    @property
    def category_label(self) -> str:
        return str(CATEGORY_LABELS.get(self.category, self.category))


class ServiceAlias(models.Model):
    """Another name people search a service by ("open ai", "psn"); edited in the admin."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=100)
    key = models.CharField(max_length=100, editable=False, db_index=True)

    class Meta:
        verbose_name_plural = "service aliases"
        constraints = [models.UniqueConstraint(fields=["service", "key"], name="catalogue_alias_unique")]

    def __str__(self) -> str:
        return self.alias

    def save(self, *args, **kwargs) -> None:
        self.key = search_key(self.alias)
        super().save(*args, **kwargs)


class ProblemType(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="problem_types")
    code = models.SlugField(max_length=30)
    label = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "outages_problemtype"
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="outages_problemtype_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.service.slug}: {self.code}"

    @property
    def display_label(self) -> str:
        """The translated label for the default types, the admin's text for others."""
        default = DEFAULT_PROBLEM_TYPES.get(self.code)
        if default is not None:
            with translation.override("en"):
                unchanged = self.label == str(default)
            if unchanged:
                return str(default)
        return self.label
