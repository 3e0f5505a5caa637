"""The patient's side: who can see my record, inviting someone, changing or ending their access."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import access_subject
from accounts.actors import Scope
from accounts.requests import SignedInRequest
from proxy import actions
from proxy.forms import InviteForm, RevokeForm, ScopesForm
from proxy.models import GrantStatus, ProxyGrant
from proxy.selectors import grants_on_record


def _grant_on_subject(request: SignedInRequest, grant_id: str) -> ProxyGrant:
    patient = access_subject(request.actor, Scope.MANAGE_PROXIES)
    grant = ProxyGrant.objects.select_related("patient", "grantee").filter(pk=grant_id, patient=patient).first()
    if grant is None:
        raise Http404
    return grant


@login_required
def sharing(request: SignedInRequest) -> HttpResponse:
    patient = access_subject(request.actor, Scope.MANAGE_PROXIES)
    grants = grants_on_record(patient)
    return render(
        request,
        "proxy/sharing.html",
        {
            "patient": patient,
            "active": [g for g in grants if g.status == GrantStatus.ACTIVE and g.grantee_id],
            "pending": [g for g in grants if g.status == GrantStatus.PENDING],
            "ended": [g for g in grants if g.status not in (GrantStatus.ACTIVE, GrantStatus.PENDING)],
            "scope_labels": Scope.LABELS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def invite(request: SignedInRequest) -> HttpResponse:
    patient = access_subject(request.actor, Scope.MANAGE_PROXIES)
    form = InviteForm(request.POST or None, initial={"scopes": sorted(Scope.ALL - {Scope.MANAGE_PROXIES})})
    if request.method == "POST" and form.is_valid():
        try:
            actions.invite_caregiver(actor=request.actor, patient=patient, request=request, **form.cleaned_data)
        except actions.ProxyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("proxy:sharing")
    return render(request, "proxy/invite.html", {"form": form, "patient": patient})


@login_required
@require_http_methods(["GET", "POST"])
def grant_edit(request: SignedInRequest, grant_id: str) -> HttpResponse:
    grant = _grant_on_subject(request, grant_id)
    if grant.status not in (GrantStatus.ACTIVE, GrantStatus.PENDING):
        raise Http404
    initial = {"scopes": grant.scopes, "expires_at": grant.expires_at.date() if grant.expires_at else None}
    form = ScopesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.change_grant_scopes(
                actor=request.actor,
                grant=grant,
                scopes=form.cleaned_data["scopes"],
                expires_at=form.cleaned_data["expires_at"],
                keep_expiry=False,
                request=request,
            )
        except actions.ProxyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Access updated."))
            return redirect("proxy:sharing")
    return render(request, "proxy/grant_edit.html", {"form": form, "grant": grant, "revoke_form": RevokeForm()})


@login_required
@require_POST
def grant_revoke(request: SignedInRequest, grant_id: str) -> HttpResponse:
    grant = _grant_on_subject(request, grant_id)
    form = RevokeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        if grant.status == GrantStatus.PENDING and grant.grantee_id is None:
            actions.withdraw_invitation(actor=request.actor, grant=grant, request=request)
        else:
            actions.revoke_grant(actor=request.actor, grant=grant, reason=reason, request=request)
    except actions.ProxyError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Access ended. It stops working at once."))
    return redirect("proxy:sharing")
