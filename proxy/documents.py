"""Uploaded documents: checked by content, size-limited, stored outside the web root under random names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

# What a file must start with to be what it claims (its name and browser type are not trusted).
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)


class DocumentRejectedError(ValueError):
    pass


@dataclass(frozen=True)
class CheckedDocument:
    upload: UploadedFile
    content_type: str
    extension: str


def check_document(upload: UploadedFile) -> CheckedDocument:
    limit = settings.PROXY_DOCUMENT_MAX_BYTES
    name = upload.name or _("the file")
    if upload.size is None or upload.size > limit:
        raise DocumentRejectedError(
            _("%(name)s is larger than %(megabytes)s MB.") % {"name": name, "megabytes": limit // (1024 * 1024)}
        )
    if upload.size == 0:
        raise DocumentRejectedError(_("%(name)s is empty.") % {"name": name})
    head = upload.read(16)
    upload.seek(0)
    for signature, content_type, extension in SIGNATURES:
        if head.startswith(signature):
            return CheckedDocument(upload=upload, content_type=content_type, extension=extension)
    raise DocumentRejectedError(
        _("%(name)s is not a PDF, PNG or JPEG file. Please upload a scan or photo of the document.") % {"name": name}
    )


def storage_name(checked: CheckedDocument) -> str:
    """A random name: the original file name (which may describe health matters) never reaches the disk."""
    return f"{uuid.uuid4().hex}.{checked.extension}"
