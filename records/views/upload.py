"""Importing a FHIR file into the record of the person being acted for."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.access import access_subject
from accounts.actors import Scope
from accounts.requests import SignedInRequest
from records.actions import import_fhir_file
from records.forms import UploadForm
from records.ingest import FileRejectedError


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: SignedInRequest) -> HttpResponse:
    patient = access_subject(request.actor, Scope.RECORDS)
    form = UploadForm(request.POST or None, request.FILES or None)
    run = None
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            run = import_fhir_file(
                patient=patient,
                data=upload_file.read(),
                filename=upload_file.name or "",
                label=form.cleaned_data["label"],
                actor=request.actor,
                request=request,
            )
        except FileRejectedError as error:
            form.add_error("file", str(error))
    issues = list(run.issues.order_by("id")[:20]) if run is not None else []
    return render(request, "records/upload.html", {"form": form, "patient": patient, "run": run, "issues": issues})
