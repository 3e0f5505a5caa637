"""The record's files as HTTP answers, for the pages and the API alike: the record downloaded, a note's attachment.

Both the page views (records.views.downloads, records.views.notes) and the record's API (records.api) answer
with these, so a file leaves the portal with the same type, name and headers whichever way it was asked for.
The callers check who asks and record the download; these only build the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from records.exports import bundle_chunks, record_document, results_csv
from records.notes import attachment_download
from records.pdf import render_pdf

if TYPE_CHECKING:
    from datetime import date

    from django.http import HttpRequest

    from accounts.actors import Actor
    from accounts.models import Patient
    from records.models import FhirResource

# The download's formats (records.forms.DownloadForm's choices) with the type each is answered as.
DOWNLOAD_TYPES = {"fhir": "application/fhir+json", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}
ATTACHMENT_POLICY = "default-src 'none'; sandbox"

FileResponse = HttpResponse | StreamingHttpResponse


def _as_attachment(response: FileResponse, stem: str, extension: str) -> FileResponse:
    # The file's name says what it is and the day it was made: no name, no code, nothing of the record.
    name = f"{stem}-{timezone.localdate().isoformat()}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def record_download(
    request: HttpRequest,
    *,
    actor: Actor,
    subject: Patient,
    chosen: str,
    start: date | None,
    end: date | None,
) -> FileResponse:
    """The record (what `actor` may see of it) as a FHIR Bundle, the results as CSV, or a PDF summary."""
    if chosen == "fhir":
        bundle = StreamingHttpResponse(bundle_chunks(actor, start=start, end=end), content_type=DOWNLOAD_TYPES["fhir"])
        return _as_attachment(bundle, "health-record", "json")
    if chosen == "csv":
        rows = StreamingHttpResponse(results_csv(actor, start=start, end=end), content_type=DOWNLOAD_TYPES["csv"])
        return _as_attachment(rows, "test-results", "csv")
    html = render_to_string(
        "records/pdf/summary.html",
        {"document": record_document(actor, subject, start=start, end=end), "today": timezone.localdate()},
        request=request,
    )
    return _as_attachment(HttpResponse(render_pdf(html), content_type=DOWNLOAD_TYPES["pdf"]), "health-summary", "pdf")


def attachment_response(item: FhirResource, index: int) -> HttpResponse | None:
    """A note's inline attachment (the note checked by its access helper); None when there is nothing to serve.

    Served as what it claims only when that type is allow-listed and its first bytes agree
    (records.notes.served_type); always as an attachment with a neutral name, never cached, never sniffed, and
    under a sandboxing Content-Security-Policy in case a browser shows it anyway.
    """
    download = attachment_download(item, index)
    if download is None:
        return None  # not a note, not listed, kept only at the health system, or not base64: nothing to serve
    response = HttpResponse(download.content, content_type=download.content_type)
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = ATTACHMENT_POLICY
    return response
