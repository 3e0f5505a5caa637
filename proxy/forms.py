from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor, Scope
from accounts.models import Organization
from proxy.documents import CheckedDocument, DocumentRejectedError, check_document
from proxy.models import LEGAL_BASIS_CHOICES, GrantStatus

# Patient consent comes through an invitation from the patient, not a request.
LEGAL_BASIS_CHOICES_FOR_REQUESTS = [c for c in LEGAL_BASIS_CHOICES if c[0] != "patient_consent"]

SCOPE_CHOICES = [(scope, Scope.LABELS[scope]) for scope in sorted(Scope.ALL, key=list(Scope.LABELS).index)]


class ScopesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("What they may do"))
        kwargs.setdefault("choices", SCOPE_CHOICES)
        super().__init__(**kwargs)


class ExpiryField(forms.DateField):
    """An optional last day of access; stored as the end of that day in the person's time zone."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Access ends after"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("Leave empty for no end date. You can revoke access at any time."))
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> datetime | None:
        day = super().clean(value)
        if day is None:
            return None
        if day < timezone.localdate():
            raise forms.ValidationError(_("The end date cannot be in the past."))
        return datetime.combine(day, time.max, tzinfo=timezone.get_current_timezone())


def sensitive_field() -> forms.BooleanField:
    return forms.BooleanField(
        label=_("May also see sensitive and confidential items"),
        required=False,
        help_text=_("For example mental health, sexual health or substance use care. Without this, they are hidden."),
    )


class GiftForm(forms.Form):
    """What the person may give: only the scopes they hold, and sensitive items only if they see them."""

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scopes = self.fields["scopes"]
        assert isinstance(scopes, forms.MultipleChoiceField)
        scopes.choices = [(scope, label) for scope, label in SCOPE_CHOICES if scope in actor.scopes]
        if actor.hide_sensitive:
            del self.fields["allows_sensitive"]
        self.actor = actor

    def asks_beyond_what_is_held(self) -> bool:
        """A posted scope the person does not hold, or sensitive items hidden from them: refused, not corrected."""
        if not self.is_bound:
            return False
        asked = set(self.data.getlist("scopes")) if hasattr(self.data, "getlist") else set(self.data.get("scopes", []))
        return bool(asked - self.actor.scopes) or bool(self.actor.hide_sensitive and self.data.get("allows_sensitive"))


class InviteForm(GiftForm):
    email = forms.EmailField(label=_("Their email address"), widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    relationship = forms.CharField(
        label=_("Who they are to you"),
        max_length=100,
        required=False,
        help_text=_("For example: daughter, neighbor, husband."),
    )
    scopes = ScopesField()
    allows_sensitive = sensitive_field()
    expires_at = ExpiryField()


class ScopesForm(GiftForm):
    scopes = ScopesField()
    allows_sensitive = sensitive_field()
    expires_at = ExpiryField()


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class DocumentsField(forms.FileField):
    """Several files in one field (Django's documented pattern), each checked by content."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[CheckedDocument]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if not files:
            if self.required:
                raise forms.ValidationError(_("Please add at least one document."))
            return []
        if len(files) > MAX_DOCUMENTS:
            raise forms.ValidationError(_("Please add at most %(count)s documents.") % {"count": MAX_DOCUMENTS})
        checked = []
        errors = []
        for upload in files:
            try:
                checked.append(check_document(super().clean(upload, initial)))
            except DocumentRejectedError as error:
                errors.append(str(error))
        if errors:
            raise forms.ValidationError(errors)
        return checked


MAX_DOCUMENTS = 5


class AccessRequestForm(forms.Form):
    patient_given_name = forms.CharField(label=_("Their given name"), max_length=100)
    patient_family_name = forms.CharField(label=_("Their family name"), max_length=100)
    patient_birth_date = forms.DateField(label=_("Their date of birth"), widget=forms.DateInput(attrs={"type": "date"}))
    relationship = forms.CharField(
        label=_("Who they are to you"), max_length=100, help_text=_("For example: my son, my mother.")
    )
    legal_basis = forms.ChoiceField(label=_("Why you may act for them"), choices=LEGAL_BASIS_CHOICES_FOR_REQUESTS)
    organization = forms.ModelChoiceField(
        label=_("Where they are cared for"),
        queryset=Organization.objects.order_by("name"),
        required=False,
        empty_label=_("None of these clinics"),
        help_text=_("That clinic's staff review your request. Otherwise the portal's team does."),
    )
    requested_scopes = ScopesField(label=_("What you need to do for them"))
    note = forms.CharField(
        label=_("Anything the reviewer should know"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    documents = DocumentsField(label=_("Documents"))

    def __init__(self, *args: Any, bases: list[tuple[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].help_text = _(
            "A birth certificate, court order or power of attorney. PDF, PNG or JPEG, up to %(megabytes)s MB each."
        ) % {"megabytes": settings.PROXY_DOCUMENT_MAX_BYTES // (1024 * 1024)}
        if bases is not None:
            field = self.fields["legal_basis"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = bases

    def clean_patient_birth_date(self) -> Any:
        value = self.cleaned_data["patient_birth_date"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        return value


class ApproveForm(forms.Form):
    patient = forms.ChoiceField(label=_("Whose record"), widget=forms.RadioSelect)
    mrn = forms.CharField(label=_("MRN at this clinic (for a new record)"), max_length=64, required=False)
    scopes = ScopesField()
    allows_sensitive = sensitive_field()
    expires_at = ExpiryField()
    reason = forms.CharField(label=_("Note for the record (optional)"), max_length=500, required=False)

    def __init__(self, *args: Any, patient_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["patient"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = patient_choices


class DenyForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason the requester will see"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )


class GrantFilterForm(forms.Form):
    q = forms.CharField(label=_("Patient or caregiver name"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any")), *GrantStatus.choices])
    legal_basis = forms.ChoiceField(label=_("Basis"), required=False, choices=[("", _("Any")), *LEGAL_BASIS_CHOICES])
