"""The record's API: /api/v1/patients/{patient_id}/… — the record pages' reads, as JSON.

The path names the patient (the caller, or someone they hold a live grant with the records scope for;
anyone else is a 404); every read goes through the same selectors as the pages, and is recorded in the
audit log with the pages' actions when anyone but the patient reads. A new read of the record is one view
here: subclass RecordAPIView, declare `audience = record_read(AuditAction..., <thing>_id=access_<thing>_by_id)`,
and add its path to records/api/urls.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language, get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import Scope
from accounts.audience import Audience, Kind, Loader
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from proxy.access import access_subject_by_id
from proxy.actions import NotAllowedError
from proxy.api.base import PATIENT_KWARG, PortalAPIView
from records.access import access_resource_by_id, access_result_by_id
from records.api import reads
from records.api.forms import checked_by
from records.api.serializers import (
    CareItemSerializer,
    ItemDetailSerializer,
    RecordItemSerializer,
    RecordSummarySerializer,
    ResultDetailSerializer,
    ResultLineSerializer,
    ResultsQuerySerializer,
    SourceSerializer,
    TimelineQuerySerializer,
)
from records.api.serializers_writes import DOWNLOAD_FORMAT_CHOICES
from records.files import DOWNLOAD_TYPES, attachment_response, record_download
from records.forms import DownloadForm
from records.notes import SERVED_TYPES
from records.plain_language import language_of
from records.preventive_care import preventive_care
from records.results import result_lines
from records.sections import SECTIONS, TimelineFilter, merge_copies, section_items, sources_of, timeline_rows
from records.summary import record_summary

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.http import HttpRequest
    from django.http.response import HttpResponseBase
    from rest_framework.renderers import BaseRenderer

    from records.models import FhirResource

TAGS = ["record"]
ACCEPT_LANGUAGE = OpenApiParameter(
    name="Accept-Language",
    location=OpenApiParameter.HEADER,
    required=False,
    enum=["en", "es"],
    description="The language of the words (kinds, flags, explanations, preventive care). Default: the account's.",
)
ACTING_FOR_IN_PATH = (
    "The path names the patient: the caller, or someone they hold a live grant with the records scope for "
    "(anyone else, an unknown or malformed id: 404). An Acting-For header, if sent, must name the same patient (400)."
)


def record_read(audit: AuditAction, *, audit_self: bool = False, **objects: Loader) -> Audience:
    """A read of the record the path names (records scope), recorded with `audit` when anyone but the patient reads
    (everyone, with `audit_self`)."""
    return Audience(
        Kind.SUBJECT,
        scope=Scope.RECORDS,
        audit=audit,
        audit_self=audit_self,
        objects={PATIENT_KWARG: access_subject_by_id, **objects},
    )


def record_write(**objects: Loader) -> Audience:
    """A change to the record the path names (records scope); its action records it in the audit log."""
    return Audience(Kind.SUBJECT, scope=Scope.RECORDS, objects={PATIENT_KWARG: access_subject_by_id, **objects})


def record_file(audit: AuditAction, **objects: Loader) -> Audience:
    """A file of the record the path names: recorded for everyone, the patient too (a copy leaves the portal)."""
    return record_read(audit, audit_self=True, **objects)


def refused(error: NotAllowedError) -> PermissionDenied:
    """An action's refusal of who asks: 403, nothing changed."""
    return PermissionDenied(str(error))


FIELD_ERRORS = OpenApiResponse(
    description="What to fix, by field name (non_field_errors: the body as a whole).",
    response=OpenApiTypes.OBJECT,
)
NOT_YOURS = OpenApiResponse(
    description="The caller may read this but not change it (only its author or the patient may); nothing changed."
)
CSRF_NOTE = " Writes from a browser session need the CSRF token (X-CSRFToken header); bearer-token calls do not."


def asked_language(request: HttpRequest) -> str | None:
    """The first language of the Accept-Language header the portal speaks (en, es), if the call sent one."""
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            continue
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return None


class RecordAPIView(PortalAPIView):
    """A read of one patient's record. The words follow Accept-Language, even for a signed-in browser session."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        language = asked_language(request)
        if language is None:
            response = super().dispatch(request, *args, **kwargs)
        else:
            with translation.override(language):
                response = super().dispatch(request, *args, **kwargs)
        response.headers["Content-Language"] = language or get_language() or "en"
        patch_vary_headers(response, ["Accept-Language"])
        return response

    @property
    def language(self) -> str:
        return language_of(get_language())

    @property
    def context(self) -> dict[str, Any]:
        """What serializers may need to know about the caller (`user`: "made by you", "entered by you")."""
        return {"user": self.actor.user}


def described(summary: str, *, write: bool = False, description: str = ACTING_FOR_IN_PATH, **more: Any) -> Any:
    """extend_schema for a call on the record: its tag, the path's rule and the language header."""
    parameters = [ACCEPT_LANGUAGE, *more.pop("parameters", [])]
    text = description + (CSRF_NOTE if write else "")
    return extend_schema(summary=summary, description=text, tags=TAGS, parameters=parameters, **more)


class FileNegotiation(DefaultContentNegotiation):
    """A file's type is the file's own: no Accept header or `format` parameter chooses it (`format` is the
    download's), and errors are answered as JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class SummaryView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_SUMMARY_VIEWED)

    @described(
        "The record's summary: new, current, latest measurements, upcoming, due", responses=RecordSummarySerializer
    )
    def get(self, request: Request, patient: Patient) -> Response:
        return Response(RecordSummarySerializer(record_summary(self.actor)).data)


class TimelineView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_TIMELINE_VIEWED)

    @described(
        "Everything that happened, newest first (paged; copies on one page are one item)",
        parameters=[TimelineQuerySerializer],
        responses=RecordItemSerializer(many=True),
    )
    def get(self, request: Request, patient: Patient) -> Response:
        actor = self.actor
        query = TimelineQuerySerializer(
            data=request.query_params, context={"source_ids": {source.pk for source in sources_of(actor)}}
        )
        query.is_valid(raise_exception=True)
        chosen = query.validated_data
        on = chosen.get("on")
        wanted = TimelineFilter(
            kind=chosen.get("kind", ""),
            source_id=chosen.get("source_id"),
            start=on or chosen.get("start"),
            end=on or chosen.get("end"),
        )
        return self.paginated(timeline_rows(actor, wanted), RecordItemSerializer, shape=merge_copies)


class ResultsView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_RESULTS_VIEWED)

    @described(
        "One line per test, its latest value (paged)",
        parameters=[ResultsQuerySerializer],
        responses=ResultLineSerializer(many=True),
    )
    def get(self, request: Request, patient: Patient) -> Response:
        query = ResultsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return self.paginated(result_lines(self.actor, query.validated_data["kind"]), ResultLineSerializer)


class ResultView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_RESULT_VIEWED, result_id=access_result_by_id)

    @described("A test result with its explanation and its trend across sources", responses=ResultDetailSerializer)
    def get(self, request: Request, patient: Patient, result: FhirResource) -> Response:
        return Response(ResultDetailSerializer(reads.result_detail(self.actor, result, self.language)).data)


SECTION_PARAMETER = OpenApiParameter(
    name="section", location=OpenApiParameter.PATH, type=OpenApiTypes.STR, enum=list(SECTIONS)
)


class SectionView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_SECTION_VIEWED)

    @described(
        "A part of the record, each item once with its sources (paged; current items first where that applies)",
        parameters=[SECTION_PARAMETER],
        responses=RecordItemSerializer(many=True),
    )
    def get(self, request: Request, patient: Patient, section: str) -> Response:
        chosen = SECTIONS.get(section)
        if chosen is None:
            raise NotFound
        return self.paginated(section_items(self.actor, chosen), RecordItemSerializer)


class ItemView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_ITEM_VIEWED, item_id=access_resource_by_id)

    @described("One item of the record, with its sources and the FHIR resource", responses=ItemDetailSerializer)
    def get(self, request: Request, patient: Patient, item: FhirResource) -> Response:
        return Response(ItemDetailSerializer(reads.item_detail(self.actor, item)).data)


class PreventiveCareView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_SECTION_VIEWED)

    @described("Preventive care for the person, due first (paged)", responses=CareItemSerializer(many=True))
    def get(self, request: Request, patient: Patient) -> Response:
        return self.paginated(preventive_care(self.actor), CareItemSerializer)


class SourcesView(RecordAPIView):
    audience = record_read(AuditAction.RECORDS_CONNECTIONS_LISTED)

    @described(
        "Where the records came from, with how many items of each the caller may read (paged)",
        responses=SourceSerializer(many=True),
    )
    def get(self, request: Request, patient: Patient) -> Response:
        return self.paginated(reads.source_lines(self.actor), SourceSerializer)


# Files --------------------------------------------------------------------------------------------------------

DOWNLOAD_PARAMETERS = [
    OpenApiParameter(
        name="format",
        enum=DOWNLOAD_FORMAT_CHOICES,
        required=True,
        description='"pdf": a summary to read or print; "csv": test results; "fhir": everything, as a FHIR Bundle.',
    ),
    OpenApiParameter(name="from", type=OpenApiTypes.DATE, description="From this day on (YYYY-MM-DD)."),
    OpenApiParameter(name="to", type=OpenApiTypes.DATE, description="Up to this day (YYYY-MM-DD)."),
]
FILE_HEADERS = "Content-Disposition: attachment with a name that says what and the day; Cache-Control: no-store."


class DownloadView(RecordAPIView):
    audience = record_file(AuditAction.RECORDS_DOWNLOADED)
    content_negotiation_class = FileNegotiation

    @described(
        "The record as a file: a PDF summary, the test results as CSV, or a FHIR Bundle (the download page's)",
        description=ACTING_FOR_IN_PATH
        + " Items without a date are only in the whole record (no dates). Every download is recorded in the "
        "access history, the patient's own too. " + FILE_HEADERS,
        parameters=DOWNLOAD_PARAMETERS,
        responses={
            **{
                (200, media.split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY, description=FILE_HEADERS)
                for media in DOWNLOAD_TYPES.values()
            },
            400: FIELD_ERRORS,
        },
    )
    def get(self, request: Request, patient: Patient) -> HttpResponseBase:
        chosen = checked_by(DownloadForm(request.query_params))
        return record_download(
            request._request,
            actor=self.actor,
            subject=patient,
            chosen=chosen["format"],
            start=chosen["from"],
            end=chosen["to"],
        )


ATTACHMENT_HEADERS = (
    "The declared type only for PDF, PNG, JPEG, GIF and TIFF whose first bytes agree, otherwise "
    "application/octet-stream; always Content-Disposition: attachment (document-<item>-<index>.<ext>), "
    "nosniff, no-store and a sandboxing Content-Security-Policy."
)


class AttachmentView(RecordAPIView):
    audience = record_file(AuditAction.RECORDS_ATTACHMENT_DOWNLOADED, item_id=access_resource_by_id)
    content_negotiation_class = FileNegotiation

    @described(
        "A note's attachment (inline data only; recorded in the access history, the patient's own download too)",
        responses={
            (200, media): OpenApiResponse(OpenApiTypes.BINARY, description=ATTACHMENT_HEADERS)
            for media in [*SERVED_TYPES, "application/octet-stream"]
        },
    )
    def get(self, request: Request, patient: Patient, item: FhirResource, index: int) -> HttpResponseBase:
        response = attachment_response(item, index)
        if response is None:
            raise NotFound  # not a note, not listed, kept only at the health system, or not base64
        return response
