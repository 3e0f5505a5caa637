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
from django.views.decorators.http import require_http_methods

from accounts.access import access_organization_as_admin, access_organization_as_staff, enrollments_visible_to_staff
from accounts.actions.audit import record_audit_event, record_audit_events_for_patients
from accounts.actors import Actor
from accounts.audit_labels import AuditAction
from accounts.decorators import staff_page
from accounts.forms import OrganizationPolicyForm
from accounts.models.audit import Basis
from accounts.requests import SignedInRequest
from accounts.selectors import organizations_with_members

PAGE_SIZE = 50


@staff_page
def patient_roster(request: SignedInRequest, org_slug: str) -> HttpResponse:
    actor: Actor = request.actor
    organization = access_organization_as_staff(actor, org_slug)
    query = request.GET.get("q", "").strip()[:100]
    enrollments = enrollments_visible_to_staff(actor, organization).select_related("patient")
    if query:
        enrollments = enrollments.filter(
            Q(patient__family_name__icontains=query) | Q(patient__given_name__icontains=query) | Q(mrn=query)
        )
    page = Paginator(enrollments.order_by("patient__family_name", "patient__given_name", "pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    record_audit_events_for_patients(
        action=AuditAction.ROSTER_VIEWED,
        actor=actor,
        patients=[e.patient for e in page],
        request=request,
        basis=Basis.STAFF,
        object_type="organization",
        object_id=organization.pk,
    )
    return render(
        request,
        "accounts/staff/roster.html",
        {"organization": organization, "page": page, "q": query, "query": urlencode({"q": query}) if query else ""},
    )


@staff_page
def organization_members(request: SignedInRequest, org_slug: str) -> HttpResponse:
    actor: Actor = request.actor
    organization = access_organization_as_admin(actor, org_slug)
    members = organizations_with_members(actor, organization)
    return render(request, "accounts/staff/members.html", {"organization": organization, "members": members})


@staff_page
@require_http_methods(["GET", "POST"])
def organization_policy(request: SignedInRequest, org_slug: str) -> HttpResponse:
    """The organization's proxy policy for minors (its admins only)."""
    actor = request.actor
    organization = access_organization_as_admin(actor, org_slug)
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
