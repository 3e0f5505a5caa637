"""Forms for what the person writes down themselves: a journal entry, and the three home measurements.

Every message says what to fix, and a refused form comes back with everything that was typed. An add form
carries the person it was shown for (as the upload form does): someone who switched to another person's
record in another tab is asked to check before anything lands in the wrong record.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Patient
from records.models import (
    GLUCOSE_UNITS,
    JOURNAL_TEXT_MAX,
    WEIGHT_UNITS,
    EntryKind,
    GlucoseContext,
    MeasurementKind,
    QuestionState,
)

NOTE_MAX = 500
FUTURE_LEEWAY = timedelta(minutes=5)  # a phone's clock a little ahead of ours is not the future
EARLIEST_YEAR = 1900
BP_SYSTOLIC = (50, 300)
BP_DIASTOLIC = (20, 200)
WEIGHT_RANGES = {"kg": (Decimal("1"), Decimal("500")), "[lb_av]": (Decimal("2"), Decimal("1100"))}
GLUCOSE_RANGES = {"mg/dL": (Decimal("10"), Decimal("1000")), "mmol/L": (Decimal("0.5"), Decimal("55.5"))}
SWITCHED = _(
    "You switched to another person's record after opening this page. Check whose record this is, then save again."
)


class DecimalInput(forms.DecimalField):
    """A number typed with a decimal point or a decimal comma ("5.4", "5,4"), in a text box for phones."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().replace(" ", "")
            if value.count(",") == 1 and "." not in value:
                value = value.replace(",", ".")
        return super().to_python(value)


class _ForPerson(forms.Form):
    """The person the form was shown for, checked against the person acted for when it comes back."""

    subject = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("subject", patient.pk)
        super().__init__(*args, **kwargs)
        self.patient = patient

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if cleaned.get("subject") != self.patient.pk:
            data = QueryDict(mutable=True)
            data.update(self.data)
            data["subject"] = str(self.patient.pk)
            self.data = data
            raise forms.ValidationError(SWITCHED)
        return cleaned


def _not_in_the_future_day(day: Any) -> None:
    if day is not None and day > timezone.localdate():
        raise forms.ValidationError(_("The day cannot be in the future."))
    if day is not None and day.year < EARLIEST_YEAR:
        raise forms.ValidationError(_("Check the year."))


class JournalEntryForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What kind of entry"),
        choices=EntryKind.choices,
        initial=EntryKind.SYMPTOM,
        error_messages={
            "required": _("Choose what kind of entry this is."),
            "invalid_choice": _("Choose what kind of entry this is."),
        },
    )
    text = forms.CharField(
        label=_("What happened, or what you want to ask"),
        max_length=JOURNAL_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        strip=True,
        error_messages={
            "required": _("Write something first."),
            "max_length": _("Keep it to %(limit_value)d characters or fewer (this has %(show_value)d)."),
        },
    )
    happened_on = forms.DateField(
        label=_("Day"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Enter the day it happened."),
            "invalid": _("Enter a day, for example 2026-03-14."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["happened_on"].initial = timezone.localdate
        self.fields["text"].help_text = _("Up to 2,000 characters. Everyone who can see this record can read it.")

    def clean_happened_on(self) -> Any:
        day = self.cleaned_data["happened_on"]
        _not_in_the_future_day(day)
        return day


class NewJournalEntryForm(_ForPerson, JournalEntryForm):
    pass


class EditJournalEntryForm(JournalEntryForm):
    question_state = forms.ChoiceField(
        label=_("If it is a question: has it been asked?"),
        choices=QuestionState.choices,
        initial=QuestionState.OPEN,
        required=False,
    )

    def clean_question_state(self) -> str:
        return self.cleaned_data.get("question_state") or QuestionState.OPEN


class QuestionStateForm(forms.Form):
    state = forms.ChoiceField(choices=QuestionState.choices)


class JournalFilterForm(forms.Form):
    """The list's filter, from the query string: anything unknown shows everything."""

    kind = forms.ChoiceField(choices=[("", _("Everything")), *EntryKind.choices], required=False)


# Home measurements --------------------------------------------------------------------------------------


def _local_now_minute() -> datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class _MeasurementForm(_ForPerson):
    kind_value: str = ""
    measured_at = forms.DateTimeField(
        label=_("When measured"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={
            "required": _("Enter when it was measured."),
            "invalid": _("Enter a date and time, for example 2026-03-14 08:30."),
        },
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.TextInput(),
        error_messages={"max_length": _("Keep the note to %(limit_value)d characters or fewer.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.kind_value}_%s")
        super().__init__(*args, **kwargs)
        self.fields["measured_at"].initial = _local_now_minute

    def clean_measured_at(self) -> datetime:
        moment: datetime = self.cleaned_data["measured_at"]
        if moment > timezone.now() + FUTURE_LEEWAY:
            raise forms.ValidationError(_("The time cannot be in the future."))
        if moment.year < EARLIEST_YEAR:
            raise forms.ValidationError(_("Check the year."))
        return moment

    def reading(self) -> dict[str, Any]:
        """What records.patient_actions.add_home_measurement takes, from a valid form."""
        data = {key: value for key, value in self.cleaned_data.items() if key != "subject"}
        return {"kind": self.kind_value, **data}


class BloodPressureForm(_MeasurementForm):
    kind_value = MeasurementKind.BLOOD_PRESSURE.value
    systolic = forms.IntegerField(
        label=_("Top number (systolic), mmHg"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={
            "required": _("Enter the top number (systolic)."),
            "invalid": _("Enter the top number as a whole number, for example 120."),
        },
    )
    diastolic = forms.IntegerField(
        label=_("Bottom number (diastolic), mmHg"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={
            "required": _("Enter the bottom number (diastolic)."),
            "invalid": _("Enter the bottom number as a whole number, for example 80."),
        },
    )
    field_order = ["systolic", "diastolic", "measured_at", "note"]

    def clean_systolic(self) -> int:
        value = self.cleaned_data["systolic"]
        low, high = BP_SYSTOLIC
        if not low <= value <= high:
            raise forms.ValidationError(
                _("The top number (systolic) must be between %(low)s and %(high)s mmHg.") % {"low": low, "high": high}
            )
        return int(value)

    def clean_diastolic(self) -> int:
        value = self.cleaned_data["diastolic"]
        low, high = BP_DIASTOLIC
        if not low <= value <= high:
            raise forms.ValidationError(
                _("The bottom number (diastolic) must be between %(low)s and %(high)s mmHg.")
                % {"low": low, "high": high}
            )
        return int(value)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        systolic, diastolic = cleaned.get("systolic"), cleaned.get("diastolic")
        if systolic is not None and diastolic is not None and diastolic >= systolic:
            self.add_error(
                "diastolic",
                _("The bottom number (diastolic) must be lower than the top number (systolic). Are they swapped?"),
            )
        return cleaned


def _in_range(value: Decimal, unit: str, ranges: dict[str, tuple[Decimal, Decimal]], message: str) -> None:
    low, high = ranges[unit]
    if not low <= value <= high:
        shown = "lb" if unit == "[lb_av]" else unit
        raise forms.ValidationError(message % {"low": low, "high": high, "unit": shown})


class WeightForm(_MeasurementForm):
    kind_value = MeasurementKind.WEIGHT.value
    value = DecimalInput(
        label=_("Weight"),
        max_digits=7,
        decimal_places=2,
        error_messages={
            "required": _("Enter the weight."),
            "invalid": _("Enter the weight as a number, for example 72.5."),
            "max_decimal_places": _("Use at most two decimals."),
            "max_digits": _("Enter the weight as a number, for example 72.5."),
            "max_whole_digits": _("Enter the weight as a number, for example 72.5."),
        },
    )
    unit = forms.ChoiceField(
        label=pgettext_lazy("unit of measure", "Unit"),
        choices=[("kg", "kg"), ("[lb_av]", "lb")],
        initial="kg",
        error_messages={"required": _("Choose kg or lb."), "invalid_choice": _("Choose kg or lb.")},
    )
    field_order = ["value", "unit", "measured_at", "note"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        value, unit = cleaned.get("value"), cleaned.get("unit")
        if value is not None and unit in WEIGHT_UNITS:
            try:
                _in_range(value, unit, WEIGHT_RANGES, str(_("A weight must be between %(low)s and %(high)s %(unit)s.")))
            except forms.ValidationError as error:
                self.add_error("value", error)
        return cleaned


class GlucoseForm(_MeasurementForm):
    kind_value = MeasurementKind.GLUCOSE.value
    value = DecimalInput(
        label=_("Blood glucose"),
        max_digits=7,
        decimal_places=2,
        error_messages={
            "required": _("Enter the blood glucose reading."),
            "invalid": _("Enter the reading as a number, for example 105 or 5.8."),
            "max_decimal_places": _("Use at most two decimals."),
            "max_digits": _("Enter the reading as a number, for example 105 or 5.8."),
            "max_whole_digits": _("Enter the reading as a number, for example 105 or 5.8."),
        },
    )
    unit = forms.ChoiceField(
        label=pgettext_lazy("unit of measure", "Unit"),
        choices=[(unit, unit) for unit in GLUCOSE_UNITS],
        initial="mg/dL",
        error_messages={"required": _("Choose mg/dL or mmol/L."), "invalid_choice": _("Choose mg/dL or mmol/L.")},
    )
    glucose_context = forms.ChoiceField(
        label=_("When it was taken"),
        choices=[("", _("Choose…")), *GlucoseContext.choices],
        error_messages={
            "required": _("Choose when it was taken: fasting, before a meal, after a meal, or other."),
            "invalid_choice": _("Choose when it was taken: fasting, before a meal, after a meal, or other."),
        },
    )
    field_order = ["value", "unit", "glucose_context", "measured_at", "note"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        value, unit = cleaned.get("value"), cleaned.get("unit")
        if value is not None and unit in GLUCOSE_UNITS:
            try:
                _in_range(
                    value,
                    unit,
                    GLUCOSE_RANGES,
                    str(_("A blood glucose reading must be between %(low)s and %(high)s %(unit)s.")),
                )
            except forms.ValidationError as error:
                self.add_error("value", error)
        return cleaned


MEASUREMENT_FORMS: dict[str, type[_MeasurementForm]] = {
    form.kind_value: form for form in (BloodPressureForm, WeightForm, GlucoseForm)
}
