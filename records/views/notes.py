"""A note's attachment, downloaded: only through this view (or the API's), only by those who may read the note.

The answer is records.files.attachment_response (its type, name and headers). Every download is audited, the
patient's own included.
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
from records.files import attachment_response

if TYPE_CHECKING:
    from records.models import FhirResource


@subject_page(
    Scope.RECORDS,
    audit=AuditAction.RECORDS_ATTACHMENT_DOWNLOADED,
    audit_self=True,
    objects={"item_id": access_resource_by_id},
)
@require_safe
def attachment(request: SignedInRequest, subject: Patient, item: FhirResource, index: int) -> HttpResponse:
    response = attachment_response(item, index)
    if response is None:
        raise Http404  # not a note, not listed, kept only at the health system, or not base64: nothing to serve
    return response
