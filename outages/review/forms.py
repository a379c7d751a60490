from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from catalogue.models import Service
from outages.models import Incident
from outages.review.models import DismissReason, ReviewAction
from outages.review.moderation import COMMENT_DECISIONS
from outages.review.services import DISMISS_REASONS
from reports.models import Comment

Kind = ReviewAction.Kind


class QueueFilterForm(forms.Form):
    service: forms.ModelChoiceField[Service] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("All services"), label=_("Service")
    )
    status = forms.ChoiceField(
        choices=[("", _("Any status")), *Incident.Status.choices], required=False, label=_("Status")
    )
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Day"))

    def __init__(self, *args: Any, services: QuerySet[Service], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        service = self.fields["service"]
        assert isinstance(service, forms.ModelChoiceField)
        service.queryset = services


class ActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            (kind.value, kind.label)
            for kind in (Kind.CONFIRM, Kind.DISMISS, Kind.RESOLVE, Kind.REOPEN, Kind.MERGE)
        ],
        label=_("Action"),
    )
    reason = forms.ChoiceField(
        choices=[("", "—"), *((reason.value, reason.label) for reason in DISMISS_REASONS)],
        required=False,
        label=_("Reason for dismissing"),
    )
    merge_into = forms.IntegerField(required=False, min_value=1, label=_("Merge into"))
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note")
    )
    public_note = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}), label=_("Public note")
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("action") == Kind.DISMISS and not data.get("reason"):
            self.add_error("reason", _("Say why the incident is dismissed."))
        if data.get("action") == Kind.MERGE and not data.get("merge_into"):
            self.add_error("merge_into", _("Choose the incident to merge into."))
        return data


class ExcludeNetworkForm(forms.Form):
    # Its own ids: it shares the incident page with ActionForm, which has a `note` too.
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "exclude_%s")
        super().__init__(*args, **kwargs)

    # The stubs see a class attribute overriding BaseForm.prefix, but Django's form metaclass
    # moves declared fields into base_fields, so the attribute stays; the field name is public.
    prefix = forms.CharField(  # type: ignore[assignment]
        max_length=120,
        label=_("Network"),
        help_text=_(
            "A network at any level the signals show: a /24, /64 or /48 (e.g. 93.56.1.0/24), a hash "
            "from the signals, or operator:<name> for this incident's reports from that operator."
        ),
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label=_("Note")
    )


class CommentActionForm(forms.Form):
    """One click on a comment (one `comment` value) or the bulk buttons (the ticked ones)."""

    action = forms.ChoiceField(choices=[(kind.value, kind.label) for kind in map(Kind, COMMENT_DECISIONS)])
    comment = forms.ModelMultipleChoiceField(
        queryset=Comment.objects.all(), error_messages={"required": _("Tick at least one comment.")}
    )
    # The list to go back to.
    state = forms.ChoiceField(
        choices=[(state, state) for state in (Comment.State.PENDING, Comment.State.APPROVED)],
        required=False,
    )


__all__ = ["ActionForm", "CommentActionForm", "DismissReason", "ExcludeNetworkForm", "QueueFilterForm"]
