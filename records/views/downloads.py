"""Downloading the record: a page to choose the format and period, and the download itself.

The download is a GET whose query string holds only the dates and the format (never a name, a code or a
value). It is recorded in the access history for everyone, the person included: a copy of the record
leaving the portal is worth a line there. Only what `visible_to` gives is downloaded (records.exports).
"""

from __future__ import annotations

from datetime import date

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.requests import SignedInRequest
from records.exports import bundle_chunks, record_document, results_csv
from records.forms import DownloadForm
from records.pdf import render_pdf
from records.sections import SECTIONS


def _form_page(request: SignedInRequest, subject: Patient, form: DownloadForm, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "records/download.html",
        {"patient": subject, "form": form, "record_sections": SECTIONS.values()},
        status=status,
    )


def _attachment(
    response: HttpResponse | StreamingHttpResponse, stem: str, extension: str
) -> HttpResponse | StreamingHttpResponse:
    # The file's name says what it is and the day it was made: no name, no code, nothing of the record.
    name = f"{stem}-{timezone.localdate().isoformat()}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


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
    start: date | None = form.cleaned_data["from"]
    end: date | None = form.cleaned_data["to"]
    actor = request.actor
    chosen = form.cleaned_data["format"]
    if chosen == "fhir":
        bundle = StreamingHttpResponse(bundle_chunks(actor, start=start, end=end), content_type="application/fhir+json")
        return _attachment(bundle, "health-record", "json")
    if chosen == "csv":
        rows = StreamingHttpResponse(results_csv(actor, start=start, end=end), content_type="text/csv; charset=utf-8")
        return _attachment(rows, "test-results", "csv")
    html = render_to_string(
        "records/pdf/summary.html",
        {"document": record_document(actor, subject, start=start, end=end), "today": timezone.localdate()},
        request=request,
    )
    return _attachment(HttpResponse(render_pdf(html), content_type="application/pdf"), "health-summary", "pdf")
