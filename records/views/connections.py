"""Connecting a health system (SMART standalone launch), and the connection's own page."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.requests import SignedInRequest
from records import actions, smart
from records.access import access_connection_by_id, access_health_system_by_id, connections_visible_to
from records.models import Connection, ConnectionStatus, HealthSystem
from records.selectors import connection_health

PENDING_KEY = "records_pending_authorizations"
PAGE_SIZE = 25


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_CONNECTIONS_LISTED)
@require_safe
def directory(request: SignedInRequest, subject: Patient) -> HttpResponse:
    patient = subject
    query = request.GET.get("q", "").strip()[:100]
    systems = HealthSystem.objects.exclude(client_id="")
    if query:
        systems = HealthSystem.objects.filter(Q(name__icontains=query) | Q(city__icontains=query))
    page = Paginator(systems.order_by("-is_sandbox", "name", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    connections = connections_visible_to(request.actor)
    return render(
        request,
        "records/directory.html",
        {
            "patient": patient,
            "page": page,
            "q": query,
            "query": f"q={query}" if query else "",
            "connections": connections,
        },
    )


@subject_page(Scope.RECORDS, objects={"system_id": access_health_system_by_id})
@require_POST
def connect(request: SignedInRequest, subject: Patient, system: HealthSystem) -> HttpResponse:
    patient = subject
    redirect_uri = request.build_absolute_uri(reverse("records:callback"))
    try:
        url, sign_in = smart.start(system=system, redirect_uri=redirect_uri)
    except smart.SmartError as error:
        messages.error(request, str(error))
        return redirect("records:directory")
    pending = request.session.get(PENDING_KEY, {})
    pending[sign_in["state"]] = {"smart": sign_in, "system": system.pk, "patient": str(patient.pk)}
    request.session[PENDING_KEY] = dict(list(pending.items())[-5:])  # a few tabs at once, no more
    # A page with a link rather than a redirect: the Content-Security-Policy's form-action keeps our forms
    # from landing on another site, and the person should know they are leaving for the health system's page.
    return render(request, "records/leaving.html", {"system": system, "authorize_url": url})


@subject_page(Scope.RECORDS)
@require_safe
def callback(request: SignedInRequest, subject: Patient) -> HttpResponse:
    pending = request.session.get(PENDING_KEY, {})
    entry = pending.pop(request.GET.get("state", ""), None)
    request.session[PENDING_KEY] = pending
    if entry is None or "smart" not in entry:
        messages.error(request, _("That sign-in was not started here, or was already used. Please connect again."))
        return redirect("records:directory")
    patient = subject
    if str(patient.pk) != entry["patient"]:
        # The person switched to someone else meanwhile: never attach records to the wrong record.
        raise Http404
    # The system this sign-in started with (kept in the session, not taken from the request).
    system = access_health_system_by_id(request.actor, entry["system"])
    sign_in = entry["smart"]
    try:
        tokens = smart.finish(system=system, pending=sign_in, callback_url=request.build_absolute_uri())
    except smart.SmartError as error:
        messages.error(request, str(error))
        return redirect("records:directory")
    try:
        connection = actions.save_connection(
            actor=request.actor,
            patient=patient,
            system=system,
            tokens=tokens,
            token_endpoint=sign_in["token_endpoint"],
            revocation_endpoint=sign_in["revocation_endpoint"],
            request=request,
        )
    except actions.DifferentPersonError as refused:
        # Someone else's record never mixes into this one: the connection stays as it was.
        messages.error(request, str(refused))
        return redirect("records:connection", connection_id=refused.connection.pk)
    messages.success(request, _("Connected. Your records are on their way."))
    return redirect("records:connection", connection_id=connection.pk)


@subject_page(
    Scope.RECORDS, audit=AuditAction.RECORDS_CONNECTION_VIEWED, objects={"connection_id": access_connection_by_id}
)
@require_safe
def connection_page(request: SignedInRequest, subject: Patient, connection: Connection) -> HttpResponse:
    health = connection_health(request.actor, connection)
    template = "records/connection_progress.html" if request.htmx else "records/connection.html"
    return render(
        request,
        template,
        {
            "connection": connection,
            "health": health,
            "runs": health.runs,
            "count": health.records,
            "running": health.running,
        },
    )


@subject_page(Scope.RECORDS, objects={"connection_id": access_connection_by_id})
@require_POST
def sync_now(request: SignedInRequest, subject: Patient, connection: Connection) -> HttpResponse:
    if connection.status != ConnectionStatus.ACTIVE:
        messages.error(request, _("Sign in to the health system again first."))
    else:
        actions.request_sync(actor=request.actor, connection=connection, request=request)
        messages.success(request, _("Bringing the records up to date."))
    return redirect("records:connection", connection_id=connection.pk)


@subject_page(Scope.RECORDS, objects={"connection_id": access_connection_by_id})
@require_http_methods(["GET", "POST"])
def disconnect(request: SignedInRequest, subject: Patient, connection: Connection) -> HttpResponse:
    if request.method == "POST":
        keep = request.POST.get("records") != "delete"
        revocation = actions.disconnect(actor=request.actor, connection=connection, keep_records=keep, request=request)
        messages.success(
            request,
            _("Disconnected.")
            + " "
            + (_("The records already here were kept.") if keep else _("The records from this source were deleted.")),
        )
        name = connection.health_system.name
        if revocation == actions.Revocation.REVOKED:
            messages.success(request, _("%(system)s has ended this portal's access.") % {"system": name})
        elif revocation == actions.Revocation.FAILED:
            messages.warning(
                request,
                _(
                    "We could not get %(system)s to end this portal's access. The portal no longer keeps the "
                    "sign-in; you can also end the access in %(system)s's own patient portal."
                )
                % {"system": name},
            )
        elif revocation == actions.Revocation.NOT_OFFERED:
            messages.info(
                request,
                _(
                    "%(system)s offers apps no way to end their access themselves. The portal no longer keeps the "
                    "sign-in; you can end the access in %(system)s's own patient portal."
                )
                % {"system": name},
            )
        return redirect("records:directory")
    return render(request, "records/disconnect.html", {"connection": connection})
