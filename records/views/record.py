"""The record's pages: summary, timeline, test results, and each section (medicines, vaccines, visits…).

Every page is a subject page with the records scope: the person, or a caregiver
whose grant includes records. What they may see comes from `visible_to`
(sensitive items stay hidden where the access layer says so); reads by anyone
but the person are audited by the declaration.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_safe

from accounts.access import parse_int_id
from accounts.actors import Scope
from accounts.audience import public_page, subject_page
from accounts.audit_labels import AuditAction
from accounts.models import Patient
from accounts.requests import SignedInRequest
from records import results as result_reads
from records.access import access_resource_by_id, access_result_by_id
from records.charts import ChartText, trend_svg
from records.notes import note_content, notes_of_visit, visit_of_note
from records.patient_data import NO_HOME, home_on_result, table_rows_of_page
from records.plain_language import explain_flag, explain_test, flag_for, language_of
from records.plain_language import glossary as plain_glossary
from records.privacy import private_item
from records.projections import LOINC
from records.sections import (
    SECTIONS,
    TIMELINE_KINDS,
    RecordItem,
    TimelineFilter,
    merge_copies,
    open_page,
    section_items,
    sources_of,
    timeline_rows,
)
from records.summary import record_summary
from records.templatetags.record_values import day_text
from records.units import display_unit

if TYPE_CHECKING:
    from accounts.actors import Actor
    from records.models import FhirResource

TIMELINE_PAGE_SIZE = 50
SECTION_PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 50


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_SUMMARY_VIEWED)
@require_safe
def summary(request: SignedInRequest, subject: Patient) -> HttpResponse:
    return render(request, "records/summary.html", {"patient": subject, "summary": record_summary(request.actor)})


def _number(value: str) -> int | None:
    """A filter's id from the query string; anything else is no filter (a filter is not a thing to 404 on)."""
    try:
        return parse_int_id(value) if value else None
    except Http404:
        return None


def _day(value: str) -> date | None:
    try:
        return parse_date(value.strip()[:10]) if value else None
    except ValueError:
        return None


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_TIMELINE_VIEWED)
@require_safe
def timeline(request: SignedInRequest, subject: Patient) -> HttpResponse:
    actor = request.actor
    sources = sources_of(actor)
    source_id = _number(request.GET.get("source", ""))
    kind = request.GET.get("kind", "")
    start, end = _day(request.GET.get("from", "")), _day(request.GET.get("to", ""))
    on = _day(request.GET.get("on", ""))
    if on is not None:
        start = end = on
    swapped = bool(start and end and start > end)
    if swapped:
        start, end = end, start
    chosen = TimelineFilter(
        kind=kind if kind in TIMELINE_KINDS else "",
        source_id=source_id if any(source.pk == source_id for source in sources) else None,
        start=start,
        end=end,
    )
    page = open_page(timeline_rows(actor, chosen), request.GET.get("page"), TIMELINE_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "records/timeline.html",
        {
            "patient": subject,
            "page": page,
            "items": merge_copies(page.object_list),
            "chosen": chosen,
            "kinds": TIMELINE_KINDS,
            "sources": sources,
            "query": query.urlencode(),
            "dates_swapped": swapped,
        },
    )


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_RESULTS_VIEWED)
@require_safe
def results(request: SignedInRequest, subject: Patient) -> HttpResponse:
    showing = "vital" if request.GET.get("show") == "measurements" else "lab"
    return render(
        request,
        "records/results.html",
        {"patient": subject, "lines": result_reads.result_lines(request.actor, showing), "showing": showing},
    )


def _may_ask_about(actor: Actor, result: FhirResource) -> bool:
    """Whether to offer "Ask about this result": the result came from a health system linked to an organization on
    the portal, and the actor may write messages for the person (the message page checks the rest)."""
    system = result.source.health_system
    return Scope.MESSAGING in actor.scopes and system is not None and system.organization_id is not None


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_RESULT_VIEWED, objects={"result_id": access_result_by_id})
@require_safe
def result(request: SignedInRequest, subject: Patient, result: FhirResource) -> HttpResponse:
    context = result_reads.result_context(request.actor, result)
    language = language_of(get_language())
    loinc = result.code if result.code_system == LOINC else ""
    trend = result_reads.trend_of(context.history, loinc)
    # The person's own readings of the same test: drawn apart (hollow squares, a dashed line), never merged.
    home = home_on_result(request.actor, loinc, trend.unit) if loinc else NO_HOME
    history = result_reads.history_page(
        request.actor, result, request.GET.get("page"), HISTORY_PAGE_SIZE, newest_rows=context.newest_rows
    )
    title = result.display or gettext("Test result")
    points = [*trend.points, *home.points]
    chart = (
        trend_svg(
            points,
            unit=display_unit(trend.unit),
            low=trend.low,
            high=trend.high,
            text=ChartText(
                title=gettext("%(test)s over time") % {"test": title},
                description=gettext(
                    "Each value of this test, from every source. The table below lists the same values."
                ),
                band=gettext("Usual range"),
                patient_entered=gettext("Entered by you") if home.all_mine else gettext("Entered at home"),
            ),
            date_format=lambda moment: day_text(moment.date(), "SHORT_DATE_FORMAT"),
        )
        if len(points) > 1
        else ""
    )
    flag = flag_for(
        interpretation=str((result.details or {}).get("interpretation", "")),
        value=result.value_number,
        low=result.ref_low,
        high=result.ref_high,
        abnormal=result.abnormal,
    )
    return render(
        request,
        "records/result.html",
        {
            "patient": subject,
            "result": context,
            "row": result,
            "revised": result_reads.is_revised(result),
            "chart": chart,
            "trend": trend,
            "home": home,
            # The table under the chart: every value of the test, a page at a time, with the home readings
            # that fall among them.
            "history": history,
            "value_rows": table_rows_of_page(history, home.rows),
            "explanation": explain_test(loinc, language) if loinc else None,
            "flag": explain_flag(flag, language) if flag else None,
            "report_results": result_reads.report_results(request.actor, context.report) if context.report else [],
            "ask_about": _may_ask_about(request.actor, result),
        },
    )


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_SECTION_VIEWED)
@require_safe
def section(request: SignedInRequest, subject: Patient, section: str) -> HttpResponse:
    chosen = SECTIONS.get(section)
    if chosen is None:
        raise Http404
    items = section_items(request.actor, chosen)
    page = Paginator(items, SECTION_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "records/section.html",
        {"patient": subject, "section": chosen, "page": page},
    )


@subject_page(Scope.RECORDS, audit=AuditAction.RECORDS_ITEM_VIEWED, objects={"item_id": access_resource_by_id})
@require_safe
def item(request: SignedInRequest, subject: Patient, item: FhirResource) -> HttpResponse:
    report_results = (
        result_reads.report_results(request.actor, item) if item.resource_type == "DiagnosticReport" else []
    )
    return render(
        request,
        "records/item.html",
        {
            "patient": subject,
            "row": item,
            "record_item": RecordItem(row=item, sources=[item.source.label]),
            "report_results": report_results,
            "private_item": private_item(request.actor, item),
            # Visit notes and attachments (templates/records/parts/note_content.html)
            "note": note_content(item) if item.resource_type == "DocumentReference" else None,
            "note_visit": visit_of_note(request.actor, item) if item.resource_type == "DocumentReference" else None,
            "visit_notes": notes_of_visit(request.actor, item) if item.resource_type == "Encounter" else [],
        },
    )


@public_page
@require_safe
def glossary(request: HttpRequest) -> HttpResponse:
    """Words people meet in their record, in their language (general content: no one's data)."""
    return render(request, "records/glossary.html", {"terms": plain_glossary(language_of(get_language()))})
