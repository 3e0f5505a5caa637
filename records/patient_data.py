"""Reads of what the person writes down themselves: the journal and home measurements.

Patient-entered data lives in its own tables (records.models.JournalEntry, HomeMeasurement), never among
the resources the health systems send. The rule for reading it is the record's: the subject the actor acts
for, with the records scope. Entries are normal health data: unlike items a health system marks sensitive,
they are shown to everyone who may read the record (docs/decisions.md, "Patient-entered data").

Home readings also join a clinic result's trend (the same test by its LOINC code), drawn and labelled
apart, never averaged or merged with the clinic's values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Case, IntegerField, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from accounts.actors import Actor, Scope
from records.charts import TrendPoint
from records.models import (
    BP_UNIT,
    EntryKind,
    GlucoseContext,
    HomeMeasurement,
    JournalEntry,
    MeasurementKind,
    QuestionState,
)
from records.templatetags.record_values import measure
from records.units import choose_unit, convert, display_unit

if TYPE_CHECKING:
    from records.sections import OpenPage, RecordItem

PRINT_RECENT_DAYS = 30  # the printable page's "recent" symptoms and side effects
PRINT_CAP = 100
HOME_TREND_CAP = 500  # home readings drawn on one chart (the newest)
SUMMARY_QUESTIONS = 5

# Which clinic tests a home reading belongs to, by LOINC code: the measurement, and the number of it.
SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"
BP_PANEL = "85354-9"
BODY_WEIGHT = "29463-7"
# Glucose in blood, serum or plasma, and by glucometer, in mass (mg/dL) or substance (mmol/L) units; a home
# meter reads capillary blood (41653-7), which records.units converts for every code here.
GLUCOSE_CODES = frozenset({"2339-0", "2345-7", "41653-7", "15074-8", "14749-6"})
HOME_GLUCOSE_LOINC = "41653-7"


def _reads_records(actor: Actor) -> bool:
    return actor.subject is not None and Scope.RECORDS in actor.scopes


def journal_visible_to(actor: Actor) -> QuerySet[JournalEntry]:
    """The journal of the person the actor acts for (none without the records scope)."""
    if not _reads_records(actor):
        return JournalEntry.objects.none()
    return JournalEntry.objects.filter(patient=actor.subject)


def measurements_visible_to(actor: Actor) -> QuerySet[HomeMeasurement]:
    """The home measurements of the person the actor acts for (none without the records scope)."""
    if not _reads_records(actor):
        return HomeMeasurement.objects.none()
    return HomeMeasurement.objects.filter(patient=actor.subject)


def may_change(actor: Actor, entry: JournalEntry | HomeMeasurement) -> bool:
    """Only the person who wrote it, or the patient themselves, may change or delete what was entered."""
    if actor.user is None or actor.subject is None or actor.subject.pk != entry.patient_id:
        return False
    return entry.author_id == actor.user.pk or actor.acts_for_self


def author_label(actor: Actor, author_id: int | None, author_name: str, *, verb: str = "entered") -> str:
    """Who entered a reading: "Entered by you" or "Entered by NAME".

    The journal always names its writer ("Written by NAME"): its printed page is read by the care team.
    """
    if verb == "written":
        return gettext("Written by %(name)s") % {"name": author_name}
    mine = actor.user is not None and author_id == actor.user.pk
    return gettext("Entered by you") if mine else gettext("Entered by %(name)s") % {"name": author_name}


# The journal --------------------------------------------------------------------------------------------


def journal_list(actor: Actor, kind: str = "") -> QuerySet[JournalEntry]:
    """Newest first, the questions still to ask at the next visit before everything else."""
    entries = journal_visible_to(actor)
    if kind in EntryKind.values:
        entries = entries.filter(kind=kind)
    still_to_ask = Case(
        When(kind=EntryKind.QUESTION, question_state=QuestionState.OPEN, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return entries.order_by(still_to_ask, "-happened_on", "-created_at", "-pk")


@dataclass(frozen=True)
class JournalLine:
    entry: JournalEntry
    by: str  # "Written by NAME"
    changeable: bool  # the reader wrote it, or is the patient


def journal_lines(actor: Actor, entries: Iterable[JournalEntry]) -> list[JournalLine]:
    return [
        JournalLine(
            entry=entry,
            by=author_label(actor, entry.author_id, entry.author_name, verb="written"),
            changeable=may_change(actor, entry),
        )
        for entry in entries
    ]


def open_questions(actor: Actor, *, limit: int | None = None) -> list[JournalEntry]:
    rows = journal_visible_to(actor).filter(kind=EntryKind.QUESTION, question_state=QuestionState.OPEN)
    rows = rows.order_by("-happened_on", "-created_at", "-pk")
    return list(rows[:limit] if limit else rows[:PRINT_CAP])


@dataclass(frozen=True)
class PrintableJournal:
    questions: list[JournalEntry]
    recent: list[JournalEntry]  # symptoms and side effects of the last PRINT_RECENT_DAYS days
    since: date


def printable_journal(actor: Actor) -> PrintableJournal:
    since = timezone.localdate() - timedelta(days=PRINT_RECENT_DAYS)
    recent = (
        journal_visible_to(actor)
        .filter(kind__in=(EntryKind.SYMPTOM, EntryKind.SIDE_EFFECT), happened_on__gte=since)
        .order_by("-happened_on", "-created_at", "-pk")[:PRINT_CAP]
    )
    return PrintableJournal(questions=open_questions(actor), recent=list(recent), since=since)


# Home measurements --------------------------------------------------------------------------------------


def _number(value: Decimal | float | int | None) -> str:
    return measure(float(value)) if value is not None else ""


def reading_text(reading: HomeMeasurement) -> str:
    """The reading as it was taken: "128/82 mmHg", "154.2 lb", "5.4 mmol/L"."""
    if reading.kind == MeasurementKind.BLOOD_PRESSURE:
        return f"{reading.systolic}/{reading.diastolic} {display_unit(BP_UNIT)}"
    return f"{_number(reading.value)} {display_unit(reading.unit)}".strip()


def context_text(reading: HomeMeasurement) -> str:
    if reading.kind == MeasurementKind.GLUCOSE and reading.glucose_context:
        return str(GlucoseContext(reading.glucose_context).label)
    return ""


def measurement_list(actor: Actor, kind: str = "") -> QuerySet[HomeMeasurement]:
    """Newest first; only one measurement's readings when `kind` names one."""
    readings = measurements_visible_to(actor)
    if kind in MeasurementKind.values:
        readings = readings.filter(kind=kind)
    return readings.order_by("-measured_at", "-pk")


@dataclass(frozen=True)
class MeasurementLine:
    reading: HomeMeasurement
    value: str  # as taken
    context: str
    by: str  # "Entered by you" / "Entered by NAME"
    changeable: bool


def measurement_lines(actor: Actor, readings: Iterable[HomeMeasurement]) -> list[MeasurementLine]:
    return [
        MeasurementLine(
            reading=reading,
            value=reading_text(reading),
            context=context_text(reading),
            by=author_label(actor, reading.author_id, reading.author_name),
            changeable=may_change(actor, reading),
        )
        for reading in readings
    ]


def latest_readings(actor: Actor) -> list[HomeMeasurement]:
    """The newest reading of each kind, in the order of the kinds (one query: each kind's newest by its own)."""
    readings = measurements_visible_to(actor)
    newest = Q(pk__isnull=True)  # a pk is never null: only the newest of each kind below
    for kind in MeasurementKind.values:
        newest |= Q(pk=Subquery(readings.filter(kind=kind).order_by("-measured_at", "-pk").values("pk")[:1]))
    found = {reading.kind: reading for reading in readings.filter(newest)}
    return [found[kind] for kind in MeasurementKind.values if kind in found]


@dataclass(frozen=True)
class HomeSeries:
    """One line of home readings, ready to draw: the points in one unit."""

    key: str  # "systolic", "diastolic", "weight", "glucose"
    title: str
    unit: str  # canonical (UCUM)
    points: list[TrendPoint]


def _values(reading: HomeMeasurement, key: str) -> float | None:
    if key == "systolic":
        return float(reading.systolic) if reading.systolic is not None else None
    if key == "diastolic":
        return float(reading.diastolic) if reading.diastolic is not None else None
    return float(reading.value) if reading.value is not None else None


def _unit_of(reading: HomeMeasurement) -> str:
    return BP_UNIT if reading.kind == MeasurementKind.BLOOD_PRESSURE else reading.unit


def home_points(
    actor: Actor, readings: Iterable[HomeMeasurement], key: str, unit: str, loinc: str = ""
) -> tuple[list[TrendPoint], int]:
    """Points of one number of the readings, converted to `unit`; and how many could not be converted."""
    points: list[TrendPoint] = []
    left_out = 0
    for reading in readings:
        number = _values(reading, key)
        if number is None:
            continue
        value = convert(number, _unit_of(reading), unit, loinc) if _unit_of(reading) != unit else number
        if value is None:
            left_out += 1
            continue
        points.append(
            TrendPoint(
                when=reading.measured_at,
                value=value,
                patient_entered=True,
                label=author_label(actor, reading.author_id, reading.author_name),
            )
        )
    return points, left_out


def measurement_series(actor: Actor) -> list[HomeSeries]:
    """The measurements page's charts: blood pressure (its two numbers), weight, glucose."""
    series: list[HomeSeries] = []
    wanted: list[tuple[str, str, str]] = [
        (MeasurementKind.BLOOD_PRESSURE, "systolic", gettext("Blood pressure, top number (systolic)")),
        (MeasurementKind.BLOOD_PRESSURE, "diastolic", gettext("Blood pressure, bottom number (diastolic)")),
        (MeasurementKind.WEIGHT, "weight", gettext("Weight")),
        (MeasurementKind.GLUCOSE, "glucose", gettext("Blood glucose")),
    ]
    read: dict[str, list[HomeMeasurement]] = {}
    for kind, key, title in wanted:
        if kind not in read:
            newest = measurements_visible_to(actor).filter(kind=kind).order_by("-measured_at", "-pk")
            read[kind] = list(reversed(newest[:HOME_TREND_CAP]))
        readings = read[kind]
        if not readings:
            continue
        loinc = HOME_GLUCOSE_LOINC if kind == MeasurementKind.GLUCOSE else ""
        unit = choose_unit([_unit_of(reading) for reading in readings], loinc)
        points, _left_out = home_points(actor, readings, key, unit, loinc)
        series.append(HomeSeries(key=key, title=title, unit=unit, points=points))
    return series


# Home readings on a clinic result's page ----------------------------------------------------------------


def _home_test(loinc: str) -> tuple[str, str] | None:
    """(measurement kind, which number) for a clinic test's LOINC code, or None when no home reading matches."""
    if loinc == SYSTOLIC:
        return MeasurementKind.BLOOD_PRESSURE, "systolic"
    if loinc == DIASTOLIC:
        return MeasurementKind.BLOOD_PRESSURE, "diastolic"
    if loinc == BP_PANEL:
        return MeasurementKind.BLOOD_PRESSURE, "panel"
    if loinc == BODY_WEIGHT:
        return MeasurementKind.WEIGHT, "weight"
    if loinc in GLUCOSE_CODES:
        return MeasurementKind.GLUCOSE, "glucose"
    return None


@dataclass(frozen=True)
class HomeRow:
    """A home reading in a clinic result's table of values."""

    when: datetime
    value: str  # as taken, e.g. "154 lb"
    converted: str  # in the chart's unit when that differs, e.g. "69.9 kg"; "" otherwise
    context: str  # glucose: fasting, after a meal…
    by: str  # "Entered by you" / "Entered by NAME"
    note: str


@dataclass(frozen=True)
class HomeOnResult:
    points: list[TrendPoint]  # drawn apart from the clinic's (patient_entered)
    rows: list[HomeRow]  # newest first
    left_out: int
    all_mine: bool  # every reading was entered by the reader (the legend can say "Entered by you")


NO_HOME = HomeOnResult(points=[], rows=[], left_out=0, all_mine=True)


def home_on_result(actor: Actor, loinc: str, unit: str) -> HomeOnResult:
    """The person's home readings of the test a clinic result is of, in the unit its trend is drawn in."""
    test = _home_test(loinc)
    if test is None:
        return NO_HOME
    kind, key = test
    newest = list(measurements_visible_to(actor).filter(kind=kind).order_by("-measured_at", "-pk")[:HOME_TREND_CAP])
    if not newest:
        return NO_HOME
    points: list[TrendPoint] = []
    left_out = 0
    if key != "panel":  # a panel's clinic values are two numbers: its home readings go in the table only
        points, left_out = home_points(actor, reversed(newest), key, unit, loinc)
    rows = []
    for reading in newest:
        converted = ""
        number = _values(reading, key) if key != "panel" else None
        if number is not None and unit and _unit_of(reading) != unit:
            value = convert(number, _unit_of(reading), unit, loinc)
            converted = f"{measure(value, 1)} {display_unit(unit)}".strip() if value is not None else ""
        rows.append(
            HomeRow(
                when=reading.measured_at,
                value=_home_value(reading, key),
                converted=converted,
                context=context_text(reading),
                by=author_label(actor, reading.author_id, reading.author_name),
                note=reading.note,
            )
        )
    mine = actor.user is not None and all(reading.author_id == actor.user.pk for reading in newest)
    return HomeOnResult(points=points, rows=rows, left_out=left_out, all_mine=mine)


def _home_value(reading: HomeMeasurement, key: str) -> str:
    if key in ("systolic", "diastolic"):
        return f"{_values(reading, key):.0f} {display_unit(BP_UNIT)}"
    return reading_text(reading)


@dataclass(frozen=True)
class ValueRow:
    """A line of a result's table of values: a clinic value (item) or a home reading (home), never both."""

    item: RecordItem | None = None
    home: HomeRow | None = None


def table_rows(history: list[RecordItem], home: list[HomeRow]) -> list[ValueRow]:
    """The clinic's values and the home readings in one table, newest first (each row keeps what it is)."""
    rows = [ValueRow(item=item) for item in history] + [ValueRow(home=row) for row in home]
    oldest = datetime.min.replace(tzinfo=timezone.get_current_timezone())

    def moment(row: ValueRow) -> datetime:
        if row.home is not None:
            return row.home.when
        assert row.item is not None
        return row.item.row.effective_at or oldest

    return sorted(rows, key=moment, reverse=True)


def table_rows_of_page(page: OpenPage, home: list[HomeRow]) -> list[ValueRow]:
    """A page of the clinic's values with the home readings that fall among them, newest first.

    A page holds the readings after its own oldest value and up to the value the page before ended on
    (the first page: every newer reading; the last page: every older one), so that paging through the
    table shows each reading once.
    """
    items: list[RecordItem] = page.object_list
    dated = [item.row.effective_at for item in items if item.row.effective_at is not None]
    oldest = min(dated) if dated and page.has_next else None
    ended_on = page.before.effective_at if page.before is not None else None
    chosen = [
        row for row in home if (ended_on is None or row.when <= ended_on) and (oldest is None or row.when > oldest)
    ]
    return table_rows(items, chosen)
