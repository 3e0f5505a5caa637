"""The staff side's read rules (accounts.scoping): an organization's desk sees its own scheduling rows only.

The platform's desk sees none of them: clinics keep their own schedules.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet

from accounts.scoping import Desk, staff_scope_rule
from scheduling.models import (
    Appointment,
    AvailabilityException,
    CheckIn,
    ClosedDay,
    FormResponse,
    Location,
    Provider,
    SchedulingPolicy,
    VisitType,
    WeeklyAvailability,
)


def _of_the_desk(path: str) -> object:
    def rule(queryset: QuerySet[Model], desk: Desk) -> QuerySet[Model]:
        return queryset.none() if desk.organization is None else queryset.filter(**{path: desk.organization})

    return rule


for _model, _path in (
    (SchedulingPolicy, "organization"),
    (ClosedDay, "organization"),
    (Location, "organization"),
    (Provider, "organization"),
    (VisitType, "organization"),
    (Appointment, "organization"),
    (WeeklyAvailability, "provider__organization"),
    (AvailabilityException, "provider__organization"),
    (CheckIn, "appointment__organization"),
    (FormResponse, "appointment__organization"),
):
    staff_scope_rule(_model)(_of_the_desk(_path))  # type: ignore[arg-type]
