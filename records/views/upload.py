"""Adding a FHIR file to the record of the person being acted for, and following its import."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.requests import SignedInRequest
from records import actions
from records.access import access_import_run_by_id, import_runs_visible_to
from records.forms import UploadForm
from records.models import ImportRun, RunKind

RECENT_RUNS = 5
ISSUES_SHOWN = 20


@subject_page(Scope.RECORDS)
@require_http_methods(["GET", "POST"])
def upload(request: SignedInRequest, subject: Patient) -> HttpResponse:
    """The form; a valid file is kept for the worker and the person goes to its run's page (POST, redirect, GET)."""
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, patient=subject)
        if form.is_valid():
            run = actions.queue_fhir_upload(
                actor=request.actor,
                patient=subject,
                data=form.file_data,
                filename=form.cleaned_data["file"].name or "",
                label=form.cleaned_data["label"],
                idempotency_key=form.cleaned_data["key"],
            )
            return redirect("records:upload_run", run_id=run.pk)
    else:
        form = UploadForm(patient=subject)
    recent = (
        import_runs_visible_to(request.actor)
        .filter(kind=RunKind.UPLOAD)
        .select_related("source")
        .order_by("-started_at", "-pk")[:RECENT_RUNS]
    )
    return render(request, "records/upload.html", {"form": form, "patient": subject, "recent": list(recent)})


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_IMPORT_VIEWED, objects={"run_id": access_import_run_by_id})
@require_safe
def upload_run(request: SignedInRequest, subject: Patient, run: ImportRun) -> HttpResponse:
    """Where an uploaded file's import stands: waiting, under way (htmx asks again), or its counts and issues."""
    if run.kind != RunKind.UPLOAD:
        raise Http404
    issues = list(run.issues.order_by("pk")[:ISSUES_SHOWN]) if run.is_finished else []
    template = "records/upload_run_status.html" if request.htmx else "records/upload_run.html"
    return render(request, template, {"patient": subject, "run": run, "issues": issues})
