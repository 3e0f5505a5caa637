"""The reviewers' side: organization admins for their patients, platform admins for everyone else."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.actions.audit import record_audit_event
from accounts.actors import Scope
from accounts.audit_labels import AuditAction
from accounts.decorators import staff_page
from accounts.models import AuditEvent
from accounts.requests import SignedInRequest
from proxy import actions
from proxy.desks import review_desk, reviewer_actor
from proxy.forms import ApproveForm, DenyForm, GrantFilterForm, RevokeForm
from proxy.models import AccessRequestDocument, GrantStatus

PAGE_SIZE = 50


@staff_page
def queue(request: SignedInRequest, org_slug: str | None = None) -> HttpResponse:
    desk = review_desk(request.actor, org_slug)
    pending = desk.requests().filter(status=GrantStatus.PENDING).order_by("created_at")
    decided = desk.requests().exclude(status=GrantStatus.PENDING).order_by("-decided_at")[:20]
    return render(request, "proxy/review/queue.html", {"desk": desk, "pending": pending, "decided": decided})


@staff_page
@require_http_methods(["GET", "POST"])
def review(request: SignedInRequest, request_id: int, org_slug: str | None = None) -> HttpResponse:
    desk = review_desk(request.actor, org_slug)
    access_request = desk.requests().prefetch_related("documents").filter(pk=request_id).first()
    if access_request is None:
        raise Http404
    reviewer = reviewer_actor(request.actor, desk)
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
    if request.method == "POST" and access_request.status == GrantStatus.PENDING:
        try:
            if request.POST.get("decision") == "approve":
                approve_form = ApproveForm(request.POST, patient_choices=patient_choices)
                if approve_form.is_valid():
                    data = approve_form.cleaned_data
                    actions.approve_access_request(
                        actor=reviewer,
                        access_request=access_request,
                        patient_choice=data["patient"],
                        scopes=data["scopes"],
                        expires_at=data["expires_at"],
                        mrn=data["mrn"],
                        reason=data["reason"],
                        request=request,
                    )
                    messages.success(request, _("Approved. The requester can now act for this person."))
                    return redirect(desk.url("queue"))
            elif request.POST.get("decision") == "deny":
                deny_form = DenyForm(request.POST)
                if deny_form.is_valid():
                    actions.deny_access_request(
                        actor=reviewer,
                        access_request=access_request,
                        reason=deny_form.cleaned_data["reason"],
                        request=request,
                    )
                    messages.success(request, _("Denied. The requester will see your reason."))
                    return redirect(desk.url("queue"))
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
            "scope_labels": Scope.LABELS,
        },
    )


@staff_page
def document(request: SignedInRequest, request_id: int, document_id: int, org_slug: str | None = None) -> FileResponse:
    desk = review_desk(request.actor, org_slug)
    found = AccessRequestDocument.objects.filter(
        pk=document_id, request_id=request_id, request__in=desk.requests()
    ).first()
    if found is None:
        raise Http404
    record_audit_event(
        action=AuditAction.PROXY_DOCUMENT_VIEWED,
        actor=reviewer_actor(request.actor, desk),
        request=request,
        subject=found.request.patient,
        object_type="access_request_document",
        object_id=found.pk,
    )
    response = FileResponse(found.file.open("rb"), content_type=found.content_type)
    response["Content-Disposition"] = f'inline; filename="document-{found.pk}"'
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response


@staff_page
def grants(request: SignedInRequest, org_slug: str | None = None) -> HttpResponse:
    desk = review_desk(request.actor, org_slug)
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
    page = Paginator(found.distinct().order_by("-status_changed_at", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "proxy/review/grants.html", {"desk": desk, "form": form, "page": page, "query": query.urlencode()}
    )


@staff_page
@require_http_methods(["GET", "POST"])
def grant_detail(request: SignedInRequest, grant_id: str, org_slug: str | None = None) -> HttpResponse:
    desk = review_desk(request.actor, org_slug)
    grant = desk.grants().filter(pk=grant_id).first()
    if grant is None:
        raise Http404
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not form.cleaned_data["reason"].strip():
            form.add_error("reason", _("Please give a reason for ending this access."))
        else:
            try:
                actions.revoke_grant(
                    actor=reviewer_actor(request.actor, desk),
                    grant=grant,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except actions.ProxyError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("Access ended."))
            return redirect(desk.url("grant", grant.pk))
    history = AuditEvent.objects.filter(object_type="proxy_grant", object_id=str(grant.pk)).order_by("occurred_at")
    return render(
        request,
        "proxy/review/grant.html",
        {"desk": desk, "grant": grant, "history": history, "form": form, "scope_labels": Scope.LABELS},
    )
