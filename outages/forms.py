"""Filters of the public incident list, validated: a bad value is a 400 that says what to fix."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from catalogue.models import Service

ONGOING_CHOICES = [("", _("Any")), ("true", _("Ongoing")), ("false", _("Resolved"))]


class IncidentFilterForm(forms.Form):
    service = forms.SlugField(required=False, label=_("Service"))
    category = forms.SlugField(required=False, label=_("Category"))
    country = forms.RegexField(
        regex=r"^[A-Za-z]{2}$",
        required=False,
        label=_("Country"),
        error_messages={"invalid": _("Give a two-letter country code, such as IT.")},
    )
    date = forms.DateField(required=False, label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    ongoing = forms.ChoiceField(choices=ONGOING_CHOICES, required=False, label=_("State"))

    def clean_service(self) -> Service | None:
        slug = self.cleaned_data["service"]
        if not slug:
            return None
        service = Service.objects.filter(slug=slug).first()
        if service is None:
            raise forms.ValidationError(_("No service %(slug)s; pick one from the list.") % {"slug": slug})
        return service

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()

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
