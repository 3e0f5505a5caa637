"""Preventive care due for the people an actor acts for, computed from their visible records.

The rules live in records.care_gaps (pure); this module reads what they need through the
records selector, in one query whatever the number of people: the items whose codes some
rule counts, and the person's gender from their Patient resource (none: no sex-specific
screening is suggested, and the page says to ask the care team).
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from django.db import connections
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, QuerySet, Value, Window
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import get_language

from accounts.actors import Actor, Scope
from records.care_gaps import RULES, CareEvent, CareItem, Rule, SeriesRule, care_gaps
from records.selectors import visible_for_subjects, visible_to

if TYPE_CHECKING:
    from accounts.models import Patient
    from proxy.access import Subject
    from records.models import FhirResource


def _codes_counted(rules: Iterable[Rule]) -> dict[str, frozenset[str]]:
    """Per code system, every code one of these rules counts (a rule compares the system exactly)."""
    codes: dict[str, set[str]] = defaultdict(set)
    for rule in rules:
        for system, values in rule.codes.items():
            codes[system].update(values)
            codes[system].update(value.lstrip("0") for value in values)  # CVX "03" is also sent as "3"
    return {system: frozenset(code for code in values if code) for system, values in codes.items()}


RULE_CODES = _codes_counted(RULES)
# The items any rule counts, by system and code (so that the database reads them off its code index). A code
# of one system that some rule counts in another is read too (a few rows at most): the rules match each code in
# its own system (records.care_gaps), and the query stays short to build.
ALL_RULE_CODES = sorted(set().union(*RULE_CODES.values()))
# How many of the newest items of a code are read. A series counts its doses (up to 5, each maybe from five
# sources); the other rules look at the newest day alone (its copies from five sources: the source named is
# the first by name among them), so a blood pressure taken at every visit for years is read as its latest few.
SERIES_PER_CODE = 25
LATEST_PER_CODE = 5
_SERIES_CODES = _codes_counted(rule for rule in RULES if isinstance(rule, SeriesRule))
_SERIES_SEEK = reduce(
    operator.or_, (Q(code_system=system, code__in=sorted(codes)) for system, codes in sorted(_SERIES_CODES.items()))
)
# Every (system, code) some rule counts, with how many of its newest items are read: for the per-code read on
# Postgres, sent as three arrays (the person's id is sent once, not once per code: the statement stays short).
RULE_CODES_KEPT = sorted(
    (system, code, SERIES_PER_CODE if code in _SERIES_CODES.get(system, frozenset()) else LATEST_PER_CODE)
    for system, codes in RULE_CODES.items()
    for code in codes
)
RULE_SYSTEMS = sorted(RULE_CODES)
# The systems by their number in RULE_SYSTEMS (from 1, as Postgres counts an array's items): a URL once, not per code.
_RULE_COLUMNS = (
    [RULE_SYSTEMS.index(system) + 1 for system, _code, _keep in RULE_CODES_KEPT],
    [code for _system, code, _keep in RULE_CODES_KEPT],
    [keep for _system, _code, keep in RULE_CODES_KEPT],
)
PER_CODE_HEAD = (
    "SELECT newest.pk FROM unnest(%s::uuid[]) AS person(patient) "
    "CROSS JOIN unnest(%s::int[], %s::text[], %s::int[]) AS wanted(system, code, keep) CROSS JOIN LATERAL ("
)


class CareRow(NamedTuple):
    patient_id: UUID
    kind: str
    code_system: str
    code: str
    effective_at: datetime | None
    gender: str | None  # of a Patient resource; None on the other rows
    source: str


def _newest_of_each_code(rows: QuerySet[FhirResource], patient_ids: list[UUID], today: date) -> Any:
    """The ids of each person's newest dated items of every rule code, none after today (the rules ignore them).

    On Postgres one index seek per person and code (a LATERAL read off the code index, however long the
    record): the rule codes as arrays (system, code, how many), each code's newest items read in index order,
    SERIES_PER_CODE of a series' codes and LATEST_PER_CODE of the others'. Elsewhere a window over the items of
    the rule codes (SQLite has no LATERAL).
    """
    # The rules compare days (the UTC day of each moment, as care_gaps reads it): before the next day begins.
    until = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)
    dated = rows.filter(effective_at__isnull=False, effective_at__lt=until)
    if connections[rows.db].vendor == "postgresql":
        # The only text put into the SQL is what the ORM compiled from the selector's queryset; values are parameters.
        return RawSQL(*_per_code_read(dated, patient_ids))  # noqa: S611
    # The window's order is an expression, not the bare column: ordered by the bare column, the planner walks the
    # person's whole code index in its order to skip a sort; this way it seeks each rule code and sorts what it found.
    newest = Window(
        RowNumber(),
        partition_by=[F("patient_id"), F("code_system"), F("code")],
        order_by=[ExpressionWrapper(F("effective_at") + Value(timedelta(0)), DateTimeField()).desc(), F("pk").desc()],
    )
    seek = Q(code_system__in=sorted(RULE_CODES), code__in=ALL_RULE_CODES)
    kept = Q(newest__lte=LATEST_PER_CODE) | (Q(newest__lte=SERIES_PER_CODE) & _SERIES_SEEK)
    return dated.filter(seek).annotate(newest=newest).filter(kept).values("pk")


def _per_code_read(dated: QuerySet[FhirResource], patient_ids: list[UUID]) -> tuple[str, tuple[Any, ...]]:
    """One LATERAL read: for each person and rule code, the ids of its newest items (as many as the code keeps)."""
    per_code = (
        dated.filter(
            patient_id=RawSQL("person.patient", ()),
            code_system=RawSQL("(%s::text[])[wanted.system]", (RULE_SYSTEMS,)),
            code=RawSQL("wanted.code", ()),
        )
        .order_by("-effective_at", "-pk")
        .values("pk")
    )
    inner, params = per_code.query.sql_with_params()
    people = [str(patient) for patient in patient_ids]
    return f"{PER_CODE_HEAD}{inner} LIMIT wanted.keep) AS newest", (people, *_RULE_COLUMNS, *params)


def _rows(rows: QuerySet[FhirResource], patient_ids: list[UUID], today: date) -> list[CareRow]:
    """The items any rule counts (dated), and the Patient resources that give the person's gender.

    Of each code, only the newest few items: a rule looks at the latest one, or counts the doses of a series
    (a few, each maybe from several sources), so the read does not grow with the record.
    """
    counted = _newest_of_each_code(rows, patient_ids, today)
    # Only the gender out of the details (a counted item's details are not read at all); a Patient resource's
    # source is not needed (nor joined: the planner, expecting many, would hash every source in the database).
    fields = ("patient_id", "kind", "code_system", "code", "effective_at", "gender", "label")
    gender = KT("details__gender")
    wanted = (
        rows.filter(pk__in=counted)
        .annotate(gender=gender, label=F("source__label"))
        .values_list(*fields)
        .union(
            rows.filter(kind="patient").annotate(gender=gender, label=Value("")).values_list(*fields),
            all=True,
        )
    )
    return [CareRow(*values) for values in wanted]


def _assess(patient: Patient, rows: Iterable[CareRow], today: date, language: str) -> list[CareItem]:
    events: list[CareEvent] = []
    gender = ""
    for row in rows:
        if row.kind == "patient":
            gender = gender or str(row.gender or "")
        elif row.effective_at is not None:
            when = row.effective_at.date()
            events.append(
                CareEvent(kind=row.kind, code_system=row.code_system, code=row.code, when=when, source=row.source)
            )
    return care_gaps(
        birth_date=patient.birth_date, sex=gender or "unknown", today=today, events=events, language=language
    )


def preventive_care(actor: Actor, *, today: date | None = None) -> list[CareItem]:
    """The subject's preventive care, due first (empty without the records scope)."""
    if actor.subject is None or Scope.RECORDS not in actor.scopes:
        return []
    day = today or timezone.localdate()
    return _assess(actor.subject, _rows(visible_to(actor), [actor.subject.pk], day), day, get_language() or "en")


def preventive_care_for_subjects(
    actor: Actor, subjects: list[Subject], *, today: date | None = None
) -> dict[UUID, list[CareItem]]:
    """The same for several people at once (the family view), in one query."""
    day = today or timezone.localdate()
    by_patient: dict[UUID, list[CareRow]] = defaultdict(list)
    for row in _rows(visible_for_subjects(actor, subjects), [subject.patient.pk for subject in subjects], day):
        by_patient[row.patient_id].append(row)
    language = get_language() or "en"
    return {
        subject.patient.pk: _assess(subject.patient, by_patient.get(subject.patient.pk, []), day, language)
        for subject in subjects
        if Scope.RECORDS in subject.scopes
    }
