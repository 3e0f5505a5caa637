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
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import Scope
from accounts.audience import Audience, Kind, Loader
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from proxy.access import access_subject_by_id
from proxy.api.base import PATIENT_KWARG, PortalAPIView
from records.access import access_resource_by_id, access_result_by_id
from records.api import reads
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
from records.plain_language import language_of
from records.preventive_care import preventive_care
from records.results import result_lines
from records.sections import SECTIONS, TimelineFilter, merge_copies, section_items, sources_of, timeline_rows
from records.summary import record_summary

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

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


def record_read(audit: AuditAction, **objects: Loader) -> Audience:
    """A read of the record the path names (records scope), recorded with `audit` when anyone but the patient reads."""
    return Audience(
        Kind.SUBJECT, scope=Scope.RECORDS, audit=audit, objects={PATIENT_KWARG: access_subject_by_id, **objects}
    )


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


def described(summary: str, **more: Any) -> Any:
    """extend_schema for a record read: its tag, the path's rule and the language header."""
    parameters = [ACCEPT_LANGUAGE, *more.pop("parameters", [])]
    return extend_schema(summary=summary, description=ACTING_FOR_IN_PATH, tags=TAGS, parameters=parameters, **more)


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
