"""The caregiver's side: asking for access to someone's record, and following the answer."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.actors import Scope
from accounts.audience import account_page
from accounts.models.audit import Basis
from accounts.requests import SignedInRequest
from proxy import actions
from proxy.access import access_held_grant_by_id
from proxy.forms import LEGAL_BASIS_CHOICES_FOR_REQUESTS, AccessRequestForm
from proxy.models import GrantStatus, ProxyGrant
from proxy.selectors import requests_made_by

# After the 18th birthday a parent may carry on only on one of these bases.
CONTINUATION_BASES = [
    c for c in LEGAL_BASIS_CHOICES_FOR_REQUESTS if c[0] in (Basis.COURT_GUARDIANSHIP, Basis.POWER_OF_ATTORNEY)
]


@account_page
@require_http_methods(["GET", "POST"])
def request_access(request: SignedInRequest) -> HttpResponse:
    user = request.user
    continues: ProxyGrant | None = None
    continues_id = request.GET.get("continues") or request.POST.get("continues")
    if continues_id:
        # A parent's own grant that ends at 18, through its access helper (404 for anyone else's).
        continues = access_held_grant_by_id(request.actor, continues_id)
    initial: dict[str, object] = {"requested_scopes": sorted(Scope.ALL - {Scope.MANAGE_PROXIES})}
    if continues is not None:
        patient = continues.patient
        initial.update(
            patient_given_name=patient.given_name,
            patient_family_name=patient.family_name,
            patient_birth_date=patient.birth_date,
            relationship=continues.relationship,
            requested_scopes=continues.scopes,
            organization=patient.enrollments.values_list("organization", flat=True).first(),
        )
    form = AccessRequestForm(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        bases=CONTINUATION_BASES if continues is not None else None,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        documents = data.pop("documents")
        try:
            actions.submit_access_request(
                user=user,
                documents=documents,
                request=request,
                patient=continues.patient if continues is not None else None,
                continues_grant=continues,
                **data,
            )
        except actions.ProxyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Your request was sent. We will email you when it has been reviewed."))
            return redirect("proxy:my_requests")
    return render(request, "proxy/request_access.html", {"form": form, "continues": continues})


@account_page
@require_safe
def my_requests(request: SignedInRequest) -> HttpResponse:
    requests = requests_made_by(request.actor)
    return render(request, "proxy/my_requests.html", {"requests": requests, "statuses": GrantStatus})
