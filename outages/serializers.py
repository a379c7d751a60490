"""Shapes of the status API (outages.api): query parameters in, JSON out. No logic here."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from outages.models import WORLD, Incident, ServiceStatus
from outages.official.models import OfficialSource, OfficialState
from outages.peak import Peak
from outages.presenters import operator_fields
from reports.api_time import DateTimeField, json_datetime

TIMESERIES_BUCKETS = (1, 5, 15, 30, 60)


def country_field():
    # Checked by geo.countries.api_country, which answers 400 invalid_country for a bad code.
    return serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="A two-letter ISO 3166 country code (IT, US): the status and numbers in that country. "
        "Absent or 'all': worldwide.",
    )


class CountryQuerySerializer(serializers.Serializer):
    country = country_field()


class TimeseriesQuerySerializer(serializers.Serializer):
    hours = serializers.IntegerField(default=24, min_value=1, max_value=168, help_text="1 to 168.")
    bucket = serializers.ChoiceField(
        choices=TIMESERIES_BUCKETS, default=15, help_text="Bucket size in minutes."
    )
    country = country_field()


class CitiesQuerySerializer(serializers.Serializer):
    minutes = serializers.IntegerField(default=60, min_value=5, max_value=1440, help_text="5 to 1440.")
    limit = serializers.IntegerField(default=50, min_value=1, max_value=200)
    country = country_field()


class ServicesQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False, max_length=100, help_text='Name, slug or alias ("open ai", "psn"): for autocomplete.'
    )
    country = country_field()


class IncidentsQuerySerializer(serializers.Serializer):
    service = serializers.SlugField(required=False, help_text="A service's slug.")
    status = serializers.ChoiceField(
        choices=[Incident.Status.SUSPECTED, Incident.Status.CONFIRMED],
        required=False,
        help_text="The review state. Dismissed (and merged) incidents are never public.",
    )
    ongoing = serializers.BooleanField(
        required=False, default=None, allow_null=True, help_text="true: still going on; false: resolved."
    )
    limit = serializers.IntegerField(default=50, min_value=1, max_value=200)
    country = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Only incidents with an affected city in this country (IT).",
    )

    def to_internal_value(self, data):
        if data.get("status") == Incident.Status.DISMISSED:
            raise serializers.ValidationError(
                {"status": ["Dismissed and merged incidents are not public; use suspected or confirmed."]}
            )
        return super().to_internal_value(data)


class OperatorSerializer(serializers.Serializer):
    asn = serializers.IntegerField(
        allow_null=True, help_text="AS number; null when the ASN table has names only."
    )
    name = serializers.CharField(help_text="The operator (ISP), e.g. Vodafone Italia.")
    share = serializers.FloatField(help_text="Its share of the recent reports, 0-1.")
    usual_share = serializers.FloatField(
        allow_null=True,
        help_text="Its usual share of this service's reports from where the recent ones come from (of "
        "the Italian reports, for reports from Italy), 0-1; null before any history.",
    )


class OfficialRecordSerializer(serializers.Serializer):
    compared = serializers.IntegerField(
        help_text="Of the service's latest 50 public incidents, those its official page also marked."
    )
    earlier = serializers.IntegerField(help_text="Of those, the ones Downradar saw first.")
    median_minutes = serializers.IntegerField(
        allow_null=True, help_text="By how many minutes it was first, the median over those; null if none."
    )
    text = serializers.CharField(help_text="The same in words, as on the service page.")


class OfficialSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=OfficialState.State.choices,
        allow_null=True,
        help_text="The official status page's state: ok, maintenance, minor, major, critical (Statuspage's "
        "indicator) or incident (an open incident in a feed); null until first read.",
    )
    problem = serializers.ChoiceField(
        choices=OfficialSource.Problem.choices,
        allow_blank=True,
        help_text="unreachable or unreadable when the last poll could not read the page; else empty.",
    )
    text = serializers.CharField(help_text="The state, or the problem, in words.")
    changed_at = serializers.CharField(allow_null=True, help_text="When the state last changed (UTC, Z).")
    changed_text = serializers.CharField(help_text="The same in the service's time zone, as on the page.")
    url = serializers.URLField(help_text="The official status page.")
    lead_minutes = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Service detail only: minutes the ongoing incident began before the official page "
        "marked a problem (negative: the official page was first); null if it has not.",
    )
    lead_text = serializers.CharField(required=False, help_text="Service detail only: the same in words.")
    record = OfficialRecordSerializer(required=False, help_text="Service detail only: the running record.")


class ServiceStatusSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    category = serializers.CharField()
    country = serializers.CharField(
        help_text="The country the status, counts and cities are for (?country=); empty: worldwide."
    )
    status = serializers.ChoiceField(
        choices=ServiceStatus.Tier.choices,
        help_text="The public status, the same on every page and feed: ok, warning (possible problems) or "
        "outage (problems detected). It follows the reports and the open incident: a confirmed, "
        "ongoing incident is an outage; an ongoing one keeps at least warning until it resolves.",
    )
    status_reason = serializers.ChoiceField(
        choices=ServiceStatus.Reason.choices,
        help_text="Why: normal, spike (reports well above the usual level), regional (up in some cities), "
        "incident_open, confirmed (a reviewer confirmed the ongoing incident), flood_suspected (most "
        "reports from a few networks: at most warning), isp (most reports from one operator's customers, "
        "far above its usual share: likely that operator's problem, at most warning; see operator), "
        "few_reports (reports from fewer distinct sites than a crowd: a few people, at most warning) or "
        "recovering (reports back to normal, the incident closes after a quiet spell).",
    )
    since = DateTimeField(
        allow_null=True,
        help_text="When the problems behind the status began: the start of the ongoing incident, or of "
        "its latest re-opening (see the incident's reopenings); null without one.",
    )
    score = serializers.FloatField(help_text="Surprise of the recent reports: decimal digits, >= 0.")
    count = serializers.IntegerField(
        help_text="Reports in the clock-aligned 15 minutes holding updated_at, up to it "
        "(the window of the chart's buckets and of peak_count)."
    )
    baseline = serializers.FloatField(
        allow_null=True, help_text="Reports expected in those minutes; null before any history."
    )
    updated_at = DateTimeField(allow_null=True, help_text="The minute the status was computed for.")
    operator = OperatorSerializer(
        allow_null=True, help_text="With status_reason isp: the operator the reports come from; else null."
    )
    official = OfficialSerializer(
        allow_null=True,
        help_text="The service's official status page, polled each minute (docs/official.md); null if it "
        "names none.",
    )


class ProblemShareSerializer(serializers.Serializer):
    code = serializers.CharField()
    # The stubs see a class attribute overriding Field.label, but DRF's metaclass moves declared
    # fields into _declared_fields, so the attribute stays; the JSON key is public.
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()
    percent = serializers.IntegerField()


class CityRowSerializer(serializers.Serializer):
    city = serializers.CharField(help_text="English name.")
    city_local = serializers.CharField(help_text="The name used locally where known (Milano), else English.")
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2 code.")
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()
    baseline = serializers.FloatField(help_text="Reports expected in the window.")
    ratio = serializers.FloatField(help_text="count / baseline.")


class IncidentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Incident.Status.choices, help_text="The review state.")
    ongoing = serializers.BooleanField()
    started_at = DateTimeField()
    resolved_at = DateTimeField(allow_null=True)


class ServiceDetailSerializer(ServiceStatusSerializer):
    home_url = serializers.URLField(allow_blank=True)
    status_page_url = serializers.URLField(allow_blank=True)
    problems = ProblemShareSerializer(many=True, help_text="Problem types in the last 24 hours.")
    cities = CityRowSerializer(many=True, help_text="Most affected cities in the last 60 minutes.")
    incident = IncidentRefSerializer(
        allow_null=True, help_text="The ongoing public incident behind the status, if any."
    )


class BucketSerializer(serializers.Serializer):
    start = DateTimeField()
    count = serializers.IntegerField()
    baseline = serializers.FloatField(allow_null=True, help_text="Reports expected in the bucket.")
    upper = serializers.FloatField(
        allow_null=True, help_text="Above this count the bucket alone would raise a warning."
    )


class IncidentCitySerializer(serializers.Serializer):
    city = serializers.CharField(source="city.name_en")
    city_local = serializers.SerializerMethodField()
    country = serializers.CharField(source="city.country_code")
    lat = serializers.FloatField(source="city.latitude", allow_null=True)
    lon = serializers.FloatField(source="city.longitude", allow_null=True)
    count = serializers.IntegerField(help_text="Reports from the city since the incident began.")
    excess = serializers.SerializerMethodField(help_text="Reports above the city's baseline.")

    def get_city_local(self, row) -> str:
        return row.city.native_name

    def get_excess(self, row) -> int:
        return max(round(row.excess), 0)


class EscalationSerializer(serializers.Serializer):
    at = DateTimeField(help_text="The minute reports rose sharply again (outages.escalations).")
    count = serializers.IntegerField(help_text="Reports in the 15 minutes ending then.")
    previous_peak = serializers.IntegerField(help_text="The incident's peak before those 15 minutes.")


class ReopeningSerializer(serializers.Serializer):
    at = DateTimeField(help_text="The minute the incident was ongoing again.")
    resolved_at = DateTimeField(help_text="The resolution it undid.")


class IncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField(source="service.slug")
    status = serializers.ChoiceField(
        choices=Incident.Status.choices,
        help_text="The review state: suspected until a reviewer confirms it (dismissed ones are never "
        "listed). Since API 1.1 it is never 'resolved': see resolved_at and ongoing.",
    )
    ongoing = serializers.BooleanField(help_text="True while the incident goes on (resolved_at is null).")
    started_at = DateTimeField(help_text="The first minute of the reports that opened it.")
    last_spike_at = DateTimeField()
    resolved_at = DateTimeField(allow_null=True, help_text="Null while ongoing.")
    peak_count = serializers.SerializerMethodField(
        help_text="Reports in the busiest clock-aligned 15-minute bucket; with ?country=, that country's."
    )
    peak_at = serializers.SerializerMethodField(help_text="Start of that bucket, never before started_at.")
    excess_reports = serializers.SerializerMethodField(
        help_text="Reports above the baseline in all, worldwide (detection's own measure)."
    )
    problems = serializers.SerializerMethodField(
        help_text='[{"code", "count"}], ranked; with ?country=, from that country\'s reports since the '
        "incident began."
    )
    cities = serializers.SerializerMethodField(
        help_text="Affected cities, most affected first: the highest reports over the city's own usual "
        "(never read against fewer than 5 usual reports), then the most reports (docs/detection.md, Cities); "
        "with ?country=, those in that country."
    )
    operator = serializers.SerializerMethodField(
        help_text="When most reports come from one operator's customers, far above its usual share: "
        '{"asn", "name", "share", "usual_share"}; else null.'
    )
    official_lead_minutes = serializers.IntegerField(
        allow_null=True,
        help_text="Minutes the incident began before the service's official status page first marked a "
        "problem (from 15 minutes before its start until it resolved); negative: the official page was "
        "first; null: it did not, or the service names no official page.",
    )
    escalations = EscalationSerializer(
        many=True,
        source="escalations.all",
        help_text="Each time reports rose sharply again above the incident's earlier peak (docs/detection.md, Escalations), oldest first.",
    )
    reopenings = ReopeningSerializer(
        many=True,
        source="reopenings.all",
        help_text="Each time the incident had resolved and was ongoing again (reports rose again soon after, "
        "or a reviewer re-opened it), oldest first.",
    )

    def get_peak_count(self, incident) -> int:
        peak = self._peak_in_scope(incident)
        return incident.peak_count if peak is None else peak.count

    @extend_schema_field(DateTimeField())
    def get_peak_at(self, incident) -> str:
        peak = self._peak_in_scope(incident)
        return json_datetime(incident.peak_at if peak is None else peak.start)

    def _peak_in_scope(self, incident) -> Peak | None:
        """The incident's peak in the country asked for (context "peaks", from
        outages.public.incident_peaks_in); None worldwide, where the stored peak is the one."""
        peaks = self.context.get("peaks")
        return None if peaks is None else peaks[incident.pk]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_problems(self, incident) -> list[dict]:
        """Worldwide, the problems detection stored; in the country asked for, that country's
        (context "problems", from outages.public.incident_problems_in)."""
        problems = self.context.get("problems")
        if problems is None:
            return incident.problems
        return [{"code": code, "count": count} for code, count in problems.get(incident.pk, [])]

    @extend_schema_field(IncidentCitySerializer(many=True))
    def get_cities(self, incident) -> list[dict]:
        scope = self.context.get("country", WORLD)
        return list(IncidentCitySerializer(incident.affected_cities(scope), many=True).data)

    def get_excess_reports(self, incident) -> int:
        return max(round(incident.excess_reports), 0)

    @extend_schema_field(OperatorSerializer(allow_null=True))
    def get_operator(self, incident) -> dict | None:
        return operator_fields(incident.operator)
