"""What the record's API answers and accepts for the person's own choices and entries: shared links, the journal,
home measurements and privacy choices. Every field declared, so the OpenAPI schema says exactly what each call
returns; bodies are checked here for their shape, then by the page's own form (records.api.forms).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from records.models import (
    GLUCOSE_UNITS,
    JOURNAL_TEXT_MAX,
    WEIGHT_UNITS,
    EntryKind,
    GlucoseContext,
    MeasurementKind,
    QuestionState,
    SensitiveCategory,
    ShareContent,
    ShareExpiry,
    ShareLink,
    ShareOpening,
    ShareOutcome,
)
from records.patient_data import MeasurementLine
from records.patient_forms import NOTE_MAX
from records.shlinks import LABEL_MAX
from records.units import display_unit

# Named enums in the OpenAPI schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
DOWNLOAD_FORMAT_CHOICES = ["pdf", "csv", "fhir"]
SHARE_STATE_CHOICES = ["active", "revoked", "locked", "expired"]
SHARE_CONTENT_CHOICES = list(ShareContent.values)
SHARE_DAYS_CHOICES = ShareExpiry.choices  # (days, words): numbers, which the schema's enum override takes as pairs
SHARE_OUTCOME_CHOICES = list(ShareOutcome.values)
ENTRY_KIND_CHOICES = list(EntryKind.values)
QUESTION_STATE_CHOICES = list(QuestionState.values)
MEASUREMENT_KIND_CHOICES = list(MeasurementKind.values)
MEASUREMENT_UNIT_CHOICES = [*WEIGHT_UNITS, *GLUCOSE_UNITS]
GLUCOSE_CONTEXT_CHOICES = list(GlucoseContext.values)
SENSITIVE_CATEGORY_CHOICES = list(SensitiveCategory.values)


# Shared links ----------------------------------------------------------------------------------------------


class ShareLinkSerializer(serializers.Serializer):
    """A SMART Health Link made for this record: where it stands, never its key (see its detail for that)."""

    id = serializers.IntegerField()
    # A field named "label" (the link's, as the page and the action call it): DRF's metaclass takes declared
    # fields out of the class, so it never shadows Field.label, but the stubs cannot know that.
    label = serializers.CharField(help_text=_("The name shown to whoever opens it."))  # type: ignore[assignment]
    state = serializers.ChoiceField(
        choices=SHARE_STATE_CHOICES,
        help_text=_('"active" while it works; "revoked", "locked" (too many wrong passcodes) or "expired" after.'),
    )
    expires_at = serializers.DateTimeField()
    has_passcode = serializers.BooleanField()
    content = serializers.ChoiceField(choices=SHARE_CONTENT_CHOICES, help_text=_("The whole record, or a range."))
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    entries = serializers.IntegerField(help_text=_("How many resources the snapshot holds."))
    created_at = serializers.DateTimeField()
    made_by = serializers.SerializerMethodField(help_text=_("Who made it (null when that account is gone)."))
    made_by_you = serializers.SerializerMethodField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    openings_count = serializers.IntegerField(help_text=_("How many times someone used it (opened or tried)."))

    def get_made_by(self, link: ShareLink) -> str | None:
        user = link.created_by
        return (user.full_name or user.email) if user is not None else None

    def get_made_by_you(self, link: ShareLink) -> bool:
        user = self.context.get("user")
        return user is not None and link.created_by_id == user.pk


class ShareOpeningSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    recipient = serializers.CharField(help_text=_("Who the viewer said was opening it."))
    outcome = serializers.ChoiceField(choices=SHARE_OUTCOME_CHOICES)
    outcome_label = serializers.SerializerMethodField()

    def get_outcome_label(self, opening: ShareOpening) -> str:
        return str(opening.get_outcome_display())


class ShareLinkDetailSerializer(ShareLinkSerializer):
    """One link: while it works, the link itself (it holds the key) and its QR code; always, who used it."""

    shlink = serializers.CharField(
        allow_null=True, help_text=_('The link, "shlink:/…", for any SMART Health Links viewer (null once it ended).')
    )
    url = serializers.CharField(
        allow_null=True, help_text=_("The link with this portal's viewer in front: what a phone's camera opens.")
    )
    qr_svg = serializers.CharField(allow_null=True, help_text=_("The QR code of `url`, as SVG text."))
    remaining_attempts = serializers.IntegerField(help_text=_("Wrong passcodes left before it locks for good."))
    openings = ShareOpeningSerializer(many=True, help_text=_("Newest first, at most 200."))
    more_openings = serializers.BooleanField(help_text=_("There are older openings than those listed."))


class NewShareLinkSerializer(serializers.Serializer):
    """A new link (as the share page's form): a name, how long it works, a passcode if wanted, what it holds."""

    label = serializers.CharField(max_length=LABEL_MAX)  # type: ignore[assignment]  # see ShareLinkSerializer
    days = serializers.ChoiceField(choices=SHARE_DAYS_CHOICES, help_text=_("How long it works, in days."))
    passcode = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        max_length=128,
        write_only=True,
        help_text=_("At least 6 characters; whoever opens the link must type it. After 10 wrong tries it locks."),
    )
    content = serializers.ChoiceField(choices=SHARE_CONTENT_CHOICES, default=ShareContent.WHOLE.value)
    start = serializers.DateField(required=False, allow_null=True, default=None, help_text=_('With "dates".'))
    end = serializers.DateField(required=False, allow_null=True, default=None, help_text=_('With "dates".'))


# The journal ------------------------------------------------------------------------------------------------


class JournalEntrySerializer(serializers.Serializer):
    """An entry of the person's journal, as its page lists it."""

    id = serializers.IntegerField(source="entry.pk")
    kind = serializers.ChoiceField(source="entry.kind", choices=ENTRY_KIND_CHOICES)
    kind_label = serializers.CharField(source="entry.get_kind_display")
    text = serializers.CharField(source="entry.text")
    happened_on = serializers.DateField(source="entry.happened_on")
    question_state = serializers.ChoiceField(
        source="entry.question_state",
        choices=QUESTION_STATE_CHOICES,
        help_text=_('For a question: "open" (still to ask), "asked" or "answered".'),
    )
    written_by = serializers.CharField(source="by", help_text=_('"Written by NAME".'))
    author_name = serializers.CharField(source="entry.author_name")
    changeable = serializers.BooleanField(
        help_text=_("The caller may change or delete it (its author, or the patient).")
    )
    created_at = serializers.DateTimeField(source="entry.created_at")
    edited_at = serializers.DateTimeField(source="entry.edited_at", allow_null=True)


class JournalQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ENTRY_KIND_CHOICES, required=False, help_text=_("Only entries of a kind."))


class NewJournalEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ENTRY_KIND_CHOICES)
    text = serializers.CharField(
        max_length=JOURNAL_TEXT_MAX, help_text=_("Everyone who can see this record can read it.")
    )
    happened_on = serializers.DateField(required=False, help_text=_("Default: today. Not in the future."))


class JournalEntryChangeSerializer(serializers.Serializer):
    """What to change (fields left out stay as they are)."""

    kind = serializers.ChoiceField(choices=ENTRY_KIND_CHOICES, required=False)
    text = serializers.CharField(max_length=JOURNAL_TEXT_MAX, required=False)
    happened_on = serializers.DateField(required=False)
    question_state = serializers.ChoiceField(choices=QUESTION_STATE_CHOICES, required=False)


class QuestionStateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=QUESTION_STATE_CHOICES, default=QuestionState.ASKED.value)


# Home measurements ------------------------------------------------------------------------------------------


class MeasurementSerializer(serializers.Serializer):
    """A reading taken at home, in the unit it was taken in."""

    id = serializers.IntegerField(source="reading.pk")
    kind = serializers.ChoiceField(source="reading.kind", choices=MEASUREMENT_KIND_CHOICES)
    kind_label = serializers.CharField(source="reading.get_kind_display")
    measured_at = serializers.DateTimeField(source="reading.measured_at")
    systolic = serializers.IntegerField(source="reading.systolic", allow_null=True, help_text=_("mmHg"))
    diastolic = serializers.IntegerField(source="reading.diastolic", allow_null=True, help_text=_("mmHg"))
    value = serializers.DecimalField(
        source="reading.value", max_digits=7, decimal_places=2, coerce_to_string=False, allow_null=True
    )
    unit = serializers.CharField(source="reading.unit", help_text=_("UCUM, as taken."))
    unit_display = serializers.SerializerMethodField()
    value_text = serializers.CharField(source="value", help_text=_('As taken: "128/82 mmHg", "154.2 lb".'))
    glucose_context = serializers.CharField(
        source="reading.glucose_context",
        help_text=_('Glucose: "fasting", "before_meal", "after_meal" or "other"; "" for other measurements.'),
    )
    glucose_context_label = serializers.CharField(source="context")
    note = serializers.CharField(source="reading.note")
    entered_by = serializers.CharField(source="by", help_text=_('"Entered by you" or "Entered by NAME".'))
    changeable = serializers.BooleanField(help_text=_("The caller may delete it (its author, or the patient)."))
    created_at = serializers.DateTimeField(source="reading.created_at")

    def get_unit_display(self, line: MeasurementLine) -> str:
        return display_unit(line.reading.unit)


class MeasurementQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MEASUREMENT_KIND_CHOICES, required=False, help_text=_("One measurement."))


class NewMeasurementSerializer(serializers.Serializer):
    """A reading: blood pressure (systolic and diastolic), weight (value, kg or [lb_av]) or glucose (value, mg/dL or
    mmol/L, and when it was taken). The measurement page's checks apply (ranges, the bottom number below the top)."""

    kind = serializers.ChoiceField(choices=MEASUREMENT_KIND_CHOICES)
    systolic = serializers.IntegerField(required=False, help_text=_("Blood pressure: the top number, mmHg."))
    diastolic = serializers.IntegerField(required=False, help_text=_("Blood pressure: the bottom number, mmHg."))
    value = serializers.DecimalField(
        max_digits=7, decimal_places=2, required=False, coerce_to_string=False, help_text=_("Weight or glucose.")
    )
    unit = serializers.ChoiceField(choices=MEASUREMENT_UNIT_CHOICES, required=False, help_text=_("Weight or glucose."))
    glucose_context = serializers.ChoiceField(choices=GLUCOSE_CONTEXT_CHOICES, required=False)
    measured_at = serializers.DateTimeField(required=False, help_text=_("Default: now. Not in the future."))
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True)


# Privacy choices --------------------------------------------------------------------------------------------


class WaitingResultSerializer(serializers.Serializer):
    """A private result waiting for the patient: where it came from and its day, never the test."""

    id = serializers.IntegerField(source="row.pk", help_text=_("For privacy/waiting/{id}/show/."))
    sources = serializers.ListField(child=serializers.CharField())
    day = serializers.DateField(allow_null=True)


class KindChoiceSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=SENSITIVE_CATEGORY_CHOICES)
    label = serializers.CharField()  # type: ignore[assignment]  # see ShareLinkSerializer
    chosen = serializers.BooleanField()


class ShownItemSerializer(serializers.Serializer):
    share_id = serializers.IntegerField(source="pk", help_text=_("For privacy/shown/{share_id}/stop/."))
    item_id = serializers.IntegerField(source="resource_id")
    name = serializers.CharField(source="resource.display")


class HelperChoicesSerializer(serializers.Serializer):
    """Someone who helps the patient, and which private items the patient shows them."""

    grant_id = serializers.UUIDField(source="grant.pk")
    name = serializers.SerializerMethodField()
    kinds = KindChoiceSerializer(many=True)
    items = ShownItemSerializer(many=True, help_text=_("Single items shown to them."))

    def get_name(self, helper: Any) -> str:
        return str(helper.grant.grantee)


class PrivacyChoicesSerializer(serializers.Serializer):
    results_wait = serializers.BooleanField(
        help_text=_("Private test results wait until the patient chooses to see them.")
    )
    waiting = WaitingResultSerializer(many=True, help_text=_("Results waiting (newest first)."))
    helpers = HelperChoicesSerializer(many=True)


class ResultsWaitSerializer(serializers.Serializer):
    wait = serializers.BooleanField()


class ReleasedSerializer(serializers.Serializer):
    result_id = serializers.IntegerField()
    copies = serializers.IntegerField(help_text=_("Copies of it (from every source) now shown."))


class PrivateKindsSerializer(serializers.Serializer):
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=SENSITIVE_CATEGORY_CHOICES),
        allow_empty=True,
        help_text=_("Every kind this helper may see from now on (the others stop being shown)."),
    )


class ShowItemSerializer(serializers.Serializer):
    grant = serializers.UUIDField(help_text=_("A helper's grant_id (from privacy/)."))
