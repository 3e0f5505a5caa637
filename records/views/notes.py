"""A note's attachment, downloaded: only through this view, only by those who may read the note.

The bytes are served as what they claim only when that type is allow-listed and their first bytes agree
(records.notes.served_type); always as an attachment with a neutral name, never cached, never sniffed, and
under a sandboxing Content-Security-Policy in case a browser shows it anyway. Every download is audited,
the patient's own included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_safe

from accounts.actors import Scope
from accounts.audience import subject_page
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.requests import SignedInRequest
from records.access import access_resource_by_id
from records.notes import attachment_download

if TYPE_CHECKING:
    from records.models import FhirResource

DOWNLOAD_POLICY = "default-src 'none'; sandbox"


@subject_page(
    Scope.RECORDS,
    audit=AuditAction.RECORDS_ATTACHMENT_DOWNLOADED,
    audit_self=True,
    objects={"item_id": access_resource_by_id},
)
@require_safe
def attachment(request: SignedInRequest, subject: Patient, item: FhirResource, index: int) -> HttpResponse:
    download = attachment_download(item, index)
    if download is None:
        raise Http404  # not a note, not listed, kept only at the health system, or not base64: nothing to serve
    response = HttpResponse(download.content, content_type=download.content_type)
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = DOWNLOAD_POLICY
    return response
