"""The reviewers' side: organization admins for their patients, platform admins for everyone else.

Each page is declared for admins at an organization's desk (org_slug in the URL) or at the
platform's desk (the same view under /platform/); every read goes through the desk's scope.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.actions.audit import record_audit_events
from accounts.actors import Actor, Scope
from accounts.audience import staff_page
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, Role
from accounts.requests import SignedInRequest
from accounts.scoping import scoped
from proxy import actions
from proxy.access import access_grant_by_id, access_request_by_id, access_request_document_by_id
from proxy.desks import ReviewDesk
from proxy.forms import ApproveForm, DenyForm, GrantFilterForm, RevokeForm
from proxy.models import AccessRequest, AccessRequestDocument, GrantStatus, ProxyGrant

PAGE_SIZE = 50
ADMINS = frozenset({Role.ORG_ADMIN})


def _audit_listed_requests(staff: Actor, request: SignedInRequest, listed: list[AccessRequest]) -> None:
    record_audit_events(
        action=AuditAction.PROXY_REQUEST_VIEWED,
        actor=staff,
        request=request,
        rows=[(found.patient, "accessrequest", found.pk) for found in listed],
    )


@staff_page(roles=ADMINS, platform=True)
@require_safe
def queue(request: SignedInRequest, staff: Actor) -> HttpResponse:
    desk = ReviewDesk(staff)
    pending = list(desk.requests().filter(status=GrantStatus.PENDING).order_by("created_at"))
    decided = list(desk.requests().exclude(status=GrantStatus.PENDING).order_by("-decided_at")[:20])
    _audit_listed_requests(staff, request, pending + decided)
    return render(request, "proxy/review/queue.html", {"desk": desk, "pending": pending, "decided": decided})


@staff_page(
    roles=ADMINS,
    platform=True,
    audit=AuditAction.PROXY_REQUEST_VIEWED,
    objects={"access_request_id": access_request_by_id},
)
@require_http_methods(["GET", "POST"])
def review(request: SignedInRequest, staff: Actor, access_request: AccessRequest) -> HttpResponse:
    desk = ReviewDesk(staff)
    matches = list(desk.patient_matches(access_request))
    patient_choices = [(str(p.pk), f"{p.display_name} · {p.birth_date.isoformat()}") for p in matches]
    patient_choices.append((actions.NEW_PATIENT, _("Create a new record for this person")))
    approve_form = ApproveForm(
        initial={
            "scopes": access_request.requested_scopes,
            "patient": str(access_request.patient_id)
            if access_request.patient_id
            else (str(matches[0].pk) if matches else actions.NEW_PATIENT),
        },
        patient_choices=patient_choices,
    )
    deny_form = DenyForm()
    own_request = desk.is_own_request(access_request)
    status = 200
    if request.method == "POST" and access_request.status == GrantStatus.PENDING:
        try:
            if request.POST.get("decision") == "approve":
                approve_form = ApproveForm(request.POST, patient_choices=patient_choices)
                if approve_form.is_valid():
                    data = approve_form.cleaned_data
                    chosen = next((p for p in matches if str(p.pk) == data["patient"]), None)
                    actions.approve_access_request(
                        actor=staff,
                        access_request=access_request,
                        patient=chosen,
                        scopes=data["scopes"],
                        expires_at=data["expires_at"],
                        mrn=data["mrn"],
                        reason=data["reason"],
                        allows_sensitive=data["allows_sensitive"],
                        request=request,
                    )
                    messages.success(request, _("Approved. The requester can now act for this person."))
                    return redirect(desk.url("queue"))
            elif request.POST.get("decision") == "deny":
                deny_form = DenyForm(request.POST)
                if deny_form.is_valid():
                    actions.deny_access_request(
                        actor=staff,
                        access_request=access_request,
                        reason=deny_form.cleaned_data["reason"],
                        request=request,
                    )
                    messages.success(request, _("Denied. The requester will see your reason."))
                    return redirect(desk.url("queue"))
        except actions.NotAllowedError as error:
            messages.error(request, str(error))
            status = 403
        except actions.ProxyError as error:
            messages.error(request, str(error))
    return render(
        request,
        "proxy/review/request.html",
        {
            "desk": desk,
            "access_request": access_request,
            "approve_form": approve_form,
            "deny_form": deny_form,
            "own_request": own_request,
            "scope_labels": Scope.LABELS,
        },
        status=status,
    )


@staff_page(
    roles=ADMINS,
    platform=True,
    audit=AuditAction.PROXY_DOCUMENT_VIEWED,
    objects={"access_request_id": access_request_by_id, "document_id": access_request_document_by_id},
)
@require_safe
def document(
    request: SignedInRequest, staff: Actor, access_request: AccessRequest, document: AccessRequestDocument
) -> FileResponse:
    response = FileResponse(document.file.open("rb"), content_type=document.content_type)
    response["Content-Disposition"] = f'inline; filename="document-{document.pk}"'
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response


@staff_page(roles=ADMINS, platform=True)
@require_safe
def grants(request: SignedInRequest, staff: Actor) -> HttpResponse:
    desk = ReviewDesk(staff)
    form = GrantFilterForm(request.GET or None)
    found = desk.grants()
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            words = data["q"].strip()
            found = found.filter(
                Q(patient__family_name__icontains=words)
                | Q(patient__given_name__icontains=words)
                | Q(grantee__full_name__icontains=words)
                | Q(grantee__email__icontains=words)
            )
        if data["status"]:
            found = found.filter(status=data["status"])
        if data["legal_basis"]:
            found = found.filter(legal_basis=data["legal_basis"])
    page = Paginator(found.order_by("-status_changed_at", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    record_audit_events(
        action=AuditAction.PROXY_GRANTS_VIEWED,
        actor=staff,
        request=request,
        rows=[(grant.patient, "proxygrant", grant.pk) for grant in page],
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "proxy/review/grants.html", {"desk": desk, "form": form, "page": page, "query": query.urlencode()}
    )


@staff_page(roles=ADMINS, platform=True, audit=AuditAction.PROXY_GRANT_VIEWED, objects={"grant_id": access_grant_by_id})
@require_http_methods(["GET", "POST"])
def grant_detail(request: SignedInRequest, staff: Actor, grant: ProxyGrant) -> HttpResponse:
    desk = ReviewDesk(staff)
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not form.cleaned_data["reason"].strip():
            form.add_error("reason", _("Please give a reason for ending this access."))
        else:
            try:
                actions.revoke_grant(actor=staff, grant=grant, reason=form.cleaned_data["reason"], request=request)
            except actions.ProxyError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("Access ended."))
            return redirect(desk.url("grant", grant.pk))
    history = (
        scoped(staff, AuditEvent).filter(object_type="proxy_grant", object_id=str(grant.pk)).order_by("occurred_at")
    )
    return render(
        request,
        "proxy/review/grant.html",
        {"desk": desk, "grant": grant, "history": history, "form": form, "scope_labels": Scope.LABELS},
    )
