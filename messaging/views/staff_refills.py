"""The staff side of refills: the desk's refill queue, and a decision (approve, deny, ask for a visit).

Everyone who works the inbox (messaging.access.INBOX_ROLES) sees the queue; only clinicians and nurses
(REFILL_DECIDERS) decide: the front desk and the organization's admins are refused (403, nothing changed).
Two people deciding at once: the first wins, the second is told who decided (409, nothing changed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts.audience import staff_page
from messaging import refill_actions
from messaging.access import INBOX_ROLES, REFILL_DECIDERS, access_staff_refill_by_id
from messaging.actions import MessagingError
from messaging.refills import refill_queue
from proxy.actions import NotAllowedError

if TYPE_CHECKING:
    from accounts.actors import Actor
    from accounts.requests import SignedInRequest
    from messaging.models import RefillRequest


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            (refill_actions.Decision.APPROVE, gettext_lazy("Approve")),
            (refill_actions.Decision.DENY, gettext_lazy("Deny")),
            (refill_actions.Decision.VISIT, gettext_lazy("Ask for a visit first")),
        ],
        widget=forms.RadioSelect,
    )
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity"), required=False, min_value=1, max_value=refill_actions.MAX_QUANTITY
    )
    refills = forms.IntegerField(
        label=gettext_lazy("Refills"), required=False, min_value=0, max_value=refill_actions.MAX_REFILLS
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason (the patient reads it)"),
        required=False,
        max_length=refill_actions.REASON_LIMIT,
        help_text=gettext_lazy("Needed to deny, or to say what the visit is for."),
    )


def _queue(request: SignedInRequest, staff: Actor, *, status: int = 200) -> HttpResponse:
    waiting, decided = refill_queue(staff)
    refill_actions.record_queue_read(staff=staff, refills=[*waiting, *decided], request=request)
    organization = staff.organization
    return render(
        request,
        "messaging/refills/staff_queue.html",
        {
            "organization": organization,
            "waiting": waiting,
            "decided": [(refill, refill_actions.decision_text(refill)) for refill in decided],
            "may_decide": bool(staff.roles_at(organization.pk) & REFILL_DECIDERS),
            "form": DecisionForm(),
        },
        status=status,
    )


@staff_page(roles=INBOX_ROLES)
@require_safe
def staff_refills(request: SignedInRequest, staff: Actor) -> HttpResponse:
    return _queue(request, staff)


@staff_page(roles=INBOX_ROLES, objects={"refill_id": access_staff_refill_by_id})
@require_POST
def staff_refill_decide(request: SignedInRequest, staff: Actor, refill: RefillRequest) -> HttpResponse:
    form = DecisionForm(request.POST)
    slug = staff.organization.slug
    if not form.is_valid():
        messages.error(request, _("Choose a decision, with a quantity to approve or a reason otherwise."))
        return redirect("messaging:staff_refills", org_slug=slug)
    data = form.cleaned_data
    try:
        refill_actions.decide_refill(
            staff=staff,
            refill=refill,
            decision=data["decision"],
            quantity=data["quantity"],
            refills=data["refills"],
            reason=data["reason"],
            request=request,
        )
    except NotAllowedError as error:
        messages.error(request, str(error))
        return render(request, "messaging/refills/staff_refused.html", {"organization": staff.organization}, status=403)
    except refill_actions.AlreadyDecidedError as error:
        messages.error(request, str(error))
        return render(request, "messaging/refills/staff_refused.html", {"organization": staff.organization}, status=409)
    except MessagingError as error:
        messages.error(request, str(error))
        return redirect("messaging:staff_refills", org_slug=slug)
    messages.success(
        request,
        _("Decided for %(patient)s: %(decision)s")
        % {"patient": refill.patient.display_name, "decision": refill_actions.decision_text(refill)},
    )
    return redirect("messaging:staff_refills", org_slug=slug)
