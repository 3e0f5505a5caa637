from __future__ import annotations

from datetime import date
from typing import Any

from allauth.account.adapter import get_adapter
from django import forms
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, User
from accounts.models.tokens import DEFAULT_TOKEN_LIFETIME_DAYS


class SignupDetailsForm(forms.Form):
    """Extra fields on allauth's sign-up form."""

    full_name = forms.CharField(
        label=_("Your full name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password, name = data.get("password1"), (data.get("full_name") or "").strip()
        if password and name:
            # allauth checks the password against a user with only the email
            # set; the name is still in the form. Checking here, against both,
            # catches "marialopez2026". An error here takes password1 out of
            # cleaned_data, so allauth's own check does not repeat the messages.
            person = User(full_name=name, email=data.get("email") or "")
            try:
                get_adapter().clean_password(password, user=person)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data

    def signup(self, request: HttpRequest, user: User) -> None:
        user.full_name = self.cleaned_data["full_name"].strip()
        user.save(update_fields=["full_name"])


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


class ConfirmAuthenticatorForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code your app shows now"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}),
    )


class OwnRecordForm(forms.Form):
    given_name = forms.CharField(
        label=_("Given name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    family_name = forms.CharField(
        label=_("Family name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
    )

    def clean_birth_date(self) -> date:
        value: date = self.cleaned_data["birth_date"]
        today = timezone.localdate()
        if value > today:
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if value.year < today.year - 130:
            raise forms.ValidationError(_("Please check the year of birth."))
        return value


class AccessHistoryFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    action = forms.ChoiceField(label=_("What happened"), required=False)

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from accounts.audit_labels import action_label

        action_field = self.fields["action"]
        assert isinstance(action_field, forms.ChoiceField)
        action_field.choices = [("", _("Everything")), *((a, action_label(a)) for a in actions)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("What the token is for"), max_length=100, help_text=_("For example: my spreadsheet.")
    )
    lifetime_days = forms.TypedChoiceField(
        label=_("How long it works"),
        choices=[(30, _("30 days")), (90, _("90 days")), (365, _("1 year"))],
        coerce=int,
        initial=DEFAULT_TOKEN_LIFETIME_DAYS,
        required=False,
        widget=forms.RadioSelect,
        help_text=_("Then it stops working and you can make a new one. You can also end it sooner."),
    )

    def clean_lifetime_days(self) -> int:
        # A post without a choice (an older page, a script) gets the default.
        return int(self.cleaned_data.get("lifetime_days") or DEFAULT_TOKEN_LIFETIME_DAYS)


class OrganizationPolicyForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["adolescent_from_age"]
        help_texts = {
            "adolescent_from_age": _(
                "From this age until 18, a parent no longer sees sensitive or confidential items, and the "
                "young person may message the care team privately. Most clinics use 12."
            ),
        }

    def clean_adolescent_from_age(self) -> int:
        value: int = self.cleaned_data["adolescent_from_age"]
        if not 10 <= value <= 17:
            raise forms.ValidationError(_("Choose an age from 10 to 17."))
        return value
