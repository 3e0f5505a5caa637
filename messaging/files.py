"""Files sent with messages: at most five, PDF, JPEG or PNG by their content (never by name), 10 MB each.

Stored under random names outside the web root; served only through an authorized view, as a download.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.utils.translation import gettext as _

from messaging.models import Attachment
from proxy.documents import SIGNATURES

# Active content a PDF reader may run: refused, a patient's scan or letter has none.
PDF_ACTIVE_CONTENT = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/OpenAction")
NAME_LIMIT = 120
ATTACHMENT_POLICY = "default-src 'none'; sandbox"


class AttachmentRejectedError(ValueError):
    pass


@dataclass(frozen=True)
class CheckedFile:
    upload: UploadedFile
    content_type: str
    extension: str
    name: str  # shown to the care team, cleaned of path parts and control characters


def clean_name(raw: str | None, extension: str) -> str:
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:NAME_LIMIT]
    return name or f"file.{extension}"


def check_attachments(uploads: list[UploadedFile]) -> list[CheckedFile]:
    """Every file checked, or AttachmentRejectedError naming the first that is refused (and why)."""
    if len(uploads) > settings.MESSAGE_ATTACHMENTS_MAX:
        raise AttachmentRejectedError(
            _("Attach at most %(count)s files to one message.") % {"count": settings.MESSAGE_ATTACHMENTS_MAX}
        )
    return [check_attachment(upload) for upload in uploads]


def check_attachment(upload: UploadedFile) -> CheckedFile:
    limit = settings.MESSAGE_ATTACHMENT_MAX_BYTES
    shown = clean_name(upload.name, "file")
    if upload.size is None or upload.size > limit:
        raise AttachmentRejectedError(
            _("%(name)s is larger than %(megabytes)s MB. Send a smaller file, or a photo of fewer pages.")
            % {"name": shown, "megabytes": limit // (1024 * 1024)}
        )
    if upload.size == 0:
        raise AttachmentRejectedError(_("%(name)s is empty.") % {"name": shown})
    head = upload.read(16)
    upload.seek(0)
    for signature, content_type, extension in SIGNATURES:
        if head.startswith(signature):
            if content_type == "application/pdf" and _has_active_content(upload):
                raise AttachmentRejectedError(
                    _("%(name)s is a PDF with active content (scripts or embedded files), which we cannot accept.")
                    % {"name": shown}
                )
            return CheckedFile(
                upload=upload, content_type=content_type, extension=extension, name=clean_name(upload.name, extension)
            )
    raise AttachmentRejectedError(
        _("%(name)s is not a PDF, JPEG or PNG file. Only those can be sent with a message.") % {"name": shown}
    )


def _has_active_content(upload: UploadedFile) -> bool:
    found = False
    tail = b""
    for chunk in upload.chunks(1024 * 1024):
        window = tail + chunk
        if any(marker in window for marker in PDF_ACTIVE_CONTENT):
            found = True
            break
        tail = window[-32:]
    upload.seek(0)
    return found


def attachment_download(attachment: Attachment) -> FileResponse:
    """The file as a download under a neutral name, never sniffed or cached, sandboxed if shown anyway."""
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(attachment.content_type, "bin")
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=True,
        filename=f"attachment-{attachment.pk}.{extension}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = ATTACHMENT_POLICY
    return response
