"""Forms of the patient's side: a new message, a reply, and a caregiver's choice of emails.

A refused form comes back with everything that was typed (files aside: a browser cannot be handed them back).
Files are checked by content (messaging.files); the first refused file is named with the reason. A new message
carries the person it was shown for: someone who switched to another person's record in another tab is asked
to check before a message goes out for the wrong person. A hidden key made when the form is shown lets a double
submit store one message.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, QueryDict
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.models import Patient
from messaging.access import access_pool_to_write_to
from messaging.actions import BODY_LIMIT, SUBJECT_LIMIT
from messaging.files import AttachmentRejectedError, CheckedFile, check_attachments
from messaging.models import PATIENT_TOPICS, Pool

SWITCHED = _(
    "You switched to another person's record after opening this page. Check whom you are writing for, then send again."
)
PRIVATE_LABEL = _("Only me: people who help me with my account will not see this conversation")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Up to MESSAGE_ATTACHMENTS_MAX files in one field, each checked by its content."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Files (optional)"))
        kwargs.setdefault(
            "help_text",
            _("Up to %(count)s files: PDF, JPEG or PNG, %(megabytes)s MB each.")
            % {
                "count": settings.MESSAGE_ATTACHMENTS_MAX,
                "megabytes": settings.MESSAGE_ATTACHMENT_MAX_BYTES // (1024 * 1024) or 1,
            },
        )
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("accept", "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png")

    def clean(self, data: Any, initial: Any = None) -> list[CheckedFile]:
        uploads: list[UploadedFile] = [
            upload for upload in (data if isinstance(data, list | tuple) else [data]) if upload
        ]
        try:
            return check_attachments(uploads)
        except AttachmentRejectedError as error:
            again = _("Nothing was sent; choose the files again.")
            raise forms.ValidationError(f"{error} {again}") from error


class _Message(forms.Form):
    body = forms.CharField(
        label=_("Message"),
        max_length=BODY_LIMIT,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Plain text. Do not write here about an emergency: call 911 or your care team."),
    )
    attachments = AttachmentsField()
    key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("key", uuid.uuid4())
        super().__init__(*args, **kwargs)

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError(_("Write a message first."))
        return body


class ComposeForm(_Message):
    """A new message to one of the care teams the person may write to (`pools`)."""

    pool = forms.TypedChoiceField(label=_("Care team"), coerce=int, widget=forms.RadioSelect)
    topic = forms.ChoiceField(label=_("What it is about"), choices=PATIENT_TOPICS)
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_LIMIT)
    private = forms.BooleanField(label=PRIVATE_LABEL, required=False)
    patient = forms.UUIDField(widget=forms.HiddenInput)

    field_order = ("pool", "topic", "subject", "body", "attachments", "private", "patient", "key")

    def __init__(self, *args: Any, actor: Actor, patient: Patient, pools: list[Pool], **kwargs: Any) -> None:
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("patient", patient.pk)
        if len(pools) == 1:
            initial.setdefault("pool", pools[0].pk)
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.shown_for = patient
        self.pools = pools
        pool_field = self.fields["pool"]
        assert isinstance(pool_field, forms.ChoiceField)
        pool_field.choices = [(pool.pk, pool.name) for pool in pools]
        if not actor.acts_for_self:
            del self.fields["private"]

    def clean_subject(self) -> str:
        title = " ".join(self.cleaned_data["subject"].split())
        if not title:
            raise forms.ValidationError(_("Give the message a subject."))
        return title

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if cleaned.get("patient") != self.shown_for.pk:
            data = QueryDict(mutable=True)
            data.update(self.data)
            data["patient"] = str(self.shown_for.pk)
            self.data = data
            raise forms.ValidationError(SWITCHED)
        if cleaned.get("pool") is not None:
            try:
                cleaned["pool"] = access_pool_to_write_to(self.actor, cleaned["pool"])
            except Http404:
                self.add_error("pool", _("Choose a care team from the list."))
        return cleaned


class ReplyForm(_Message):
    """Writing again in a thread."""


class EmailChoicesForm(forms.Form):
    messages = forms.BooleanField(label=_("Email me when there is a new message from the care team"), required=False)
    refill_reminders = forms.BooleanField(label=_("Email me before a medicine runs out"), required=False)

    def __init__(self, *args: Any, refills: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not refills:
            del self.fields["refill_reminders"]
