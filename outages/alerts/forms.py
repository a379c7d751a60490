from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from outages.alerts.models import WebhookSubscription


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", label=_("Webhook URL"))

    class Meta:
        model = WebhookSubscription
        fields = ["url"]
        help_texts = {"url": _("We POST JSON (Slack-compatible) to it when a new incident opens.")}

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.startswith("https://"):
            raise forms.ValidationError(_("Use an https:// address."))
        return url


class EmailAlertForm(forms.Form):
    email = forms.EmailField(max_length=254, label=_("Email address"))
