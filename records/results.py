"""Test results: one line per test (its latest value), a result's page, and one trend per test across sources.

A test is its code: the same LOINC code from every health system is one test,
so an HbA1c from three systems draws one trend. Rows without a code group by
their name. Everything is read through `visible_to`, projections only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import Case, CharField, F, Max, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Lower, Trim, Trunc

from accounts.actors import Actor
from records.charts import TrendPoint
from records.projections import LOINC, REVISED_STATUSES
from records.sections import OpenPage, RecordItem, duplicate_key, merge_copies, open_page, page_number, record_rows
from records.selectors import visible_to
from records.units import choose_unit, convert

if TYPE_CHECKING:
    from records.models import FhirResource

RESULT_KINDS = ("lab", "vital", "observation")
RESULTS_CAP = 5000  # the newest results read for the list; older ones stay on their test's trend and the timeline
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)  # the window's start when a record has fewer results than the cap
TREND_CAP = 200  # points on one trend (the newest); the table under it pages through every value


def result_key(row: FhirResource) -> tuple[str, str]:
    """What makes results the same test: the code in its system, or the name when there is no code."""
    if row.code:
        return (row.code_system, row.code)
    return ("", row.display.strip().lower())


def same_test(row: FhirResource) -> Q:
    if row.code:
        return Q(code_system=row.code_system, code=row.code)
    return Q(code="", display__iexact=row.display.strip())


@dataclass
class ResultLine:
    """A test on the results list: its latest value and how many values it has (copies counted once)."""

    latest: RecordItem
    count: int = 1

    @property
    def loinc(self) -> str:
        row = self.latest.row
        return row.code if row.code_system == LOINC else ""


def result_rows(actor: Actor) -> QuerySet[FhirResource]:
    return record_rows(actor).filter(resource_type="Observation", kind__in=RESULT_KINDS)


def _test_name() -> Case:
    """The name that groups results without a code (as result_key does); empty for coded ones."""
    return Case(When(code="", then=Lower(Trim("display"))), default=Value(""), output_field=CharField())


def result_lines(actor: Actor, kind: str, *, cap: int = RESULTS_CAP, limit: int | None = None) -> list[ResultLine]:
    """One line per test of `kind` ("lab" or "vital"), newest first by its latest result.

    Two queries whatever the size of the record: the database groups the newest `cap` results by test (how
    many values each has, copies counted once, and when the latest is), then the latest rows of each test are
    read with their copies' sources. Nothing but the lines' own rows becomes an object. With a `limit` (the
    summary's few latest measurements) only that many tests, the newest, and their values are not counted
    (each line's count is 1).
    """
    of_kind = record_rows(actor).filter(resource_type="Observation", kind=kind)
    # The newest `cap` items of the kind, as a moment: the database walks its (patient, kind, time) index to
    # the cap-th one (reports of that kind count, so the walk reads the index alone), then groups the results
    # at or after that moment.
    oldest_read = (
        visible_to(actor).filter(kind=kind, effective_at__isnull=False).order_by("-effective_at").values("effective_at")
    )[cap - 1 : cap]
    window = Q(effective_at__gte=Coalesce(Subquery(oldest_read), Value(EARLIEST))) | Q(effective_at__isnull=True)
    in_window = of_kind.filter(window)
    tests: list[Mapping[str, Any]]
    if limit is None:
        tests = _tests_with_counts(in_window)
    else:
        grouped = in_window.values("code_system", "code", name=_test_name()).annotate(latest=Max("effective_at"))
        tests = list(grouped.order_by(F("latest").desc(nulls_last=True), "code")[:limit])
    # The latest rows of each test: per moment some test's latest value has, the rows then of those tests' codes
    # (a condition per moment rather than one per test: a query built of a condition per test costs more to build
    # than to run), and here only the rows of the test whose latest moment it is. It starts from nothing (a pk is
    # never null) rather than stopping early, so a page makes the same queries whether the record has results of
    # this kind or not.
    latest = {(_key(test["code_system"], test["code"], test["name"]), test["latest"]) for test in tests}
    codes_at: dict[datetime, set[str]] = defaultdict(set)
    wanted = Q(pk__isnull=True)
    for test in tests:
        if test["latest"] is not None:
            codes_at[test["latest"]].add(test["code"])
        else:  # a test none of whose values has a date: its undated values
            same = (
                Q(code_system=test["code_system"], code=test["code"]) if test["code"] else Q(code="", name=test["name"])
            )
            wanted |= same & Q(effective_at__isnull=True)
    for moment, codes in sorted(codes_at.items()):
        wanted |= Q(effective_at=moment, code__in=sorted(codes))
    counts = {_key(test["code_system"], test["code"], test["name"]): test.get("values", 1) for test in tests}
    lines: dict[tuple[str, str], ResultLine] = {}
    latest_rows = of_kind.annotate(name=_test_name()).filter(wanted).order_by("-effective_at", "-pk")
    chosen = (row for row in latest_rows if (_key(row.code_system, row.code, row.name), row.effective_at) in latest)
    for item in merge_copies(chosen):
        key = result_key(item.row)
        if key not in lines:
            lines[key] = ResultLine(latest=item, count=max(1, counts.get(key, 1)))
    return sorted(lines.values(), key=_newest_first, reverse=True)


def _tests_with_counts(rows: QuerySet[FhirResource]) -> list[Mapping[str, Any]]:
    """Each test of the rows with how many values it has (copies counted once) and when its latest is.

    The rows are grouped twice: into values (a test's minute, number, text and unit, as duplicate_key has
    them), then the values into tests. Counting distinct values within each test instead (a text key per row,
    then a sort per test) took twice as long; the ORM cannot group a grouped query, so the outer grouping
    wraps the ORM's own query of the values, whose rows are what `rows` (from visible_to) allows.
    """
    values = (
        rows.values(
            "code_system",
            "code",
            "value_number",
            "value_text",
            "unit",
            name=_test_name(),
            minute=Trunc("effective_at", "minute", tzinfo=UTC),
        )
        .annotate(latest=Max("effective_at"))
        .order_by()
    )
    inner, params = values.query.sql_with_params()  # the ORM's statement; every value stays a parameter
    outer = f"SELECT code_system, code, name, count(*), max(latest) FROM ({inner}) AS test_values GROUP BY 1, 2, 3"  # noqa: S608
    connection = connections[values.db]
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        found = cursor.fetchall()
    # The latest moment as the ORM would have read it: the backend's own converters (SQLite's gives text).
    column = values.model._meta.get_field("effective_at").get_col(values.model._meta.db_table)
    converters = [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]
    tests: list[Mapping[str, Any]] = []
    for system, code, name, count, latest in found:
        for convert_value in converters:
            latest = convert_value(latest, column, connection)
        tests.append({"code_system": system, "code": code, "name": name, "values": count, "latest": latest})
    return tests


def _key(code_system: str, code: str, name: str) -> tuple[str, str]:
    return (code_system, code) if code else ("", name)


def _newest_first(line: ResultLine) -> tuple[bool, float, int]:
    """Sorted in reverse: the latest value first, results without a date last."""
    row = line.latest.row
    return (row.effective_at is not None, row.effective_at.timestamp() if row.effective_at else 0.0, row.pk)


def is_revised(row: FhirResource) -> bool:
    return row.status in REVISED_STATUSES


@dataclass
class ResultContext:
    """What a result's page shows beside the value."""

    item: RecordItem
    report: FhirResource | None
    components: list[dict[str, Any]] = field(default_factory=list)
    history: list[RecordItem] = field(default_factory=list)  # the test's newest TREND_CAP values, for the chart
    newest_rows: list[FhirResource] | None = None  # the rows behind `history`, newest first (see history_page)


def result_context(actor: Actor, row: FhirResource) -> ResultContext:
    """A result (already checked by access_resource_by_id) with its report, its copies and its test's history."""
    newest_rows = list(_values_of_test(actor, row)[:TREND_CAP])
    history = merge_copies(newest_rows)
    # This row, with every source's name of the item it is a copy of (its own row, even when another copy leads).
    key = duplicate_key(row)
    merged = next((entry for entry in history if duplicate_key(entry.row) == key), RecordItem(row=row))
    item = RecordItem(row=row, sources=merged.sources, copies=merged.copies)
    return ResultContext(
        item=item,
        report=report_of(actor, row),
        components=[c for c in (row.details or {}).get("components", []) if isinstance(c, dict)],
        history=history,
        newest_rows=newest_rows,
    )


def _values_of_test(actor: Actor, row: FhirResource) -> QuerySet[FhirResource]:
    return result_rows(actor).filter(same_test(row)).order_by("-effective_at", "-pk")


def history_page(
    actor: Actor, row: FhirResource, number: object, size: int, *, newest_rows: list[FhirResource] | None = None
) -> OpenPage:
    """A page of every value of the row's test, newest first, copies merged (the table under the chart).

    `newest_rows`, the test's newest TREND_CAP rows that result_context read for the chart, hold the first
    pages (the same rows in the same order): those pages are cut from them instead of read again. Whether a
    page is depends on its number alone, so a page makes the same queries whatever the record's size.
    """
    wanted = page_number(number)
    rows = newest_rows if newest_rows is not None and wanted * size + 1 <= TREND_CAP else _values_of_test(actor, row)
    page = open_page(rows, wanted, size)
    page.object_list = merge_copies(page.object_list)
    return page


def report_of(actor: Actor, row: FhirResource) -> FhirResource | None:
    """The report a result belongs to: a report of the same source, near in time, that lists it."""
    if row.effective_at is None:
        candidates = record_rows(actor).filter(source_id=row.source_id, resource_type="DiagnosticReport")[:50]
    else:
        window = (row.effective_at - timedelta(days=2), row.effective_at + timedelta(days=2))
        candidates = record_rows(actor).filter(
            source_id=row.source_id, resource_type="DiagnosticReport", effective_at__range=window
        )[:50]
    return next((report for report in candidates if row.resource_id in (report.details or {}).get("results", [])), None)


def report_results(actor: Actor, report: FhirResource) -> list[FhirResource]:
    """The results a report lists, in its order (those the actor may see)."""
    wanted = [str(value) for value in (report.details or {}).get("results", [])][:200]
    if not wanted:
        return []
    found = {
        row.resource_id: row
        for row in record_rows(actor).filter(
            source_id=report.source_id, resource_type="Observation", resource_id__in=wanted
        )
    }
    return [found[resource_id] for resource_id in wanted if resource_id in found]


@dataclass(frozen=True)
class Trend:
    """One test's values over time in one unit (converted where they differ), ready to draw."""

    points: list[TrendPoint]
    unit: str  # canonical (UCUM) unit the values are in
    low: float | None
    high: float | None
    left_out: int  # values that could not be converted to the unit (shown in the table, not on the chart)


def trend_of(history: list[RecordItem], loinc: str) -> Trend:
    """The chart's points from a test's history (newest first), in the unit most of its values use."""
    numeric = [item for item in reversed(history) if item.row.value_number is not None]
    unit = choose_unit([item.row.unit for item in numeric], loinc)
    points: list[TrendPoint] = []
    low = high = None
    for item in numeric:
        row = item.row
        value = convert(float(row.value_number or 0.0), row.unit, unit, loinc) if row.unit != unit else row.value_number
        if value is None or row.effective_at is None:
            continue
        points.append(
            TrendPoint(when=row.effective_at, value=float(value), abnormal=row.abnormal, label=", ".join(item.sources))
        )
        # The band is the newest range that converts (labs' ranges differ a little; the table shows each).
        converted_low = convert(row.ref_low, row.unit, unit, loinc) if row.ref_low is not None else None
        converted_high = convert(row.ref_high, row.unit, unit, loinc) if row.ref_high is not None else None
        if converted_low is not None or converted_high is not None:
            low, high = converted_low, converted_high
    return Trend(points=points, unit=unit, low=low, high=high, left_out=len(numeric) - len(points))
