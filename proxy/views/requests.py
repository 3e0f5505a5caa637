"""The caregiver's side: asking for access to someone's record, and following the answer."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.actors import Scope
from accounts.models.audit import Basis
from accounts.requests import SignedInRequest
from proxy import actions
from proxy.forms import LEGAL_BASIS_CHOICES_FOR_REQUESTS, AccessRequestForm
from proxy.models import AccessRequest, GrantStatus, ProxyGrant

# After the 18th birthday a parent may carry on only on one of these bases.
CONTINUATION_BASES = [
    c for c in LEGAL_BASIS_CHOICES_FOR_REQUESTS if c[0] in (Basis.COURT_GUARDIANSHIP, Basis.POWER_OF_ATTORNEY)
]


@login_required
@require_http_methods(["GET", "POST"])
def request_access(request: SignedInRequest) -> HttpResponse:
    user = request.user
    continues = None
    continues_id = request.GET.get("continues") or request.POST.get("continues")
    if continues_id:
        continues = (
            ProxyGrant.objects.select_related("patient")
            .filter(pk=continues_id, grantee=user, legal_basis=Basis.PARENT_OF_MINOR)
            .first()
            if _is_uuid(continues_id)
            else None
        )
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


@login_required
def my_requests(request: SignedInRequest) -> HttpResponse:
    requests = (
        AccessRequest.objects.filter(requester=request.user).select_related("organization").order_by("-created_at")
    )
    return render(request, "proxy/my_requests.html", {"requests": requests, "statuses": GrantStatus})


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
