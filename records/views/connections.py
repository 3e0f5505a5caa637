"""Connecting a health system (SMART standalone launch), and the connection's own page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import access_subject
from accounts.actors import Scope
from accounts.requests import SignedInRequest
from records import actions, smart
from records.models import Connection, ConnectionStatus, HealthSystem, RunStatus
from records.selectors import visible_to

PENDING_KEY = "records_pending_authorizations"
PAGE_SIZE = 25


@login_required
def directory(request: SignedInRequest) -> HttpResponse:
    patient = access_subject(request.actor, Scope.RECORDS)
    query = request.GET.get("q", "").strip()[:100]
    systems = HealthSystem.objects.exclude(client_id="")
    if query:
        systems = HealthSystem.objects.filter(Q(name__icontains=query) | Q(city__icontains=query))
    page = Paginator(systems.order_by("-is_sandbox", "name", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    connections = Connection.objects.filter(source__patient=patient).select_related("health_system")
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


@login_required
@require_POST
def connect(request: SignedInRequest, system_id: int) -> HttpResponse:
    patient = access_subject(request.actor, Scope.RECORDS)
    system = get_object_or_404(HealthSystem.objects.exclude(client_id=""), pk=system_id)
    redirect_uri = request.build_absolute_uri(reverse("records:callback"))
    try:
        url, state = smart.start(
            fhir_base_url=system.fhir_base_url, client_id=system.client_id, redirect_uri=redirect_uri
        )
    except smart.SmartError as error:
        messages.error(request, str(error))
        return redirect("records:directory")
    pending = request.session.get(PENDING_KEY, {})
    oauth_state = state["server"]["auth"]["auth_state"]
    pending[oauth_state] = {"client": state, "system": system.pk, "patient": str(patient.pk)}
    request.session[PENDING_KEY] = dict(list(pending.items())[-5:])  # a few tabs at once, no more
    # A page with a link rather than a redirect: the Content-Security-Policy's form-action keeps our forms
    # from landing on another site, and the person should know they are leaving for the health system's page.
    return render(request, "records/leaving.html", {"system": system, "authorize_url": url})


@login_required
def callback(request: SignedInRequest) -> HttpResponse:
    pending = request.session.get(PENDING_KEY, {})
    entry = pending.pop(request.GET.get("state", ""), None)
    request.session[PENDING_KEY] = pending
    if entry is None:
        messages.error(request, _("That sign-in was not started here, or was already used. Please connect again."))
        return redirect("records:directory")
    patient = access_subject(request.actor, Scope.RECORDS)
    if str(patient.pk) != entry["patient"]:
        # The person switched to someone else meanwhile: never attach records to the wrong record.
        raise Http404
    system = get_object_or_404(HealthSystem, pk=entry["system"])
    try:
        tokens = smart.finish(state=entry["client"], callback_url=request.build_absolute_uri())
    except smart.SmartError as error:
        messages.error(request, str(error))
        return redirect("records:directory")
    connection = actions.save_connection(
        actor=request.actor,
        patient=patient,
        system=system,
        tokens=tokens,
        token_endpoint=entry["client"]["server"]["auth"]["token_uri"],
        request=request,
    )
    messages.success(request, _("Connected. Your records are on their way."))
    return redirect("records:connection", connection_id=connection.pk)


def _connection(request: SignedInRequest, connection_id: int) -> Connection:
    patient = access_subject(request.actor, Scope.RECORDS)
    connection = (
        Connection.objects.select_related("health_system", "source")
        .filter(pk=connection_id, source__patient=patient)
        .first()
    )
    if connection is None:
        raise Http404
    return connection


@login_required
def connection_page(request: SignedInRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    runs = list(connection.source.runs.order_by("-started_at")[:5])
    running = next((run for run in runs if run.status == RunStatus.RUNNING), None)
    counts = visible_to(request.actor).filter(source=connection.source).count()
    template = "records/connection_progress.html" if request.htmx else "records/connection.html"
    return render(request, template, {"connection": connection, "runs": runs, "count": counts, "running": running})


@login_required
@require_POST
def sync_now(request: SignedInRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    if connection.status != ConnectionStatus.ACTIVE:
        messages.error(request, _("Sign in to the health system again first."))
    else:
        actions.request_sync(actor=request.actor, connection=connection, request=request)
        messages.success(request, _("Bringing the records up to date."))
    return redirect("records:connection", connection_id=connection.pk)


@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request: SignedInRequest, connection_id: int) -> HttpResponse:
    connection = _connection(request, connection_id)
    if request.method == "POST":
        keep = request.POST.get("records") != "delete"
        actions.disconnect(actor=request.actor, connection=connection, keep_records=keep, request=request)
        messages.success(
            request,
            _("Disconnected.")
            + " "
            + (_("The records already here were kept.") if keep else _("The records from this source were deleted.")),
        )
        return redirect("records:directory")
    return render(request, "records/disconnect.html", {"connection": connection})
