"""Clinic staff pages for one organization: its patient list and its members."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.actions.audit import record_audit_event, record_audit_events
from accounts.actors import Actor
from accounts.audience import staff_page
from accounts.audit_labels import AuditAction
from accounts.forms import OrganizationPolicyForm
from accounts.models import Enrollment, Role
from accounts.models.audit import Basis
from accounts.requests import SignedInRequest
from accounts.scoping import scoped
from accounts.selectors import organizations_with_members

ADMINS = frozenset({Role.ORG_ADMIN})

PAGE_SIZE = 50


@staff_page()
@require_safe
def patient_roster(request: SignedInRequest, staff: Actor) -> HttpResponse:
    organization = staff.organization
    query = request.GET.get("q", "").strip()[:100]
    enrollments = scoped(staff, Enrollment).select_related("patient")
    if query:
        enrollments = enrollments.filter(
            Q(patient__family_name__icontains=query) | Q(patient__given_name__icontains=query) | Q(mrn=query)
        )
    page = Paginator(enrollments.order_by("patient__family_name", "patient__given_name", "pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    record_audit_events(
        action=AuditAction.ROSTER_VIEWED,
        actor=staff,
        request=request,
        rows=[(e.patient, "organization", organization.pk) for e in page],
    )
    return render(
        request,
        "accounts/staff/roster.html",
        {"organization": organization, "page": page, "q": query, "query": urlencode({"q": query}) if query else ""},
    )


@staff_page(roles=ADMINS)
@require_safe
def organization_members(request: SignedInRequest, staff: Actor) -> HttpResponse:
    organization = staff.organization
    members = organizations_with_members(staff)
    return render(request, "accounts/staff/members.html", {"organization": organization, "members": members})


@staff_page(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def organization_policy(request: SignedInRequest, staff: Actor) -> HttpResponse:
    """The organization's proxy policy for minors (its admins only)."""
    actor = staff
    organization = staff.organization
    form = OrganizationPolicyForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            record_audit_event(
                action=AuditAction.ORGANIZATION_POLICY_CHANGED,
                actor=actor,
                subject=None,
                basis=Basis.STAFF,
                request=request,
                object_type="organization",
                object_id=organization.pk,
                detail={field: form.cleaned_data[field] for field in form.changed_data},
            )
        messages.success(request, _("The policy is saved. It applies from the next page anyone opens."))
        return redirect("org_policy", org_slug=organization.slug)
    return render(request, "accounts/staff/policy.html", {"organization": organization, "form": form})
