"""The patient's side: who can see my record, inviting someone, changing or ending their access."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.requests import SignedInRequest
from proxy import actions
from proxy.access import access_grant_by_id
from proxy.forms import InviteForm, RevokeForm, ScopesForm
from proxy.models import GrantStatus, ProxyGrant
from proxy.selectors import grants_on_record


def _beyond_what_is_held(request: SignedInRequest, template: str, context: dict[str, object]) -> HttpResponse:
    """403: the post asked to give what the person does not hold (the form never offers it)."""
    messages.error(request, _("You can only give access to what you may do yourself."))
    return render(request, template, context, status=403)


@subject_page(Scope.MANAGE_PROXIES, audit=AuditAction.PROXY_GRANTS_VIEWED)
@require_safe
def sharing(request: SignedInRequest, subject: Patient) -> HttpResponse:
    grants = grants_on_record(request.actor, subject)
    return render(
        request,
        "proxy/sharing.html",
        {
            "patient": subject,
            "active": [g for g in grants if g.status == GrantStatus.ACTIVE and g.grantee_id],
            "pending": [g for g in grants if g.status == GrantStatus.PENDING],
            "ended": [g for g in grants if g.status not in (GrantStatus.ACTIVE, GrantStatus.PENDING)],
            "scope_labels": Scope.LABELS,
        },
    )


@subject_page(Scope.MANAGE_PROXIES)
@require_http_methods(["GET", "POST"])
def invite(request: SignedInRequest, subject: Patient) -> HttpResponse:
    actor = request.actor
    offered = sorted(actor.scopes - {Scope.MANAGE_PROXIES})
    form = InviteForm(request.POST or None, initial={"scopes": offered}, actor=actor)
    if form.asks_beyond_what_is_held():
        return _beyond_what_is_held(request, "proxy/invite.html", {"form": form, "patient": subject})
    if request.method == "POST" and form.is_valid():
        try:
            actions.invite_caregiver(actor=actor, patient=subject, request=request, **form.cleaned_data)
        except actions.NotAllowedError as error:
            form.add_error(None, str(error))
            return render(request, "proxy/invite.html", {"form": form, "patient": subject}, status=403)
        except actions.ProxyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("proxy:sharing")
    return render(request, "proxy/invite.html", {"form": form, "patient": subject})


@subject_page(Scope.MANAGE_PROXIES, audit=AuditAction.PROXY_GRANT_VIEWED, objects={"grant_id": access_grant_by_id})
@require_http_methods(["GET", "POST"])
def grant_edit(request: SignedInRequest, subject: Patient, grant: ProxyGrant) -> HttpResponse:
    if grant.status not in (GrantStatus.ACTIVE, GrantStatus.PENDING):
        raise Http404
    initial = {
        "scopes": grant.scopes,
        "expires_at": grant.expires_at.date() if grant.expires_at else None,
        "allows_sensitive": grant.allows_sensitive,
    }
    form = ScopesForm(request.POST or None, initial=initial, actor=request.actor)
    context = {"form": form, "grant": grant, "revoke_form": RevokeForm()}
    if form.asks_beyond_what_is_held():
        return _beyond_what_is_held(request, "proxy/grant_edit.html", context)
    if request.method == "POST" and form.is_valid():
        try:
            actions.change_grant_scopes(
                actor=request.actor,
                grant=grant,
                scopes=form.cleaned_data["scopes"],
                expires_at=form.cleaned_data["expires_at"],
                keep_expiry=False,
                allows_sensitive=form.cleaned_data.get("allows_sensitive", grant.allows_sensitive),
                request=request,
            )
        except actions.NotAllowedError as error:
            form.add_error(None, str(error))
            return render(request, "proxy/grant_edit.html", context, status=403)
        except actions.ProxyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Access updated."))
            return redirect("proxy:sharing")
    return render(request, "proxy/grant_edit.html", context)


@subject_page(Scope.MANAGE_PROXIES, objects={"grant_id": access_grant_by_id})
@require_POST
def grant_revoke(request: SignedInRequest, subject: Patient, grant: ProxyGrant) -> HttpResponse:
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
