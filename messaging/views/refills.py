"""The patient's and caregiver's side of refills: the medicines and requests, asking, favourites, reminders.

Every page needs the refills scope (accounts.audience.subject_page). A medicine is named in URLs and forms by
the id of one of its current orders (messaging.access.access_medication_by_id); a pharmacy through
messaging.access.access_pharmacy_by_id. Writes go through messaging.refill_actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from messaging import refill_actions, refills
from messaging.access import access_medication_by_id, access_pharmacy_by_id
from messaging.actions import MessagingError
from proxy.actions import NotAllowedError

if TYPE_CHECKING:
    from accounts.models import Patient
    from accounts.requests import SignedInRequest
    from records.models import FhirResource


class RefillForm(forms.Form):
    pharmacy = forms.TypedChoiceField(label=gettext_lazy("Pharmacy"), coerce=int, widget=forms.RadioSelect)
    keep_favorite = forms.BooleanField(label=gettext_lazy("Keep this pharmacy as a favourite"), required=False)
    note = forms.CharField(
        label=gettext_lazy("A note for the care team"),
        required=False,
        max_length=refill_actions.NOTE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("For example: how many are left, or a change since your last visit."),
    )
    private = forms.BooleanField(
        label=gettext_lazy("Keep this request private (only you see it, not the people who help you)"),
        required=False,
    )

    def __init__(self, *args: Any, pharmacies: list[Any], may_be_private: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["pharmacy"]
        assert isinstance(field, forms.TypedChoiceField)
        favourite = _("favourite")
        field.choices = [(p.pk, f"{p.name} ({favourite})" if p.favorite else p.name) for p in pharmacies]
        if pharmacies:
            field.initial = pharmacies[0].pk
        if not may_be_private:
            del self.fields["private"]


@subject_page(Scope.REFILLS, audit=AuditAction.REFILLS_VIEWED)
@require_safe
def refills_page(request: SignedInRequest, subject: Patient) -> HttpResponse:
    actor = request.actor
    history = list(refills.refill_history(actor))
    refill_actions.mark_decisions_seen(user=request.user, refills=history)
    return render(
        request,
        "messaging/refills/list.html",
        {
            "patient": subject,
            "medicines": refills.medicines(actor),
            "requests": [(refill, refill_actions.decision_text(refill)) for refill in history],
            "favorites": list(refills.favorite_pharmacies(subject.pk)),
            "sees_record": Scope.RECORDS in actor.scopes,
        },
    )


@subject_page(Scope.REFILLS, objects={"medication_id": access_medication_by_id})
@require_http_methods(["GET", "HEAD", "POST"])
def refill_new(request: SignedInRequest, subject: Patient, medication: FhirResource) -> HttpResponse:
    actor = request.actor
    medicine = refills.medicine_by_order(actor, medication.pk)
    if medicine is None:
        raise Http404
    pharmacies = list(refills.pharmacies_for(subject.pk, medicine.organization)) if medicine.organization else []
    form = RefillForm(
        request.POST if request.method == "POST" else None,
        pharmacies=pharmacies,
        may_be_private=actor.acts_for_self,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            pharmacy = access_pharmacy_by_id(actor, data["pharmacy"])
            done = refill_actions.request_refill(
                actor=actor,
                medication=medication,
                pharmacy=pharmacy,
                note=data["note"],
                keep_favorite=data["keep_favorite"],
                private=bool(data.get("private")),
                request=request,
            )
        except NotAllowedError as error:
            form.add_error(None, str(error))
            status = 403
        except MessagingError as error:
            form.add_error(None, str(error))
            status = 409 if medicine.waiting is not None else 400
        else:
            due = done.thread.reply_due_at
            messages.success(
                request,
                _("Your refill request was sent. Expect an answer by %(day)s.")
                % {"day": date_format(timezone.localtime(due), "DATE_FORMAT")}
                if due
                else _("Your refill request was sent."),
            )
            return redirect("messaging:refills")
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "messaging/refills/new.html",
        {"patient": subject, "medicine": medicine, "form": form, "pharmacies": pharmacies},
        status=status,
    )


@subject_page(Scope.REFILLS)
@require_POST
def favorite_pharmacies(request: SignedInRequest, subject: Patient) -> HttpResponse:
    pharmacy = access_pharmacy_by_id(request.actor, request.POST.get("pharmacy"))
    keep = request.POST.get("favorite") != "off"
    try:
        refill_actions.set_favorite_pharmacy(actor=request.actor, pharmacy=pharmacy, favorite=keep, request=request)
    except NotAllowedError as error:
        messages.error(request, str(error))
        return redirect("messaging:refills")
    messages.success(
        request,
        _("%(name)s is now a favourite.") % {"name": pharmacy.name}
        if keep
        else _("%(name)s is no longer a favourite.") % {"name": pharmacy.name},
    )
    return redirect("messaging:refills")


@subject_page(Scope.REFILLS)
@require_POST
def refill_reminders(request: SignedInRequest, subject: Patient) -> HttpResponse:
    medication = access_medication_by_id(request.actor, request.POST.get("medication"))
    medicine = refills.medicine_by_order(request.actor, medication.pk)
    if medicine is None:
        raise Http404
    on = request.POST.get("reminders") == "on"
    try:
        refill_actions.set_reminders(actor=request.actor, key=medicine.key, on=on, request=request)
    except (NotAllowedError, MessagingError) as error:
        messages.error(request, str(error))
        return redirect("messaging:refills")
    messages.success(
        request,
        _("Reminders for %(name)s are on.") % {"name": medicine.name}
        if on
        else _("Reminders for %(name)s are off.") % {"name": medicine.name},
    )
    return redirect("messaging:refills")
