"""The person's own choice of appointment reminders by text message, and the mobile number they go to.

An account page: the number is the signed-in person's own, whoever they act for. The page never shows the
number, only its last digits, so that a shared or borrowed screen does not give it away; an empty box keeps
the number on file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.actions.text_reminders import normalised_phone, set_text_reminders
from accounts.audience import account_page

if TYPE_CHECKING:
    from accounts.requests import SignedInRequest

SHOWN_DIGITS = 4  # how much of a saved number the page shows, to tell which one it is


def last_digits(phone: str) -> str:
    return phone[-SHOWN_DIGITS:]


class TextRemindersForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("Mobile phone number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    by_text = forms.BooleanField(label=gettext_lazy("Send me appointment reminders by text message"), required=False)

    def __init__(self, *args: Any, saved_phone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].help_text = (
            _("The number we have ends in %(digits)s. Leave this empty to keep it, or type a new one.")
            % {"digits": last_digits(saved_phone)}
            if saved_phone
            else _("With the country code, for example +1 555 010 0199.")
        )

    def clean_phone(self) -> str | None:
        """The number as it will be stored, or None when the box was left empty (keep the one on file)."""
        typed: str = self.cleaned_data["phone"]
        return normalised_phone(typed) if typed else None


@account_page
@require_http_methods(["GET", "HEAD", "POST"])
def reminder_settings(request: SignedInRequest) -> HttpResponse:
    """Set or remove the mobile number and turn text reminders on or off; a refusal saves nothing."""
    user = request.user
    if request.method == "POST" and request.POST.get("remove"):
        set_text_reminders(user=user, phone="", by_text=False, request=request)
        messages.success(request, _("Your mobile number was removed; reminders come by email only."))
        return redirect("scheduling:reminder_settings")
    form = TextRemindersForm(
        request.POST if request.method == "POST" else None,
        initial={"by_text": user.reminders_by_text},
        saved_phone=user.phone,
    )
    if request.method == "POST" and form.is_valid():
        try:
            set_text_reminders(
                user=user, phone=form.cleaned_data["phone"], by_text=form.cleaned_data["by_text"], request=request
            )
        except ValidationError as error:
            form.add_error("phone", error)
        else:
            if user.reminders_by_text:
                saved = _("Saved: reminders come by text to the number ending in %(digits)s.") % {
                    "digits": last_digits(user.phone)
                }
            else:
                saved = _("Saved: reminders do not come by text message.")
            messages.success(request, saved)
            return redirect("scheduling:reminder_settings")
    return render(
        request,
        "scheduling/reminder_settings.html",
        {
            "form": form,
            "texts_on": user.reminders_by_text,
            "saved_digits": last_digits(user.phone) if user.phone else "",
        },
    )
