"""Switching whom the signed-in person acts for, and accepting an invitation."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.actions.audit import record_audit_event
from accounts.actors import Scope
from accounts.audience import account_page, public_page
from accounts.audit_labels import AuditAction
from accounts.requests import SignedInRequest
from proxy import actions
from proxy.access import AccessEndedError, resolve_actor
from proxy.middleware import ACTING_FOR_KEY

SELF = "self"


@account_page
@require_POST
def switch_subject(request: SignedInRequest) -> HttpResponse:
    """Act for someone else (under a live grant), or go back to one's own record."""
    chosen = request.POST.get("subject", SELF)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("home")
    if chosen == SELF:
        request.session.pop(ACTING_FOR_KEY, None)
        return redirect(next_url)
    try:
        actor = resolve_actor(request.user, subject_id=chosen)
    except AccessEndedError:
        # Someone this person may not act for (any more): refused, the session stays as it was, and the
        # page names nobody (the id came from the request, not from a grant this person held).
        return render(request, "proxy/access_ended.html", {"patient_name": ""}, status=403)
    assert actor.subject is not None
    request.session[ACTING_FOR_KEY] = str(actor.subject.pk)
    record_audit_event(
        action=AuditAction.PROXY_SWITCHED_TO,
        actor=actor,
        request=request,
        object_type="patient",
        object_id=actor.subject.pk,
    )
    # A family-view card names the page it links to (`next`, same site only); otherwise the home page, since
    # sections differ between people. A page outside this person's scopes answers as any refused page does.
    return redirect(next_url)


@public_page
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = actions.invitation_from_token(token)
    usable = found is not None and found.accepted_at is None and found.grant.status == "pending"
    context: dict[str, object] = {"invitation": found if usable else None, "token": token, "scope_labels": Scope.LABELS}
    if not request.user.is_authenticated:
        here = request.get_full_path()
        context["login_url"] = reverse("account_login") + "?" + urlencode({"next": here})
        context["signup_url"] = reverse("account_signup") + "?" + urlencode({"next": here})
        return render(request, "proxy/invitation.html", context)
    if request.method == "POST" and usable:
        try:
            grant = actions.accept_invitation(user=request.user, token=token, request=request)
        except actions.ProxyError as error:
            context["error"] = str(error)
        else:
            messages.success(
                request,
                _("You can now help with %(name)s's care. Choose them at the top of any page.")
                % {"name": grant.patient.given_name},
            )
            return redirect("home")
    return render(request, "proxy/invitation.html", context)
