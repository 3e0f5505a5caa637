"""The shell's pages: the dashboard, staff and platform homes, health checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count
from django.http import (
    Http404,
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
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts.access import access_subject
from accounts.actions.audit import record_audit_event
from accounts.actions.mfa import has_mfa
from accounts.actors import Actor, Scope
from accounts.audit_labels import AuditAction
from accounts.decorators import staff_page
from accounts.models import AuditEvent, AuditSeal, Organization
from accounts.requests import SignedInRequest
from portal.celery import app as celery_app
from proxy.attention import attention_for
from proxy.context import ActingRequest


def home(request: HttpRequest) -> HttpResponse:
    """The front door for visitors (the sign-in page), the dashboard for everyone signed in."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    return dashboard(cast(ActingRequest, request))


def dashboard(request: ActingRequest) -> HttpResponse:
    actor: Actor = request.actor
    user = actor.user
    assert user is not None
    subjects = request.acting.subjects
    current = next((s for s in subjects if actor.subject and s.patient.pk == actor.subject.pk), None)
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


@login_required
def family(request: ActingRequest) -> HttpResponse:
    """Everyone the person may act for, each with what needs their attention."""
    subjects = request.acting.subjects
    return render(
        request,
        "portal/family.html",
        {"subjects": subjects, "attention": attention_for(request.actor, subjects)},
    )


@login_required
def person(request: ActingRequest) -> HttpResponse:
    """About the person being acted for: who they are and where they are cared for."""
    actor = request.actor
    patient = access_subject(actor, Scope.RECORDS)
    enrollments = patient.enrollments.select_related("organization").order_by("organization__name")
    record_audit_event(
        action=AuditAction.RECORD_VIEWED, actor=actor, request=request, object_type="patient", object_id=patient.pk
    )
    return render(request, "portal/person.html", {"patient": patient, "enrollments": enrollments})


@dataclass
class Workplace:
    organization: Organization
    admin: bool
    roles: list[str] = field(default_factory=list)


@staff_page
def staff_home(request: SignedInRequest) -> HttpResponse:
    actor = request.actor
    workplaces: dict[int, Workplace] = {}
    for membership in actor.memberships:
        workplace = workplaces.setdefault(
            membership.organization_id,
            Workplace(membership.organization, admin=actor.is_org_admin_of(membership.organization_id)),
        )
        workplace.roles.append(membership.get_role_display())
    return render(request, "portal/staff_home.html", {"organizations": list(workplaces.values())})


@staff_page
def platform_home(request: SignedInRequest) -> HttpResponse:
    actor: Actor = request.actor
    if not actor.is_platform_admin:
        raise Http404
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


@require_POST
def session_keepalive(request: HttpRequest) -> HttpResponse:
    """Counts as activity (the idle middleware saw this request); the warning's 'Stay signed in'."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False}, status=401)
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return JsonResponse({"signed_in": True, "idle_timeout": settings.SESSION_IDLE_TIMEOUT})


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, also remembered on the signed-in person's account."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        get_user_model().objects.filter(pk=request.user.pk).update(language=language)
    return response


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico; the icon is an SVG among the static files."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


@never_cache
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
