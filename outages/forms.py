"""Filters of the public incident list, validated: a bad value is a 400 that says what to fix.
Category and country are select lists of what the catalogue and the located reports hold."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from catalogue.models import Service
from catalogue.selectors import category_choices
from geo.countries import UnknownCountry, country_code, selectable_countries

ONGOING_CHOICES = [("", _("Any")), ("true", _("Ongoing")), ("false", _("Resolved"))]


class LowerCaseChoiceField(forms.ChoiceField):
    """A select list whose values a hand-written address may spell in another case."""

    def __init__(self, *, upper: bool = False, **kwargs) -> None:
        self.upper = upper
        super().__init__(**kwargs)

    def to_python(self, value) -> str:
        text = super().to_python(value).strip()
        return text.upper() if self.upper else text.lower()


class IncidentFilterForm(forms.Form):
    service = forms.SlugField(required=False, label=_("Service"))
    category = LowerCaseChoiceField(
        required=False,
        label=_("Category"),
        error_messages={"invalid_choice": _("No category %(value)s; pick one from the list.")},
    )
    country = LowerCaseChoiceField(
        upper=True,
        required=False,
        label=_("Country"),
        error_messages={"invalid_choice": _("Give a two-letter country code, such as IT.")},
    )
    date = forms.DateField(required=False, label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    ongoing = forms.ChoiceField(choices=ONGOING_CHOICES, required=False, label=_("State"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["category"]).choices = [
            ("", _("All categories")),
            *category_choices(),
        ]
        # A country with no located reports yet is still a valid filter (an empty list).
        try:
            asked = country_code(self.data.get("country")) if self.is_bound else ""
        except UnknownCountry:
            asked = ""
        cast(forms.ChoiceField, self.fields["country"]).choices = [
            ("", _("Worldwide")),
            *selectable_countries(asked),
        ]

    def clean_service(self) -> Service | None:
        slug = self.cleaned_data["service"]
        if not slug:
            return None
        service = Service.objects.filter(slug=slug).first()
        if service is None:
            raise forms.ValidationError(_("No service %(slug)s; pick one from the list.") % {"slug": slug})
        return service

    def clean_ongoing(self) -> bool | None:
        return {"true": True, "false": False}.get(self.cleaned_data["ongoing"])

    def query(self) -> dict:
        data = self.cleaned_data
        return {
            "service_id": data["service"].pk if data["service"] else None,
            "category": data["category"],
            "country": data["country"],
            "day": data["date"],
            "ongoing": data["ongoing"],
        }
