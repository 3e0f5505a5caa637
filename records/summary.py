"""The record's home page: what is new, what is current, what is due, what needs the person.

A fixed number of queries whatever the size of the record: each part is read
with a limit, projections only. The lists of the record's rows (new, current
problems, medicines and allergies, upcoming visits, results waiting) are one
query on Postgres (UNION ALL), one each on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import IntegerField, Value
from django.utils import timezone

from accounts.actors import Actor, Scope
from accounts.selectors import previous_sign_in
from records.care_gaps import CareItem
from records.models import Connection, ConnectionStatus, JournalEntry
from records.patient_data import SUMMARY_QUESTIONS, MeasurementLine, latest_readings, measurement_lines, open_questions
from records.preventive_care import preventive_care
from records.results import ResultLine, result_lines
from records.sections import LIST_FIELDS, REFERENCE_KINDS, RecordItem, current_rule, merge_copies, record_rows
from records.selectors import held_results

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.db.models import QuerySet

    from records.models import FhirResource

NEW_LIMIT = 10
CURRENT_LIMIT = 12
VITALS_LIMIT = 8
UPCOMING_LIMIT = 5

WAITING_CAP = 200  # private results waiting to be seen, counted as items (copies from several sources are one)


@dataclass
class RecordSummary:
    since: datetime | None  # the previous visit ("new since"), None on a first visit
    new: list[RecordItem] = field(default_factory=list)
    problems: list[RecordItem] = field(default_factory=list)
    medications: list[RecordItem] = field(default_factory=list)
    allergies: list[RecordItem] = field(default_factory=list)
    vitals: list[ResultLine] = field(default_factory=list)
    upcoming: list[RecordItem] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)  # those that need the person
    care: list[CareItem] = field(default_factory=list)  # preventive care, due first
    waiting: int = 0  # private results waiting until the patient chooses to see them (records.privacy)
    # "Your journal": what the person wrote down themselves (kept apart from the health systems' records)
    questions: list[JournalEntry] = field(default_factory=list)  # still to ask at the next visit
    home_readings: list[MeasurementLine] = field(default_factory=list)  # the newest of each kind

    @property
    def is_empty(self) -> bool:
        return not (self.new or self.problems or self.medications or self.allergies or self.vitals or self.upcoming)


@dataclass(frozen=True)
class _Part:
    """One of the summary's lists of rows: which rows, in what order, how many at most."""

    rows: QuerySet[FhirResource]
    order: tuple[str, ...]  # field names, "-" for descending (as order_by takes them)
    limit: int


def _read_parts(parts: dict[str, _Part]) -> dict[str, list[FhirResource]]:
    """Each part's rows, in its own order.

    One query where the database orders and limits inside a compound select (Postgres): the parts joined by
    UNION ALL, each row tagged with its part. Elsewhere (SQLite cannot) one query per part.
    """
    names = list(parts)
    tagged = [
        part.rows.annotate(summary_part=Value(number, IntegerField())).order_by(*part.order)[: part.limit]
        for number, part in enumerate(parts.values())
    ]
    features = connections[tagged[0].db].features
    if len(tagged) == 1 or not features.supports_slicing_ordering_in_compound:
        return {name: list(rows) for name, rows in zip(names, tagged, strict=True)}
    found: dict[str, list[FhirResource]] = {name: [] for name in names}
    for row in tagged[0].union(*tagged[1:], all=True):
        found[names[row.summary_part]].append(row)
    # A UNION ALL promises no order: each part's rows are put back in the part's order as the database sorts
    # (every order ends with the id, so there are no ties), whatever order they arrived in.
    for name, part in parts.items():
        for term in reversed(part.order):  # stable sorts, the last key first
            key = _sort_key(term.removeprefix("-"), nulls_largest=features.nulls_order_largest)
            found[name].sort(key=key, reverse=term.startswith("-"))
    return found


def _sort_key(name: str, *, nulls_largest: bool) -> Callable[[FhirResource], tuple[bool, Any]]:
    """A row's field as the database orders it: NULL after every value where NULL is the largest (Postgres)."""

    def key(row: FhirResource) -> tuple[bool, Any]:
        value = getattr(row, name)
        return (nulls_largest, 0) if value is None else (not nulls_largest, value)

    return key


def connections_needing_the_person(actor: Actor) -> QuerySet[Connection]:
    return Connection.objects.filter(
        source__patient=actor.subject, status=ConnectionStatus.NEEDS_REAUTHORIZATION
    ).select_related("health_system")


def record_summary(actor: Actor) -> RecordSummary:
    """The summary of the record the actor acts for (the view's declaration checked the records scope)."""
    since = previous_sign_in(actor.user)
    summary = RecordSummary(since=since)
    if actor.subject is None or Scope.RECORDS not in actor.scopes:
        return summary
    rows = record_rows(actor)
    parts: dict[str, _Part] = {}
    if since is not None:
        fresh = rows.filter(first_seen_at__gt=since).exclude(kind__in=REFERENCE_KINDS)
        parts["new"] = _Part(fresh, ("-first_seen_at", "-pk"), NEW_LIMIT * 3)
    for kind in ("problem", "medication", "allergy"):
        parts[kind] = _Part(rows.filter(current_rule(kind)), ("-effective_at", "-pk"), CURRENT_LIMIT * 3)
    upcoming = rows.filter(kind="appointment", effective_at__gte=timezone.now())
    upcoming = upcoming.exclude(status__in=("cancelled", "noshow", "entered-in-error"))
    parts["upcoming"] = _Part(upcoming, ("effective_at", "pk"), UPCOMING_LIMIT)
    if actor.acts_for_self and actor.subject.results_after_discussion:
        # Counted, not shown: any WAITING_CAP of them (projections only, as the other parts).
        waiting = held_results(actor).select_related("source").only(*LIST_FIELDS)
        parts["waiting"] = _Part(waiting, (), WAITING_CAP)
    found = _read_parts(parts)
    if since is not None:
        summary.new = merge_copies(found["new"])[:NEW_LIMIT]
    summary.problems = merge_copies(found["problem"])[:CURRENT_LIMIT]
    summary.medications = merge_copies(found["medication"])[:CURRENT_LIMIT]
    summary.allergies = merge_copies(found["allergy"])[:CURRENT_LIMIT]
    summary.upcoming = merge_copies(found["upcoming"])
    if "waiting" in parts:
        summary.waiting = len(merge_copies(found["waiting"]))
    summary.vitals = result_lines(actor, "vital", cap=300, limit=VITALS_LIMIT)
    summary.connections = list(connections_needing_the_person(actor))
    summary.care = preventive_care(actor)
    summary.questions = open_questions(actor, limit=SUMMARY_QUESTIONS)
    summary.home_readings = measurement_lines(actor, latest_readings(actor))
    return summary
