"""The staff side's forms: the inbox's filters, a reply, a note, giving a thread to a colleague, templates.

Forms check what was typed; the actions (messaging.actions) decide what may happen. A choice of a colleague
or a template is an id turned into the object by an access helper (messaging.access), never by the form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from messaging.actions import BODY_LIMIT, QUICK_REPLY_TITLE_LIMIT
from messaging.files import AttachmentRejectedError, CheckedFile, check_attachments
from messaging.selectors import SEARCH_LIMIT, InboxFilter

FILTER_LABELS = {
    InboxFilter.OPEN: _("Open"),
    InboxFilter.UNASSIGNED: _("Unassigned"),
    InboxFilter.MINE: _("Mine"),
    InboxFilter.OVERDUE: _("Overdue"),
    InboxFilter.WAITING_ON_PATIENT: _("Waiting on the patient"),
    InboxFilter.CLOSED: pgettext_lazy("inbox filter", "Closed"),
}


class InboxQueryForm(forms.Form):
    """The inbox's query string: which threads (`view`), which pool (`pool`, checked by the view) and a search."""

    view = forms.ChoiceField(choices=list(FILTER_LABELS.items()), required=False)
    pool = forms.CharField(required=False, max_length=20)
    q = forms.CharField(label=_("Patient name, MRN or subject"), required=False, max_length=SEARCH_LIMIT)

    def chosen_view(self) -> str:
        if self.is_valid() and self.cleaned_data.get("view"):
            return str(self.cleaned_data["view"])
        return InboxFilter.OPEN

    def search(self) -> str:
        if self.is_valid():
            return str(self.cleaned_data.get("q") or "")
        return " ".join(str(self.data.get("q", "")).split())[:SEARCH_LIMIT]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Up to MESSAGE_ATTACHMENTS_MAX files, each checked by content (messaging.files)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[CheckedFile]:
        uploads = data if isinstance(data, list | tuple) else ([data] if data else [])
        files = [upload for upload in uploads if isinstance(upload, UploadedFile)]
        try:
            return check_attachments(files)
        except AttachmentRejectedError as error:
            raise forms.ValidationError(str(error)) from error


class StaffReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=BODY_LIMIT,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("The patient's side reads this. They are told by email that there is a reply, nothing more."),
    )
    attachments = MultipleFileField(
        label=_("Files"),
        help_text=_("Up to %(count)s files: PDF, JPEG or PNG, at most %(megabytes)s MB each.")
        % {
            "count": settings.MESSAGE_ATTACHMENTS_MAX,
            "megabytes": settings.MESSAGE_ATTACHMENT_MAX_BYTES // (1024 * 1024),
        },
    )
    close = forms.BooleanField(label=_("Close the conversation after this reply"), required=False)


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"),
        max_length=BODY_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only the care team sees notes. The patient and their helpers never do."),
    )


class AssignForm(forms.Form):
    """Whom to give the thread to: a colleague's id (loaded by access_colleague_by_id), or empty for the pool."""

    assignee = forms.ChoiceField(label=_("Give to"), required=False)

    def __init__(self, *args: Any, colleagues: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Nobody: back to the team's inbox"))] + [
            (str(person.pk), person.full_name or person.email) for person in colleagues
        ]


class QuickReplyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=QUICK_REPLY_TITLE_LIMIT)
    body = forms.CharField(label=_("Text"), max_length=BODY_LIMIT, widget=forms.Textarea(attrs={"rows": 6}))
