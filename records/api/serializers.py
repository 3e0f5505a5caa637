"""The record's API: every field declared, so that the OpenAPI schema says exactly what each call returns.

Words (kinds, flags, explanations, preventive care) are in the language the call asked for (Accept-Language).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from records.api.reads import SourceLine, flag_of
from records.models import Connection, RecordSource, Sensitivity
from records.sections import REFERENCE_KINDS, TIMELINE_KINDS, RecordItem
from records.units import display_unit

# Named enums in the OpenAPI schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
TIMELINE_KIND_CHOICES = list(TIMELINE_KINDS)
RECORD_KIND_CHOICES = [*TIMELINE_KINDS, *REFERENCE_KINDS]  # an item may also be a person or a place
SOURCE_KIND_CHOICES = ["connection", "upload"]
RESULT_KIND_CHOICES = ["lab", "vital"]
CARE_STATUS_CHOICES = ["due", "up_to_date"]

FLAG_HELP = _(
    'The flag code the portal explains: the result\'s own interpretation code (H, L, A…), "above" or "below" '
    'its range, "N" within it, "" when nothing is known.'
)


class RangeSerializer(serializers.Serializer):
    low = serializers.FloatField(source="ref_low", allow_null=True)
    high = serializers.FloatField(source="ref_high", allow_null=True)
    text = serializers.CharField(source="ref_text", help_text=_("The range in words, when the source gave no numbers."))


class RecordItemSerializer(serializers.Serializer):
    """One thing in the record, shown once however many sources hold it (the newest copy leads)."""

    id = serializers.IntegerField(source="row.pk", help_text=_("The item's id (items/{id}/; results/{id}/ too)."))
    kind = serializers.ChoiceField(source="row.kind", choices=RECORD_KIND_CHOICES)
    kind_label = serializers.CharField()
    resource_type = serializers.CharField(source="row.resource_type")
    name = serializers.CharField(source="row.display")
    code_system = serializers.CharField(source="row.code_system")
    code = serializers.CharField(source="row.code")
    status = serializers.CharField(source="row.status")
    effective_at = serializers.DateTimeField(source="row.effective_at", allow_null=True)
    date_precision = serializers.SerializerMethodField(
        help_text=_('"year", "month" or "day" when the source gave no time (the date is that calendar day).')
    )
    day = serializers.DateField(allow_null=True, help_text=_("The calendar day the item is about."))
    value_number = serializers.FloatField(source="row.value_number", allow_null=True)
    value_text = serializers.CharField(source="row.value_text")
    unit = serializers.CharField(source="row.unit")
    reference_range = RangeSerializer(source="row")
    abnormal = serializers.BooleanField(source="row.abnormal", allow_null=True)
    flag = serializers.SerializerMethodField(help_text=FLAG_HELP)
    sensitive = serializers.SerializerMethodField(
        help_text=_("Marked sensitive or confidential by its source (never shown to those it is hidden from).")
    )
    is_current = serializers.BooleanField()
    sources = serializers.ListField(child=serializers.CharField(), help_text=_("Every source's name."))
    copies = serializers.IntegerField(help_text=_("How many copies of this item the sources hold."))

    def get_date_precision(self, item: RecordItem) -> str | None:
        precision = (item.row.details or {}).get("date_precision")
        return str(precision) if precision else None

    def get_flag(self, item: RecordItem) -> str:
        return flag_of(item.row)

    def get_sensitive(self, item: RecordItem) -> bool:
        return bool(item.row.sensitivity != Sensitivity.NORMAL)


class ResultLineSerializer(serializers.Serializer):
    """A test on the results list: its latest value and how many there are (every value: the result's trend)."""

    name = serializers.CharField(source="latest.row.display")
    code_system = serializers.CharField(source="latest.row.code_system")
    code = serializers.CharField(source="latest.row.code")
    loinc = serializers.CharField()
    count = serializers.IntegerField()
    latest = RecordItemSerializer()


class FlagWordsSerializer(serializers.Serializer):
    code = serializers.CharField()
    words = serializers.CharField()
    explanation = serializers.CharField()


class ExplanationSerializer(serializers.Serializer):
    """General words about a test (written by the portal, not by the care team)."""

    loinc = serializers.CharField()
    name = serializers.CharField()
    about = serializers.CharField()
    high = serializers.CharField(help_text=_("What a value above the range can mean."))
    low = serializers.CharField(help_text=_("What a value below the range can mean."))


class ComponentSerializer(serializers.Serializer):
    code = serializers.CharField(default="")
    display = serializers.CharField(default="")
    value = serializers.FloatField(allow_null=True)
    unit = serializers.CharField(default="")


class TrendPointSerializer(serializers.Serializer):
    when = serializers.DateTimeField()
    value = serializers.FloatField(help_text=_("In the trend's unit."))
    abnormal = serializers.BooleanField(allow_null=True)
    sources = serializers.CharField(source="label", help_text=_("Where the value came from."))


class TrendSerializer(serializers.Serializer):
    """One test's values from every source, converted to the unit most of them use."""

    unit = serializers.CharField(help_text=_("The unit every point is in (UCUM)."))
    unit_display = serializers.SerializerMethodField()
    low = serializers.FloatField(allow_null=True, help_text=_("The usual range's low end, in the trend's unit."))
    high = serializers.FloatField(allow_null=True)
    left_out = serializers.IntegerField(help_text=_("Values that could not be converted (they are in history)."))
    points = TrendPointSerializer(many=True)

    def get_unit_display(self, trend: Any) -> str:
        return display_unit(trend.unit)


class ResultDetailSerializer(RecordItemSerializer):
    """A test result: value, range, flag and its words, report, parts, corrections, explanation, trend."""

    revised = serializers.BooleanField(help_text=_("Corrected or amended after it was first reported."))
    ordered_by = serializers.SerializerMethodField()
    performed_by = serializers.SerializerMethodField()
    flag_words = FlagWordsSerializer(allow_null=True)
    explanation = ExplanationSerializer(allow_null=True)
    report = RecordItemSerializer(allow_null=True, help_text=_("The report this result belongs to."))
    report_results = RecordItemSerializer(many=True, help_text=_("Every result of that report."))
    components = ComponentSerializer(many=True, help_text=_("The parts of a panel (blood pressure…)."))
    trend = TrendSerializer()
    history = RecordItemSerializer(many=True, help_text=_("Every value of this test, newest first, as given."))

    def get_ordered_by(self, item: RecordItem) -> str:
        return str((item.row.details or {}).get("ordered_by") or "")

    def get_performed_by(self, item: RecordItem) -> str:
        return str((item.row.details or {}).get("performed_by") or "")


class ItemDetailSerializer(RecordItemSerializer):
    """One item of the record, with every source that holds it and the FHIR resource as its source sent it."""

    ordered_by = serializers.SerializerMethodField()
    performed_by = serializers.SerializerMethodField()
    details = serializers.DictField(source="row.details", help_text=_("What the portal read from the resource."))
    report_results = RecordItemSerializer(many=True, help_text=_("A report's results."))
    raw = serializers.DictField(help_text=_("The FHIR R4 resource, as its source sent it."))

    def get_ordered_by(self, item: RecordItem) -> str:
        return str((item.row.details or {}).get("ordered_by") or "")

    def get_performed_by(self, item: RecordItem) -> str:
        return str((item.row.details or {}).get("performed_by") or "")


class CareItemSerializer(serializers.Serializer):
    """A preventive-care rule that applies to the person, with the newest item of the record that counts."""

    rule = serializers.CharField()
    title = serializers.CharField()
    how_often = serializers.CharField()
    guideline = serializers.CharField()
    status = serializers.ChoiceField(choices=CARE_STATUS_CHOICES)
    last_done = serializers.DateField(allow_null=True)
    last_source = serializers.CharField()
    due_on = serializers.DateField(allow_null=True)


class ConnectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    health_system = serializers.CharField(source="health_system.name")
    status = serializers.CharField()
    status_label = serializers.SerializerMethodField()

    def get_status_label(self, connection: Connection) -> str:
        return str(connection.get_status_display())


class RecordSummarySerializer(serializers.Serializer):
    """The record's home page: what is new, what is current, what is due, what needs the person."""

    since = serializers.DateTimeField(allow_null=True, help_text=_("The previous visit; null on a first visit."))
    new = RecordItemSerializer(many=True, help_text=_("New since the previous visit."))
    problems = RecordItemSerializer(many=True)
    medications = RecordItemSerializer(many=True)
    allergies = RecordItemSerializer(many=True)
    vitals = ResultLineSerializer(many=True, help_text=_("The latest measurements."))
    upcoming = RecordItemSerializer(many=True, help_text=_("Upcoming appointments."))
    preventive_care = CareItemSerializer(source="care", many=True)
    connections_needing_attention = ConnectionSerializer(source="connections", many=True)


class SourceConnectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    health_system = serializers.CharField(source="health_system.name")


class SourceSerializer(serializers.Serializer):
    """Where records came from: a connected health system, or the person's uploaded files."""

    id = serializers.IntegerField(source="source.pk", help_text=_("For the timeline's source filter."))
    name = serializers.CharField(source="source.label")
    kind = serializers.ChoiceField(source="source.kind", choices=SOURCE_KIND_CHOICES)
    kind_label = serializers.SerializerMethodField()
    items = serializers.IntegerField(help_text=_("The items of this source the caller may read."))
    connection = SourceConnectionSerializer(allow_null=True)

    def get_kind_label(self, line: SourceLine) -> str:
        source: RecordSource = line.source
        return str(source.get_kind_display())


# Queries --------------------------------------------------------------------------------------------------


class TimelineQuerySerializer(serializers.Serializer):
    """The timeline's filters (the page's): a kind, a source, one day or a range of days."""

    kind = serializers.ChoiceField(choices=TIMELINE_KIND_CHOICES, required=False)
    source_id = serializers.IntegerField(min_value=1, required=False, help_text=_("A source's id (sources/)."))
    on = serializers.DateField(required=False, help_text=_("One day (YYYY-MM-DD)."))
    start = serializers.DateField(required=False, help_text=_("From this day on (YYYY-MM-DD)."))
    end = serializers.DateField(required=False, help_text=_("Up to this day (YYYY-MM-DD)."))

    def get_fields(self) -> dict[str, serializers.Field]:
        """`source`, `from` and `to` in the query, the page's names (which cannot name a field in Python here)."""
        fields = super().get_fields()
        fields["source"] = fields.pop("source_id")
        fields["source"].source = "source_id"
        fields["from"] = fields.pop("start")
        fields["from"].source = "start"
        fields["to"] = fields.pop("end")
        fields["to"].source = "end"
        return fields

    def validate_source(self, value: int) -> int:
        if value not in self.context["source_ids"]:
            raise serializers.ValidationError(_("Not one of this record's sources."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start: date | None = attrs.get("start")
        end: date | None = attrs.get("end")
        if attrs.get("on") is not None and (start is not None or end is not None):
            raise serializers.ValidationError({"on": [_("Give one day, or a range, not both.")]})
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError({"to": [_("The end of the range is before its start.")]})
        return attrs


class ResultsQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=RESULT_KIND_CHOICES, default="lab", help_text=_('"lab": test results (default); "vital": measurements.')
    )
