"""What the record's API returns beyond the pages' own reads: a result's and an item's detail, and the sources.

Everything comes through the records selector (`visible_to`, through `record_rows` and the results reads),
projections only; the raw FHIR resource only for the one item asked for, already checked by its access helper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count

from accounts.actors import Actor, Scope
from records import results as result_reads
from records import shlinks
from records.access import recent_openings
from records.plain_language import FlagExplanation, TestExplanation, explain_flag, explain_test, flag_for
from records.projections import LOINC
from records.results import Trend
from records.sections import RecordItem, duplicate_key, merge_copies, record_rows
from records.selectors import visible_to

if TYPE_CHECKING:
    from django.http import HttpRequest

    from records.models import Connection, FhirResource, RecordSource, ShareLink, ShareOpening

COPIES_CAP = 500  # copies of one item looked at for its sources (the newest)


def flag_of(row: FhirResource) -> str:
    """The flag code the pages explain for a row ("" when nothing is known)."""
    return flag_for(
        interpretation=str((row.details or {}).get("interpretation", "")),
        value=row.value_number,
        low=row.ref_low,
        high=row.ref_high,
        abnormal=row.abnormal,
    )


def as_items(rows: list[FhirResource]) -> list[RecordItem]:
    """Rows shown one by one (a report's results), each with its own source."""
    return [RecordItem(row=row, sources=[row.source.label]) for row in rows]


@dataclass
class ResultDetail(RecordItem):
    """A test result as its page shows it, in the reader's language."""

    revised: bool = False
    report: RecordItem | None = None
    report_results: list[RecordItem] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    explanation: TestExplanation | None = None
    flag_words: FlagExplanation | None = None
    trend: Trend | None = None
    history: list[RecordItem] = field(default_factory=list)


def result_detail(actor: Actor, row: FhirResource, language: str) -> ResultDetail:
    """A result (checked by records.access.access_result_by_id) with everything its page shows."""
    context = result_reads.result_context(actor, row)
    loinc = row.code if row.code_system == LOINC else ""
    flag = flag_of(row)
    report = context.report
    return ResultDetail(
        row=row,
        sources=context.item.sources,
        copies=context.item.copies,
        revised=result_reads.is_revised(row),
        report=RecordItem(row=report, sources=[report.source.label]) if report is not None else None,
        report_results=as_items(result_reads.report_results(actor, report)) if report is not None else [],
        components=context.components,
        explanation=explain_test(loinc, language) if loinc else None,
        flag_words=explain_flag(flag, language) if flag else None,
        trend=result_reads.trend_of(context.history, loinc),
        history=context.history,
    )


@dataclass
class ItemDetail(RecordItem):
    """One item of the record with every source that holds it, and the resource as its source sent it."""

    raw: dict[str, Any] = field(default_factory=dict)
    report_results: list[RecordItem] = field(default_factory=list)


def with_its_copies(actor: Actor, row: FhirResource) -> RecordItem:
    """The item `row` is a copy of, led by `row` itself, with every source's name (as the lists merge them)."""
    same = record_rows(actor).filter(kind=row.kind)
    if row.code:
        same = same.filter(code_system=row.code_system, code=row.code)
    else:
        same = same.filter(code="", display__iexact=row.display.strip())
    key = duplicate_key(row)
    merged = next(
        (
            item
            for item in merge_copies(same.order_by("-effective_at", "-pk")[:COPIES_CAP])
            if duplicate_key(item.row) == key
        ),
        None,
    )
    if merged is None:
        return RecordItem(row=row, sources=[row.source.label])
    return RecordItem(row=row, sources=merged.sources, copies=merged.copies)


def item_detail(actor: Actor, row: FhirResource) -> ItemDetail:
    """An item (checked by records.access.access_resource_by_id, raw JSON loaded) with its copies' sources."""
    item = with_its_copies(actor, row)
    reported = result_reads.report_results(actor, row) if row.resource_type == "DiagnosticReport" else []
    raw = row.raw if isinstance(row.raw, dict) else {}
    return ItemDetail(row=row, sources=item.sources, copies=item.copies, raw=raw, report_results=as_items(reported))


@dataclass(frozen=True)
class SourceLine:
    """One source of the record: a connected health system or the uploads, with how many items the reader sees."""

    source: RecordSource
    connection: Connection | None
    items: int


def source_lines(actor: Actor) -> list[SourceLine]:
    """The subject's sources (as the timeline's filter lists them), each with the items the actor may read.

    Two queries whatever the number of sources; counts come from `visible_to`, so sensitive items are not
    counted where they stay hidden.
    """
    if actor.subject is None or Scope.RECORDS not in actor.scopes:
        return []
    counts = dict(visible_to(actor).values_list("source_id").annotate(found=Count("id")).order_by())
    sources = actor.subject.record_sources.select_related("connection__health_system").order_by("label", "pk")
    return [
        SourceLine(source=source, connection=getattr(source, "connection", None), items=counts.get(source.pk, 0))
        for source in sources
    ]


@dataclass(frozen=True)
class LinkDetail:
    """A shared link as its page shows it: while it works, the link (it holds the key) and its QR code; always,
    the newest openings. The link's own fields are read through (`label`, `state`…)."""

    link: ShareLink
    shlink: str | None
    url: str | None
    qr_svg: str | None
    openings: list[ShareOpening]
    more_openings: bool
    openings_count: int

    def __getattr__(self, name: str) -> Any:
        return getattr(self.link, name)


def share_link_detail(request: HttpRequest, link: ShareLink) -> LinkDetail:
    """One link (checked by records.access.access_share_link_by_id), in two queries for its openings."""
    shlink = shlinks.shlink_of(request, link) if link.works else None
    openings, more_openings = recent_openings(link)
    return LinkDetail(
        link=link,
        shlink=shlink,
        url=f"{shlinks.viewer_url(request)}#{shlink}" if shlink else None,
        qr_svg=shlinks.qr_svg(f"{shlinks.viewer_url(request)}#{shlink}") if shlink else None,
        openings=openings,
        more_openings=more_openings,
        openings_count=link.openings.count(),
    )
