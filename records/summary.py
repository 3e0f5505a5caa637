"""The record's home page: what is new, what is current, what is due, what needs the person.

A fixed number of queries whatever the size of the record: each part is one
query with a limit, projections only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from accounts.actors import Actor, Scope
from accounts.selectors import previous_sign_in
from records.care_gaps import CareItem
from records.models import Connection, ConnectionStatus, JournalEntry
from records.patient_data import SUMMARY_QUESTIONS, MeasurementLine, latest_readings, measurement_lines, open_questions
from records.preventive_care import preventive_care
from records.results import ResultLine, result_lines
from records.sections import RecordItem, current_rule, merge_copies, record_rows
from records.selectors import held_results

if TYPE_CHECKING:
    from django.db.models import QuerySet

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


def _current(actor: Actor, kind: str) -> list[RecordItem]:
    rows = record_rows(actor).filter(current_rule(kind))
    return merge_copies(rows.order_by("-effective_at", "-pk")[: CURRENT_LIMIT * 3])[:CURRENT_LIMIT]


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
    if since is not None:
        fresh = (
            record_rows(actor)
            .filter(first_seen_at__gt=since)
            .exclude(kind__in=("patient", "practitioner", "organization", "location"))
        )
        summary.new = merge_copies(fresh.order_by("-first_seen_at", "-pk")[: NEW_LIMIT * 3])[:NEW_LIMIT]
    summary.problems = _current(actor, "problem")
    summary.medications = _current(actor, "medication")
    summary.allergies = _current(actor, "allergy")
    summary.vitals = result_lines(actor, "vital", cap=300, limit=VITALS_LIMIT)
    upcoming = record_rows(actor).filter(kind="appointment", effective_at__gte=timezone.now())
    upcoming = upcoming.exclude(status__in=("cancelled", "noshow", "entered-in-error"))
    summary.upcoming = merge_copies(upcoming.order_by("effective_at", "pk")[:UPCOMING_LIMIT])
    summary.connections = list(connections_needing_the_person(actor))
    summary.care = preventive_care(actor)
    if actor.acts_for_self and actor.subject is not None and actor.subject.results_after_discussion:
        summary.waiting = len(merge_copies(held_results(actor).select_related("source")[:WAITING_CAP]))
    summary.questions = open_questions(actor, limit=SUMMARY_QUESTIONS)
    summary.home_readings = measurement_lines(actor, latest_readings(actor))
    return summary
