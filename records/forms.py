from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from records.actions import DEFAULT_UPLOAD_LABEL


class UploadForm(forms.Form):
    file = forms.FileField(label=_("FHIR file"))
    label = forms.CharField(
        label=_("Where the file comes from"),
        max_length=200,
        required=False,
        help_text=_("For example: Lakeside Hospital export. Files with the same name here are kept together."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
        return upload

    def clean_label(self) -> str:
        return self.cleaned_data["label"].strip() or str(DEFAULT_UPLOAD_LABEL)
