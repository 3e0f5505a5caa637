"""Visit notes and their attachments: what a DocumentReference says, made safe to show or to download.

A note's text comes from outside (a health system, or a file someone uploaded), so nothing of it reaches a
page unescaped: plain text is shown as text, HTML and the FHIR narrative (`text.div`) pass through an
allow-list sanitizer (nh3) that keeps a few structural tags and no attribute that could point anywhere or
run anything. Every other attachment (PDF, images, RTF, CDA XML, anything else) is only offered as a
download through an authorized view (`records.views.notes.attachment`), served as itself only when its
bytes are what it claims. Attachments that name only a `url` (a Binary kept at the health system) are
listed, not fetched.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import nh3
from django.db.models import Q
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from records.projections import document_attachments, document_encounter
from records.sections import record_rows

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from records.models import FhirResource

# How much of a note is shown on its page (decoded bytes); the whole of it stays downloadable.
TEXT_LIMIT = 200_000
# The FHIR narrative is capped the same way (characters).
NARRATIVE_LIMIT = 200_000

# The sanitizer's allow-list: structure and emphasis only. No links (a note's links lead to other sites or to
# the health system's own servers), no images, no forms, no style, no class or id, no event handlers.
NOTE_TAGS = frozenset(
    {
        *("p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "div", "span", "pre", "blockquote"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"),
        *("h1", "h2", "h3", "h4", "h5", "h6"),
    }
)
# Removed with everything inside them (the rest lose their tags and keep their text).
NOTE_DROPPED_WITH_CONTENT = frozenset(
    {
        *("script", "style", "template", "noscript", "title", "head", "textarea", "select", "option"),
        *("iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "xmp", "noembed", "noframes"),
    }
)
NOTE_ATTRIBUTES = {"td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
MAX_SPAN = 50
_HEADING = re.compile(r"<(/?)h([1-6])>")

# Downloads served as what they claim, when their first bytes agree; anything else is application/octet-stream.
SERVED_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
# The download's file name ends in the extension of its declared type (a neutral name: no health data).
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/tiff": "tif",
    "text/plain": "txt",
    "text/html": "html",
    "text/rtf": "rtf",
    "application/rtf": "rtf",
    "text/xml": "xml",
    "application/xml": "xml",
    "application/hl7-v3+xml": "xml",
    "application/cda+xml": "xml",
}
RENDERED_TYPES = frozenset({"text/plain", "text/html"})


def _type_label(content_type: str) -> Promise:
    if content_type == "application/pdf":
        return _("PDF document")
    if content_type.startswith("image/"):
        return _("Picture")
    if content_type == "text/plain":
        return _("Text")
    if content_type == "text/html":
        return _("Formatted text")
    if content_type in {"text/rtf", "application/rtf"}:
        return _("Word-processor document (RTF)")
    if content_type.endswith("xml"):
        return _("Clinical document (XML)")
    return _("File")


# Sanitizing --------------------------------------------------------------------------------------------


def _span(tag: str, attribute: str, value: str) -> str | None:
    """colspan and rowspan only as small whole numbers."""
    return value if value.isdigit() and 1 <= int(value) <= MAX_SPAN else None


def _demote(match: re.Match[str]) -> str:
    """A note's headings sit under the page's own: h1 and h2 become h3, the rest h4."""
    return f"<{match[1]}h{'3' if match[2] in '12' else '4'}>"


def sanitize_note_html(html: str) -> SafeString:
    """A note's HTML with only the allow-listed tags (and colspan/rowspan), safe to put on a page."""
    cleaned = nh3.clean(
        html,
        tags=set(NOTE_TAGS),
        clean_content_tags=set(NOTE_DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in NOTE_ATTRIBUTES.items()},
        attribute_filter=_span,
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    )
    # The sanitizer writes tags without attributes exactly as `<h1>`; text never holds a raw `<`.
    return mark_safe(_HEADING.sub(_demote, cleaned))  # noqa: S308 - the output of the allow-list sanitizer


# Decoding ----------------------------------------------------------------------------------------------


def decode_base64(data: str, limit: int | None = None) -> tuple[bytes, bool] | None:
    """An attachment's `data` as bytes (at most `limit`, and whether it was cut), or None if it is not base64."""
    cut = False
    if limit is not None:
        wanted = (limit // 3 + 1) * 4  # enough characters for `limit` bytes and one more
        window = data[: wanted * 2]  # room for line breaks inside the base64
        compact = "".join(window.split())
        if len(compact) > wanted or len(window) < len(data):
            cut = True
            compact = compact[: len(compact[:wanted]) // 4 * 4]
    else:
        compact = "".join(data.split())
    compact += "=" * (-len(compact) % 4)
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if limit is not None and len(decoded) > limit:
        decoded, cut = decoded[:limit], True
    return decoded, cut


def served_type(declared: str, data: bytes) -> str:
    """The Content-Type a download is served with: the declared one only if allowed and its bytes agree."""
    magic = SERVED_TYPES.get(declared)
    if magic and data.startswith(magic):
        return declared
    return "application/octet-stream"


def download_name(row: FhirResource, index: int, declared: str, served: str) -> str:
    """A neutral file name: the item's row id and the attachment's place, never its title."""
    verified = served != "application/octet-stream"
    extension = EXTENSIONS.get(declared, "bin") if verified or declared not in SERVED_TYPES else "bin"
    return f"document-{row.pk}-{index}.{extension}"


@dataclass(frozen=True)
class Download:
    content: bytes
    content_type: str
    filename: str


def attachment_download(row: FhirResource, index: int) -> Download | None:
    """An inline attachment of a note, ready to serve; None if the row lists no such attachment with data."""
    if row.resource_type != "DocumentReference":
        return None
    described = next((a for a in attachments_of(row) if a["index"] == index), None)
    attachment = raw_attachment(row, index)
    data = attachment.get("data") if attachment else None
    decoded = decode_base64(data) if isinstance(data, str) else None
    if described is None or decoded is None:
        return None
    declared = str(described.get("type") or "")
    served = served_type(declared, decoded[0])
    return Download(decoded[0], served, download_name(row, index, declared, served))


# What a note's page shows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotePart:
    """One attachment of a note: shown (text or sanitized HTML), downloadable, kept elsewhere, or unreadable."""

    index: int
    content_type: str
    title: str
    kind: str  # "text" | "html" | "download" | "elsewhere" | "unreadable"
    text: str = ""
    html: SafeString | str = ""
    cut: bool = False

    @property
    def type_label(self) -> Promise:
        return _type_label(self.content_type)

    @property
    def shown(self) -> bool:
        return self.kind in {"text", "html"}


@dataclass(frozen=True)
class NoteContent:
    narrative: SafeString | str = ""
    parts: list[NotePart] = field(default_factory=list)

    @property
    def shown(self) -> list[NotePart]:
        return [part for part in self.parts if part.shown]

    @property
    def files(self) -> list[NotePart]:
        """Every attachment the page lists as a file: those not shown, and shown ones cut short (the whole)."""
        return [part for part in self.parts if not part.shown or part.cut]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def attachments_of(row: FhirResource) -> list[dict[str, Any]]:
    """The row's attachments as projected (rows projected before attachments were kept: from the raw JSON)."""
    projected = (row.details or {}).get("attachments")
    if isinstance(projected, list):
        return [a for a in projected if isinstance(a, dict) and isinstance(a.get("index"), int)]
    return document_attachments(_dict(row.raw))


def raw_attachment(row: FhirResource, index: int) -> dict[str, Any] | None:
    """The raw attachment at `index`, only if the row's attachments list it; else None."""
    if not any(a["index"] == index for a in attachments_of(row)):
        return None
    contents = _dict(row.raw).get("content")
    if not isinstance(contents, list) or not 0 <= index < len(contents):
        return None
    attachment = _dict(_dict(contents[index]).get("attachment"))
    return attachment or None


def _part(row: FhirResource, described: dict[str, Any]) -> NotePart:
    index = described["index"]
    content_type = str(described.get("type") or "")
    title = str(described.get("title") or "")
    attachment = raw_attachment(row, index) or {}
    data = attachment.get("data")
    if not isinstance(data, str):
        kind = "elsewhere" if isinstance(attachment.get("url"), str) and attachment["url"] else "unreadable"
        return NotePart(index, content_type, title, kind)
    if content_type not in RENDERED_TYPES:
        return NotePart(index, content_type, title, "download")
    decoded = decode_base64(data, TEXT_LIMIT)
    if decoded is None:
        return NotePart(index, content_type, title, "unreadable")
    text = decoded[0].decode("utf-8", errors="replace")
    if content_type == "text/plain":
        return NotePart(index, content_type, title, "text", text=text, cut=decoded[1])
    return NotePart(index, content_type, title, "html", html=sanitize_note_html(text), cut=decoded[1])


def note_content(row: FhirResource) -> NoteContent:
    """What a DocumentReference's page shows of it: its narrative and each attachment, made safe."""
    div = _dict(_dict(row.raw).get("text")).get("div")
    narrative = sanitize_note_html(div[:NARRATIVE_LIMIT]) if isinstance(div, str) and div.strip() else ""
    return NoteContent(narrative=narrative, parts=[_part(row, described) for described in attachments_of(row)])


# A visit's notes ---------------------------------------------------------------------------------------

# The PROJECTION_VERSION from which a document's projection carries `details["encounter"]`; documents
# projected before it are matched on their raw `context` until `manage.py reproject` has run.
ENCOUNTER_PROJECTED_SINCE = 3
# At most this many older documents of one source are read for their context (their `context` only).
OLDER_DOCUMENTS_CAP = 2000
VISIT_NOTES_CAP = 200


def notes_of_visit(actor: Actor, visit: FhirResource) -> list[FhirResource]:
    """The notes (DocumentReference) of the same source whose `context.encounter` names this visit."""
    documents = record_rows(actor).filter(source_id=visit.source_id, resource_type="DocumentReference")
    older = {
        pk
        for pk, context in documents.filter(projection_version__lt=ENCOUNTER_PROJECTED_SINCE)
        .exclude(details__has_key="encounter")
        .order_by("pk")
        .values_list("pk", "raw__context")[:OLDER_DOCUMENTS_CAP]
        if document_encounter({"context": context}) == visit.resource_id
    }
    rows = documents.filter(Q(details__encounter=visit.resource_id) | Q(pk__in=older))
    return list(rows.order_by("-effective_at", "-pk")[:VISIT_NOTES_CAP])


def visit_of_note(actor: Actor, note: FhirResource) -> FhirResource | None:
    """The visit a note belongs to, when the record holds it (from the same source)."""
    encounter = str((note.details or {}).get("encounter") or "") or document_encounter(_dict(note.raw))
    if not encounter:
        return None
    return (
        record_rows(actor)
        .filter(source_id=note.source_id, resource_type="Encounter", resource_id=encounter)
        .order_by("pk")
        .first()
    )
