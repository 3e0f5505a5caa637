"""Downloading the record: a page to choose the format and period, and the download itself.

The download is a GET whose query string holds only the dates and the format (never a name, a code or a
value). It is recorded in the access history for everyone, the person included: a copy of the record
leaving the portal is worth a line there. Only what `visible_to` gives is downloaded (records.exports).
"""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.requests import SignedInRequest
from records.files import record_download
from records.forms import DownloadForm


def _form_page(request: SignedInRequest, subject: Patient, form: DownloadForm, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "records/download.html",
        {"patient": subject, "form": form},
        status=status,
    )


@subject_page(Scope.RECORDS)
@require_safe
def download_page(request: SignedInRequest, subject: Patient) -> HttpResponse:
    return _form_page(request, subject, DownloadForm())


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_DOWNLOADED, audit_self=True)
@require_safe
def download(request: SignedInRequest, subject: Patient) -> HttpResponse | StreamingHttpResponse:
    form = DownloadForm(request.GET)
    if not form.is_valid():
        # Shown again with what to fix; not a success, so nothing is recorded as downloaded.
        return _form_page(request, subject, form, status=400)
    return record_download(
        request,
        actor=request.actor,
        subject=subject,
        chosen=form.cleaned_data["format"],
        start=form.cleaned_data["from"],
        end=form.cleaned_data["to"],
    )
