from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from accounts.models import Patient
from records.actions import DEFAULT_UPLOAD_LABEL
from records.ingest import FileRejectedError, parse_fhir_file
from records.models import ShareContent, ShareExpiry


class UploadForm(forms.Form):
    """A FHIR file for the person's record, checked here (nothing is queued for a file that is not FHIR).

    `key` is made when the form is shown and is used once: a second POST of it (a refresh, a double
    click) finds the run of the first. `subject` is the person the form was shown for, so that switching
    to someone else in another tab never puts the file in the wrong record.
    """

    file = forms.FileField(label=_("FHIR file"))
    label = forms.CharField(
        label=_("Where the file comes from"),
        max_length=200,
        required=False,
        help_text=_("For example: Lakeside Hospital export. Files with the same name here are kept together."),
    )
    key = forms.UUIDField(widget=forms.HiddenInput)
    subject = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"key": uuid.uuid4(), "subject": patient.pk})
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.file_data = b""
        self.fields["file"].help_text = _(
            "A FHIR JSON file (a resource or a Bundle) or NDJSON, up to %(megabytes)s MB."
        ) % {"megabytes": settings.RECORDS_UPLOAD_MAX_BYTES // (1024 * 1024)}

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.RECORDS_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(megabytes)s MB.")
                % {"megabytes": settings.RECORDS_UPLOAD_MAX_BYTES // (1024 * 1024)}
            )
        data = upload.read()
        try:
            parse_fhir_file(data, name=upload.name or "")
        except FileRejectedError as error:
            raise forms.ValidationError(str(error)) from error
        self.file_data = data
        return upload

    def clean_label(self) -> str:
        return self.cleaned_data["label"].strip() or str(DEFAULT_UPLOAD_LABEL)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if "key" in self.errors or "subject" in self.errors:
            self._show_anew()
            raise forms.ValidationError(_("This form has expired. Please choose the file again."))
        if cleaned.get("subject") != self.patient.pk:
            self._show_anew()
            raise forms.ValidationError(
                _(
                    "You switched to another person's record after opening this page. "
                    "Check whose record this is and choose the file again."
                )
            )
        return cleaned

    def _show_anew(self) -> None:
        """The form shown again is for the person acted for now, with a key of its own."""
        data = QueryDict(mutable=True)
        data.update(self.data)
        data["key"] = str(uuid.uuid4())
        data["subject"] = str(self.patient.pk)
        self.data = data


DOWNLOAD_FORMATS = [
    ("pdf", _("A summary to read or print (PDF)")),
    ("csv", _("Test results for a spreadsheet (CSV)")),
    ("fhir", _("Everything, for another app or health system (FHIR JSON)")),
]


class DownloadForm(forms.Form):
    """What to download: a format, and a period (no dates: the whole record). Sent as GET: dates and format only.

    The fields are named `from`, `to` and `format` in the query string (as the timeline's dates are).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        date_error = {"invalid": _("Enter the date as year-month-day, for example 2026-03-31.")}
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, error_messages=date_error, widget=forms.DateInput(attrs={"type": "date"})
        )
        self.fields["to"] = forms.DateField(
            label=_("To"), required=False, error_messages=date_error, widget=forms.DateInput(attrs={"type": "date"})
        )
        self.fields["format"] = forms.ChoiceField(
            label=_("Format"),
            choices=DOWNLOAD_FORMATS,
            initial="pdf",
            widget=forms.RadioSelect,
            error_messages={
                "required": _("Choose what to download."),
                "invalid_choice": _("Choose one of the formats below."),
            },
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned


class ShareLinkForm(forms.Form):
    """A new SMART Health Link: what it is called, how long it works, a passcode if wanted, and what it holds.

    `subject` is the person the form was shown for, so that switching to someone else in another tab never
    shares the wrong record.
    """

    PASSCODE_MIN = 6

    label = forms.CharField(
        label=_("Name for this link"),
        max_length=80,
        help_text=_("Shown to whoever opens it, for example: For Dr. Patel, March visit. Up to 80 characters."),
    )
    days = forms.TypedChoiceField(
        label=_("The link works for"),
        choices=ShareExpiry.choices,
        coerce=int,
        initial=ShareExpiry.WEEK,
        widget=forms.RadioSelect,
    )
    passcode = forms.CharField(
        label=_("Passcode"),
        required=False,
        min_length=PASSCODE_MIN,
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "At least 6 characters. Whoever opens the link must type it; tell it to them separately from the "
            "link. After 10 wrong tries the link stops working."
        ),
    )
    content = forms.ChoiceField(
        label=_("What the link holds"),
        choices=ShareContent.choices,
        initial=ShareContent.WHOLE,
        widget=forms.RadioSelect,
    )
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    subject = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"subject": patient.pk})
        super().__init__(*args, **kwargs)
        self.patient = patient

    def clean_label(self) -> str:
        label = " ".join(self.cleaned_data["label"].split())
        if not label:
            raise forms.ValidationError(_("Give the link a name."))
        return label

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if cleaned.get("subject") != self.patient.pk:
            data = QueryDict(mutable=True)
            data.update(self.data)
            data["subject"] = str(self.patient.pk)
            self.data = data
            raise forms.ValidationError(
                _(
                    "You switched to another person's record after opening this page. "
                    "Check whose record this is before sharing it."
                )
            )
        if cleaned.get("content") == ShareContent.DATES:
            start, end = cleaned.get("start"), cleaned.get("end")
            if start is None and end is None and "start" not in self.errors and "end" not in self.errors:
                self.add_error("start", _("Choose the first day, the last day, or both."))
            elif start and end and start > end:
                self.add_error("end", _("The last day comes before the first."))
        return cleaned
