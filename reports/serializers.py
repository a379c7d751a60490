from __future__ import annotations

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers

from catalogue.models import DEFAULT_PROBLEM
from reports.api_time import DateTimeField


class CommentField(serializers.CharField):
    """Any string, as sent: reports.comments.comment_clean (in the intake) checks it for both
    API paths and the form, so DRF's own length and NUL checks would only answer the same
    mistakes differently."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(validator, ProhibitNullCharactersValidator)
        ]

    def to_internal_value(self, data):
        if not isinstance(data, str):  # DRF would take 5 as "5"
            self.fail("invalid")
        return data


class ReportInputSerializer(serializers.Serializer):
    service = serializers.SlugField(max_length=50, help_text="The service's slug, e.g. chatgpt.")
    problem = serializers.SlugField(
        max_length=30,
        default=DEFAULT_PROBLEM,
        help_text="What is broken: app, login, website, connection, other.",
    )
    pow_challenge = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Only when proof of work is on: a challenge from GET /api/v1/pow/.",
    )
    pow_nonce = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Only when proof of work is on: sha256(pow_challenge + pow_nonce) starts with "
        "`difficulty` zero bits.",
    )
    comment = CommentField(
        required=False,
        help_text="Optional, shown on the service page once a reviewer approves it: at most 280 "
        "characters, no links, domains (also written evil[.]com or in look-alike letters), e-mail "
        "addresses, IP addresses with a port, markup, control or invisible characters, or stacked "
        "accents (else 400 invalid_comment, `detail` says what to fix, and nothing is stored). "
        "Kept only with a counted report, and a few a day per network.",
    )


class PowChallengeSerializer(serializers.Serializer):
    challenge = serializers.CharField(help_text="Signed, single use; send it back as pow_challenge.")
    difficulty = serializers.IntegerField(
        help_text="Leading zero bits required; 0 when proof of work is off."
    )
    expires = serializers.IntegerField(help_text="Unix time after which the challenge is refused.")


class LocationSerializer(serializers.Serializer):
    city = serializers.CharField(
        allow_null=True, help_text="English name, null when only the country is known."
    )
    city_local = serializers.CharField(
        allow_null=True,
        help_text="The name used locally where known (Milano for Milan), else the English name.",
    )
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2 code.")
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)


class ReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField()
    problem = serializers.CharField()
    counted = serializers.BooleanField(help_text="False for a repeat within the dedupe window.")
    created_at = DateTimeField()
    location = LocationSerializer(allow_null=True)
    comment_stored = serializers.BooleanField(
        required=False,
        help_text="Only when a comment was sent: true when it was kept for review, false when not "
        "(a repeat report, or the network's comments for today are used up).",
    )


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable machine-readable code.")
    detail = serializers.CharField(help_text="What went wrong and how to fix it.")
    valid = serializers.ListField(child=serializers.CharField(), required=False)
    # The stubs see a class attribute overriding Serializer.fields, but DRF's metaclass moves
    # declared fields into _declared_fields, so the property stays; the JSON key is public.
    fields = serializers.DictField(required=False)  # type: ignore[assignment]
