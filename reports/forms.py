from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from catalogue.models import ProblemType
from reports.comments import COMMENT_MAX_LENGTH


class ReportForm(forms.Form):
    problem = forms.ChoiceField(label=_("What is not working?"), widget=forms.RadioSelect)
    # Checked by reports.comments.comment_clean in the intake, as the API's; maxlength only
    # spares people typing past the limit.
    comment = forms.CharField(
        required=False,
        label=_("Comment (optional)"),
        help_text=_("A few words others will see once a reviewer approves them; no links."),
        widget=forms.Textarea(
            attrs={"rows": 2, "maxlength": COMMENT_MAX_LENGTH, "aria-describedby": "id_comment_help"}
        ),
    )
    # Honeypot: hidden from people by CSS and from assistive tech by aria-hidden; bots
    # that fill every field give themselves away.
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, problem_types: list[ProblemType], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        problem_field = self.fields["problem"]
        assert isinstance(problem_field, forms.ChoiceField)
        problem_field.choices = [(problem.code, problem.display_label) for problem in problem_types]
        # The page loads the proof-of-work solver only when the server will ask for a proof.
        self.pow_required = settings.POW_DIFFICULTY > 0

    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))
