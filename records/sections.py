"""The record's sections (medications, problems, vaccines…) and its timeline, read through `visible_to`.

Pages read projections (`raw` is deferred everywhere here). The same item from
two health systems is shown once: `merge_copies` groups rows that say the same
thing (the same vaccine on the same day, the same problem, the same lab value
at the same time) and keeps every source's name for the badges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.actors import Actor
from records.ingest import PROJECTION_FIELDS
from records.models import RecordSource
from records.selectors import visible_to

if TYPE_CHECKING:
    from records.models import FhirResource

# The projection's fields every list reads (never the raw JSON), and what locates and dates each row.
LIST_FIELDS = (
    "pk",
    "source_id",
    "resource_type",
    "resource_id",
    *(name for name in PROJECTION_FIELDS if name != "projection_version"),
    "first_seen_at",
    "source__label",
    "source__kind",
)
# Kinds that describe who and where rather than what happened: not part of the timeline.
REFERENCE_KINDS = ("patient", "practitioner", "organization", "location")
# Kinds shown on the timeline, in the order of its filter, with the words people read.
TIMELINE_KINDS: dict[str, Promise] = {
    "lab": _("Test results"),
    "vital": _("Measurements"),
    "observation": pgettext_lazy("record kind", "Other observations"),
    "report": _("Reports"),
    "imaging": _("Imaging"),
    "medication": _("Medicines"),
    "immunization": _("Vaccines"),
    "problem": _("Health problems"),
    "allergy": _("Allergies"),
    "procedure": _("Procedures"),
    "visit": _("Visits"),
    "document": _("Notes and documents"),
    "care_plan": _("Care plans"),
    "goal": _("Health goals"),
    "care_team": _("Care team"),
    "coverage": _("Insurance"),
    "claim": _("Claims and payments"),
    "appointment": _("Appointments"),
    "device": _("Devices and implants"),
    "other": pgettext_lazy("record kind", "Other"),
}
# Statuses that make a problem or an allergy current (everything else is past).
CURRENT_STATUSES = frozenset({"active", "recurrence", "relapse", "unconfirmed"})
# A medicine is current unless its status says it ended (no status: current, as health systems often omit it).
ENDED_MEDICATION_STATUSES = frozenset(
    {"stopped", "completed", "cancelled", "entered-in-error", "inactive", "not-taken", "unknown"}
)
SECTION_CAP = 2000  # a section shows at most this many rows (the newest); more is a timeline's job


@dataclass(frozen=True)
class Section:
    slug: str
    title: Promise
    kinds: tuple[str, ...]
    intro: Promise
    empty: Promise
    splits_current: bool = False  # current items first, then past ones


SECTIONS: dict[str, Section] = {
    section.slug: section
    for section in (
        Section(
            "medications",
            _("Medicines"),
            ("medication",),
            _("Medicines prescribed for you, and medicines you said you take."),
            _("No medicines in the record yet."),
            splits_current=True,
        ),
        Section(
            "allergies",
            _("Allergies"),
            ("allergy",),
            _("Allergies and reactions your care teams recorded."),
            _("No allergies in the record."),
            splits_current=True,
        ),
        Section(
            "problems",
            _("Health problems"),
            ("problem",),
            _("Conditions and diagnoses your care teams recorded."),
            _("No health problems in the record."),
            splits_current=True,
        ),
        Section(
            "immunizations",
            _("Vaccines"),
            ("immunization",),
            _("Vaccines given, from every source. You can print this list as your vaccine record."),
            _("No vaccines in the record yet."),
        ),
        Section(
            "procedures",
            _("Procedures"),
            ("procedure",),
            _("Tests, treatments and operations that were done."),
            _("No procedures in the record."),
        ),
        Section(
            "visits",
            _("Visits"),
            ("visit",),
            _("Visits and hospital stays. Notes from visits are under Notes and documents."),
            _("No visits in the record yet."),
        ),
        Section(
            "documents",
            _("Notes and documents"),
            ("document",),
            _("Visit notes, letters and other documents your care teams shared."),
            _("No notes or documents in the record yet."),
        ),
        Section(
            "imaging",
            _("Imaging"),
            ("imaging",),
            _("X-rays, scans and their reports."),
            _("No imaging in the record."),
        ),
        Section(
            "care-plans",
            _("Care plans and goals"),
            ("care_plan", "goal"),
            _("Plans your care teams made with you, and the goals in them."),
            _("No care plans or goals in the record."),
        ),
        Section(
            "care-team",
            _("Care team"),
            ("care_team",),
            _("The people and teams who look after you."),
            _("No care team in the record."),
        ),
        Section(
            "insurance",
            _("Insurance and claims"),
            ("coverage", "claim"),
            _("Your insurance, what was billed to it and what it paid."),
            _("No insurance or claims in the record."),
        ),
    )
}


@dataclass
class RecordItem:
    """One thing in the record, shown once however many sources hold it."""

    row: FhirResource  # the newest copy (the one its page opens)
    sources: list[str] = field(default_factory=list)  # every source's name, in order of first sight
    copies: int = 1

    @property
    def is_current(self) -> bool:
        if self.row.kind == "medication":
            return self.row.status not in ENDED_MEDICATION_STATUSES
        return self.row.status in CURRENT_STATUSES

    @property
    def kind_label(self) -> str:
        return str(TIMELINE_KINDS.get(self.row.kind, TIMELINE_KINDS["other"]))

    @property
    def day(self) -> date | None:
        """The calendar day the item is about (a date without a time is that day wherever the reader is)."""
        moment = self.row.effective_at
        if moment is None:
            return None
        if (self.row.details or {}).get("date_precision"):
            return moment.astimezone(UTC).date()
        return timezone.localtime(moment).date()


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ""


def current_rule(kind: str) -> Q:
    """The rows of `kind` that are current, as RecordItem.is_current decides for one row."""
    if kind == "medication":
        return Q(kind=kind) & ~Q(status__in=ENDED_MEDICATION_STATUSES)
    return Q(kind=kind, status__in=CURRENT_STATUSES)


def duplicate_key(row: FhirResource) -> tuple[Any, ...]:
    """What makes two rows the same item: rows with the same key are one item from several sources.

    Lasting things (problems, allergies, medicines, care teams, insurance) by what they are; events (vaccines,
    results, procedures, visits) by what and when; results also by their value, so that two different values of
    the same test on the same day stay two results.
    """
    what = (row.code_system, row.code) if row.code else ("", row.display.strip().lower())
    if row.kind in ("problem", "allergy", "medication", "care_team", "coverage", "goal"):
        return (row.kind, *what)
    if row.kind in ("lab", "vital", "observation"):
        moment = row.effective_at.replace(second=0, microsecond=0).isoformat() if row.effective_at else ""
        return (row.kind, row.resource_type, *what, moment, row.value_number, row.value_text, row.unit)
    return (row.kind, row.resource_type, *what, _day(row.effective_at))


def merge_copies(rows: Iterable[FhirResource]) -> list[RecordItem]:
    """Rows (newest first) grouped into items; an item keeps the newest row and every source's name."""
    items: dict[tuple[Any, ...], RecordItem] = {}
    for row in rows:
        key = duplicate_key(row)
        item = items.get(key)
        label = row.source.label
        if item is None:
            items[key] = RecordItem(row=row, sources=[label])
            continue
        item.copies += 1
        if label not in item.sources:
            item.sources.append(label)
    return list(items.values())


def record_rows(actor: Actor) -> QuerySet[FhirResource]:
    """The actor's visible rows with their source, projections only."""
    return visible_to(actor).select_related("source").only(*LIST_FIELDS)


def section_items(actor: Actor, section: Section) -> list[RecordItem]:
    """A section's items, duplicates merged; current ones first where the section splits them."""
    rows = record_rows(actor).filter(kind__in=section.kinds).order_by("-effective_at", "-pk")[:SECTION_CAP]
    items = merge_copies(rows)
    if section.splits_current:
        items.sort(key=lambda item: not item.is_current)  # stable: newest first within each group
    return items


@dataclass(frozen=True)
class TimelineFilter:
    kind: str = ""
    source_id: int | None = None
    start: date | None = None
    end: date | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.kind or self.source_id or self.start or self.end)


def timeline_rows(actor: Actor, chosen: TimelineFilter) -> QuerySet[FhirResource]:
    """Everything that happened, newest first, filtered (the page slices it, then merges each page's copies)."""
    rows = record_rows(actor).exclude(kind__in=REFERENCE_KINDS).filter(effective_at__isnull=False)
    if chosen.kind:
        rows = rows.filter(kind=chosen.kind)
    if chosen.source_id is not None:
        rows = rows.filter(source_id=chosen.source_id)
    zone = timezone.get_current_timezone()
    if chosen.start is not None:
        rows = rows.filter(effective_at__gte=datetime.combine(chosen.start, time.min, tzinfo=zone))
    if chosen.end is not None:
        rows = rows.filter(effective_at__lte=datetime.combine(chosen.end, time.max, tzinfo=zone))
    return rows.order_by("-effective_at", "-pk")


@dataclass
class OpenPage:
    """A page of a list whose total is not counted: counting a large record costs more than showing a page.

    It has what templates/partials/pagination_open.html needs (previous and next, no "of N").
    """

    object_list: list[Any]
    number: int
    has_next: bool
    before: Any = None  # the last row of the page before (None on the first): where this page begins

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


MAX_PAGE = 10_000


def page_number(number: object) -> int:
    """The page asked for: a number that is not one gives the first page (as Paginator.get_page does)."""
    try:
        return min(max(int(str(number)), 1), MAX_PAGE)
    except ValueError:
        return 1


def open_page(rows: QuerySet[FhirResource] | Sequence[FhirResource], number: object, size: int) -> OpenPage:
    """Page `number` of `rows` (one query: a row more than the page says whether another follows).

    A number that is not one, or past the end, gives the first page (the latter costs a second query, only
    then). `rows` may also be rows already read, in their order: all of them, or at least up to the page's end.
    """
    wanted = page_number(number)
    start = (wanted - 1) * size
    if wanted == 1:
        found = list(rows[: size + 1])
        return OpenPage(object_list=found[:size], number=1, has_next=len(found) > size)
    window = list(rows[start - 1 : start + size + 1])  # the row before the page, then the page and one more
    if len(window) < 2:
        return open_page(rows, 1, size)
    found = window[1:]
    return OpenPage(object_list=found[:size], number=wanted, has_next=len(found) > size, before=window[0])


def sources_of(actor: Actor) -> Sequence[RecordSource]:
    """The sources the actor's subject has, for the timeline's filter (none without the records scope)."""
    if actor.subject is None or "records" not in actor.scopes:
        return []
    return list(RecordSource.objects.filter(patient=actor.subject).order_by("label"))
