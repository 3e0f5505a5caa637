"""The shell's pages: the dashboard, staff and platform homes, health checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django.views.i18n import set_language as django_set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.actions.audit import record_audit_events
from accounts.actions.mfa import has_mfa
from accounts.actors import Actor, Scope
from accounts.audience import Audience, Kind, account_page, public_page, staff_page, subject_page
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, AuditSeal, Organization, Patient
from accounts.requests import SignedInRequest
from billing.access import BILLING_ROLES
from messaging.selectors import InboxCounts, workplace_inbox_counts
from portal.celery import app as celery_app
from proxy.access import Subject
from proxy.attention import attention_for
from proxy.context import ActingRequest


def _record_summaries_seen(request: ActingRequest, subjects: list[Subject]) -> None:
    """What needs attention for someone else is a read of their record: one audit row each."""
    others = [s for s in subjects if not s.is_self and Scope.RECORDS in s.scopes]
    record_audit_events(
        action=AuditAction.SUMMARY_VIEWED,
        actor=request.actor,
        request=request,
        rows=[(s.patient, "patient", s.patient.pk) for s in others],
    )


@account_page
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard for everyone signed in (visitors are sent to the sign-in page)."""
    return dashboard(cast(ActingRequest, request))


def dashboard(request: ActingRequest) -> HttpResponse:
    actor: Actor = request.actor
    user = actor.user
    assert user is not None
    subjects = request.acting.subjects
    current = next((s for s in subjects if actor.subject and s.patient.pk == actor.subject.pk), None)
    _record_summaries_seen(request, [current] if current else [])
    return render(
        request,
        "portal/dashboard.html",
        {
            "subjects": subjects,
            "current": current,
            "attention": attention_for(actor, [current] if current else []),
            "mfa_enabled": has_mfa(user),
            "memberships": actor.memberships,
        },
    )


@account_page
@require_safe
def family(request: ActingRequest) -> HttpResponse:
    """Everyone the person may act for, each with what needs their attention."""
    subjects = request.acting.subjects
    _record_summaries_seen(request, subjects)
    return render(
        request,
        "portal/family.html",
        {"subjects": subjects, "attention": attention_for(request.actor, subjects)},
    )


@subject_page(Scope.RECORDS, audit=AuditAction.RECORD_VIEWED)
@require_safe
def person(request: ActingRequest, subject: Patient) -> HttpResponse:
    """About the person being acted for: who they are and where they are cared for."""
    enrollments = subject.enrollments.select_related("organization").order_by("organization__name")
    return render(request, "portal/person.html", {"patient": subject, "enrollments": enrollments})


@dataclass
class Workplace:
    organization: Organization
    admin: bool
    roles: list[str] = field(default_factory=list)
    inbox: InboxCounts | None = None  # where the person works the inbox: what waits there
    billing: bool = False  # works the billing desk there


@staff_page(organization=False)
@require_safe
def staff_home(request: SignedInRequest, staff: Actor) -> HttpResponse:
    actor = staff
    workplaces: dict[int, Workplace] = {}
    for membership in actor.memberships:
        workplace = workplaces.setdefault(
            membership.organization_id,
            Workplace(membership.organization, admin=actor.is_org_admin_of(membership.organization_id)),
        )
        workplace.roles.append(membership.get_role_display())
        workplace.billing = workplace.billing or membership.role in BILLING_ROLES
    for organization_id, counts in workplace_inbox_counts(actor).items():
        workplaces[organization_id].inbox = counts
    return render(request, "portal/staff_home.html", {"organizations": list(workplaces.values())})


@staff_page(organization=False, platform=True)
@require_safe
def platform_home(request: SignedInRequest, staff: Actor) -> HttpResponse:
    organizations = Organization.objects.annotate(
        member_count=Count("memberships__user", distinct=True),
        patient_count=Count("enrollments", distinct=True),
    ).order_by("name")
    return render(
        request,
        "portal/platform_home.html",
        {
            "organizations": organizations,
            "audit_events": AuditEvent.objects.count(),
            "audit_sealed": AuditSeal.objects.count(),
        },
    )


@public_page
@require_POST
def session_keepalive(request: HttpRequest) -> HttpResponse:
    """Counts as activity (the idle middleware saw this request); the warning's 'Stay signed in'."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False}, status=401)
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return JsonResponse({"signed_in": True, "idle_timeout": settings.SESSION_IDLE_TIMEOUT})


@public_page
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, also remembered on the signed-in person's account."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        get_user_model().objects.filter(pk=request.user.pk).update(language=language)
    return response


@public_page
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico; the icon is an SVG among the static files."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@public_page
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


@public_page
@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """The process can serve: its database and its broker answer."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001  (any failure means not ready)
        checks["database"] = "unavailable"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception:  # noqa: BLE001
        checks["broker"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: public, it describes and discloses nothing."""

    audience = Audience(Kind.PUBLIC)


class SchemaDocsView(SpectacularSwaggerSplitView):
    audience = Audience(Kind.PUBLIC)
