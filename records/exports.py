"""Downloads of the record: a FHIR R4 Bundle, a readable summary (the PDF's content) and the results as CSV.

Everything is read through `visible_to(actor)`: a caregiver without the records scope gets nothing, and
someone from whom sensitive items are hidden never gets them, in any format. A period (`start`, `end`,
either may be None) keeps the items dated within it, as the timeline counts days: a date without a time is
that calendar day wherever the reader is, a moment is placed in the reader's time zone. Items without a date
belong to no period: they are in a download of the whole record only (start and end both None).

The same period keeps the same items in every format. The bundle holds the raw resources as they were
stored (never the projection); the summary and the CSV read projections, with copies of one item from
several sources merged as on the record's pages (`merge_copies`), each source named.
"""

from __future__ import annotations

import csv
import json
import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import orjson
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.actors import Actor, Scope
from accounts.csv_safety import safe_cell
from records.plain_language import explain_flag, flag_for, language_of
from records.projections import LOINC
from records.sections import RecordItem, current_rule, merge_copies, record_rows
from records.selectors import visible_to

if TYPE_CHECKING:
    from accounts.models import Patient
    from records.models import FhirResource

# fullUrl of a resource that has no server address (an uploaded file's): a name made from where it is stored,
# the same in every download, never the server's own id of anything.
EXPORT_NAMESPACE = uuid.UUID("0f6f0b8e-8a63-4a57-9d55-4a3c4b7a1f2e")
BUNDLE_CHUNK = 500  # rows read from the database at a time
RESULT_KINDS = ("lab", "vital", "observation")
# The summary reads at most this many rows of each part (the newest); the CSV and the bundle have them all.
# The PDF is drawn in the request and WeasyPrint's tables cost time per row (300 rows take seconds).
SUMMARY_CAP = 200
SUMMARY_RESULTS_CAP = 300
CSV_CELL_MAX = 32_000  # spreadsheets cut a cell at 32,767 characters; a record's text never needs more


# The period --------------------------------------------------------------------------------------------


def _between(start: date | None, end: date | None, zone: tzinfo) -> Q:
    rule = Q()
    # A bound at the very ends of the calendar bounds nothing (and would not fit a datetime in every zone).
    if start is not None and start > date.min + timedelta(days=1):
        rule &= Q(effective_at__gte=datetime.combine(start, time.min, tzinfo=zone))
    if end is not None and end < date.max - timedelta(days=1):
        rule &= Q(effective_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))
    return rule


def in_period(rows: QuerySet[FhirResource], start: date | None, end: date | None) -> QuerySet[FhirResource]:
    """The rows dated within the period (all rows, undated ones too, when there is no period).

    A date without a time (a day, a month, a year: `details.date_precision`) is stored at midnight UTC and
    counts by its calendar day; a month or a year counts as its first day. A moment counts by the reader's day.
    """
    if start is None and end is None:
        return rows
    calendar_day = Q(details__has_key="date_precision")
    local = _between(start, end, timezone.get_current_timezone())
    return rows.filter(effective_at__isnull=False).filter(
        (calendar_day & _between(start, end, UTC)) | (~calendar_day & local)
    )


# The FHIR Bundle ---------------------------------------------------------------------------------------


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _patient_resource(patient: Patient) -> dict[str, Any]:
    """The person as the portal knows them (their name and date of birth), as a FHIR Patient."""
    return {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "name": [{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        "birthDate": patient.birth_date.isoformat(),
    }


def _bundle_head() -> dict[str, Any]:
    now = timezone.now()
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": _instant(now)},
        "type": "collection",
        "timestamp": _instant(now),
    }


def _full_url(base_url: str | None, source_id: int, resource_type: str, resource_id: str) -> str:
    """The resource's address at the health system it came from, or a stable urn:uuid for a file's."""
    if base_url:
        return f"{base_url.rstrip('/')}/{resource_type}/{resource_id}"
    return f"urn:uuid:{uuid.uuid5(EXPORT_NAMESPACE, f'{source_id}/{resource_type}/{resource_id}')}"


def _entries(actor: Actor, rows: QuerySet[FhirResource]) -> Iterator[dict[str, Any]]:
    subject = actor.subject
    if subject is not None and Scope.RECORDS in actor.scopes:
        yield {"fullUrl": f"urn:uuid:{subject.pk}", "resource": _patient_resource(subject)}
    seen: set[str] = set()
    fields = ("source_id", "resource_type", "resource_id", "raw", "source__health_system__fhir_base_url")
    for source_id, resource_type, resource_id, raw, base_url in rows.values_list(*fields).iterator(BUNDLE_CHUNK):
        full_url = _full_url(base_url, source_id, resource_type, resource_id)
        if full_url in seen:  # two systems at the same address: never two entries with one fullUrl
            full_url = _full_url(None, source_id, resource_type, resource_id)
        seen.add(full_url)
        yield {"fullUrl": full_url, "resource": raw}


def _bundle_rows(actor: Actor, start: date | None, end: date | None) -> QuerySet[FhirResource]:
    """The period's rows in a stable order (the order of the table's unique index)."""
    return in_period(visible_to(actor), start, end).order_by("source_id", "resource_type", "resource_id")


def record_bundle(actor: Actor, *, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """Everything the actor may see of the record, or of a period of it, as a FHIR R4 Bundle of type collection.

    Each entry is the resource as it was stored, with a fullUrl (the resource's address at its health system,
    or a stable urn:uuid for uploaded files); the person comes first as a Patient resource. Items without a
    date are in the bundle only when there is no period.
    """
    bundle = _bundle_head()
    bundle["entry"] = list(_entries(actor, _bundle_rows(actor, start, end)))
    return bundle


def entry_json(entry: dict[str, Any]) -> bytes:
    """One entry as JSON: orjson, or the standard library for what orjson refuses (a number past 64 bits, as
    Postgres gives back a huge value a health system sent, say 1e300, as an integer)."""
    try:
        return orjson.dumps(entry)
    except TypeError:
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()


def bundle_bytes(bundle: dict[str, Any]) -> bytes:
    """A bundle from `record_bundle` as JSON bytes (what a response sends), with entry_json's care for numbers."""
    try:
        return orjson.dumps(bundle)
    except TypeError:
        return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()


def bundle_chunks(actor: Actor, *, start: date | None = None, end: date | None = None) -> Iterator[bytes]:
    """`record_bundle` as JSON, in pieces, for a streamed response (the period is fixed when this is called)."""
    head = orjson.dumps(_bundle_head())
    rows = _bundle_rows(actor, start, end)

    def pieces() -> Iterator[bytes]:
        yield head[:-1] + b',"entry":['
        for index, entry in enumerate(_entries(actor, rows)):
            yield (b"," if index else b"") + entry_json(entry)
        yield b"]}"

    return pieces()


# The summary (the PDF's content) -----------------------------------------------------------------------


def flag_words(row: FhirResource, language: str) -> str:
    """How a result lies, in words (the flag the result page explains), or "" when nothing is known."""
    code = flag_for(
        interpretation=str((row.details or {}).get("interpretation", "")),
        value=row.value_number,
        low=row.ref_low,
        high=row.ref_high,
        abnormal=row.abnormal,
    )
    explanation = explain_flag(code, language) if code else None
    return explanation.words if explanation else ""


def number_text(value: float | None) -> str:
    """A value as the lab wrote it (7.9, 120, 0.123456), never 1e-07 or a trailing zero; "" when not a number."""
    if value is None or not math.isfinite(value):
        return ""
    if abs(value) >= 1e12:  # no lab writes such a number in full
        return f"{value:g}"
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def range_text(row: FhirResource) -> str:
    """The reference range without its unit (the CSV has a unit column): 4 to 5.6 with an en dash between (a
    hyphen would read as a minus sign or a date), "4 or more", "up to 5.6", the lab's own text, or "". The words
    are the record pages' own."""
    low, high = number_text(row.ref_low), number_text(row.ref_high)
    if low and high:
        return f"{low}\u2013{high}"
    if low:
        return " ".join((gettext("%(low)s %(unit)s or more") % {"low": low, "unit": ""}).split())
    if high:
        return " ".join((gettext("up to %(high)s %(unit)s") % {"high": high, "unit": ""}).split())
    return row.ref_text


@dataclass
class ResultEntry:
    """One result of the record (copies from several sources merged), as the PDF and the CSV show it."""

    item: RecordItem
    flag: str  # in words, in the reader's language

    @property
    def row(self) -> FhirResource:
        return self.item.row

    @property
    def loinc(self) -> str:
        return self.row.code if self.row.code_system == LOINC else ""


@dataclass
class RecordDocument:
    """What the PDF summary shows: whose record, which period, and each part of it."""

    patient: Patient
    start: date | None
    end: date | None
    problems: list[RecordItem] = field(default_factory=list)
    medications: list[RecordItem] = field(default_factory=list)
    allergies: list[RecordItem] = field(default_factory=list)
    immunizations: list[RecordItem] = field(default_factory=list)
    results: list[ResultEntry] = field(default_factory=list)
    visits: list[RecordItem] = field(default_factory=list)
    results_capped: bool = False  # more results than the PDF shows (the CSV has them all)

    @property
    def whole_record(self) -> bool:
        return self.start is None and self.end is None


def _newest(rows: QuerySet[FhirResource], cap: int) -> list[RecordItem]:
    return merge_copies(rows.order_by("-effective_at", "-pk")[:cap])


def _result_rows(actor: Actor, start: date | None, end: date | None) -> QuerySet[FhirResource]:
    rows = in_period(record_rows(actor), start, end).filter(resource_type="Observation", kind__in=RESULT_KINDS)
    return rows.order_by("-effective_at", "-pk")


def _result_entries(rows: Iterable[FhirResource]) -> list[ResultEntry]:
    language = language_of(translation.get_language())
    return [ResultEntry(item=item, flag=flag_words(item.row, language)) for item in merge_copies(rows)]


def result_entries(actor: Actor, *, start: date | None = None, end: date | None = None) -> list[ResultEntry]:
    """Every result of the period, newest first, copies merged (projections only, read in chunks)."""
    return _result_entries(_result_rows(actor, start, end).iterator(BUNDLE_CHUNK))


def record_document(
    actor: Actor, patient: Patient, *, start: date | None = None, end: date | None = None
) -> RecordDocument:
    """The summary's parts for the period: current problems, medicines and allergies, vaccines, results, visits."""
    rows = in_period(record_rows(actor), start, end)
    document = RecordDocument(patient=patient, start=start, end=end)
    document.problems = _newest(rows.filter(current_rule("problem")), SUMMARY_CAP)
    document.medications = _newest(rows.filter(current_rule("medication")), SUMMARY_CAP)
    document.allergies = _newest(rows.filter(current_rule("allergy")), SUMMARY_CAP)
    document.immunizations = _newest(rows.filter(kind="immunization"), SUMMARY_CAP)
    document.visits = _newest(rows.filter(kind="visit"), SUMMARY_CAP)
    # One row more than the cap tells whether there are more than the summary shows.
    results = list(_result_rows(actor, start, end)[: SUMMARY_RESULTS_CAP + 1])
    document.results_capped = len(results) > SUMMARY_RESULTS_CAP
    document.results = _result_entries(results[:SUMMARY_RESULTS_CAP])
    return document


# The results as CSV ------------------------------------------------------------------------------------


def csv_day(row: FhirResource) -> str:
    """A result's date for a spreadsheet, as precisely as its source gave it: 2026, 2026-03, 2026-03-05 or a time."""
    moment = row.effective_at
    if moment is None:
        return ""
    precision = (row.details or {}).get("date_precision", "")
    day = moment.astimezone(UTC)
    if precision == "year":
        return f"{day.year:04d}"
    if precision == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if precision:
        return day.date().isoformat()
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _text(value: object) -> str:
    """A cell of text from the record: cut to what a spreadsheet holds, never read as a formula."""
    return safe_cell(str(value)[:CSV_CELL_MAX])


def csv_header() -> list[str]:
    return [
        gettext("Date"),
        gettext("Test"),
        gettext("LOINC code"),
        gettext("Value"),
        gettext("Unit"),
        gettext("Usual range"),
        gettext("Flag"),
        gettext("Status"),
        gettext("Source"),
    ]


def csv_row(entry: ResultEntry) -> list[str]:
    row = entry.row
    value = number_text(row.value_number)  # a number the portal wrote: never a formula, a minus sign stays
    return [
        csv_day(row),
        _text(row.display or gettext("Unnamed test")),
        _text(entry.loinc),
        value if value else _text(row.value_text),
        _text(row.unit),
        _text(range_text(row)),
        _text(entry.flag),
        _text(row.status),
        _text("; ".join(entry.item.sources)),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def results_csv(actor: Actor, *, start: date | None = None, end: date | None = None) -> Iterator[str]:
    """The period's results as CSV lines: a byte order mark first (spreadsheet apps then read UTF-8), one row
    per result. Runs in the language and time zone active when called (the response streams after the view)."""
    language, zone = translation.get_language(), timezone.get_current_timezone()

    def lines() -> Iterator[str]:
        with translation.override(language), timezone.override(zone):
            writer = csv.writer(_Echo())
            yield "\ufeff" + writer.writerow(csv_header())
            for entry in result_entries(actor, start=start, end=end):
                yield writer.writerow(csv_row(entry))

    return lines()
