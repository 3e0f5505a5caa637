"""Staff-side data, scoped by organization in one place.

A staff page works at a desk: one organization's (its staff see only what
belongs there) or the platform's (its admins see what no organization owns).
`scoped(actor, Model)` is the only way staff-side code reads a model's rows:
each model registers one rule saying which rows a desk may see, and a model
without a rule cannot be read from a desk at all (a programming error, loud
in tests). The staff-page declaration (accounts.audience) puts the desk on
the actor; nothing else does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.db import models
from django.db.models import QuerySet

from accounts.models import AuditEvent, Enrollment, Membership, Organization, Patient
from accounts.models.audit import Basis

if TYPE_CHECKING:
    from accounts.actors import Actor

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Desk:
    """Where a staff member works on this page: an organization, or the platform (organization None)."""

    organization: Organization | None

    @property
    def is_platform(self) -> bool:
        return self.organization is None

    @property
    def basis(self) -> str:
        return Basis.PLATFORM if self.is_platform else Basis.STAFF


Rule = Callable[[QuerySet, Desk], QuerySet]
_RULES: dict[type[models.Model], Rule] = {}


class UnscopedModelError(LookupError):
    """A model read from a desk without a registered scoping rule."""


def staff_scope_rule(model: type[M]) -> Callable[[Rule], Rule]:
    """Registers the one rule for `model`: the rows a desk may see."""

    def register(rule: Rule) -> Rule:
        if model in _RULES:
            raise ValueError(f"{model.__name__} already has a scoping rule.")
        _RULES[model] = rule
        return rule

    return register


def scoped(actor: Actor, model: type[M]) -> QuerySet[M]:
    """The rows of `model` the actor's desk may see; none when the actor is at no desk."""
    try:
        rule = _RULES[model]
    except KeyError as error:
        raise UnscopedModelError(f"{model.__name__} has no staff scoping rule (accounts.scoping).") from error
    queryset: QuerySet[M] = model._default_manager.all()
    if actor.desk is None:
        return queryset.none()
    return rule(queryset, actor.desk)


def scoped_models() -> frozenset[type[models.Model]]:
    return frozenset(_RULES)


# The core's own models ---------------------------------------------------------------------------
# The platform's desk cares for people enrolled nowhere; an organization's for its own patients.


@staff_scope_rule(Patient)
def _patients(queryset: QuerySet[Patient], desk: Desk) -> QuerySet[Patient]:
    if desk.organization is None:
        return queryset.filter(enrollments__isnull=True)
    return queryset.filter(enrollments__organization=desk.organization)


@staff_scope_rule(Enrollment)
def _enrollments(queryset: QuerySet[Enrollment], desk: Desk) -> QuerySet[Enrollment]:
    if desk.organization is None:
        return queryset
    return queryset.filter(organization=desk.organization)


@staff_scope_rule(Membership)
def _memberships(queryset: QuerySet[Membership], desk: Desk) -> QuerySet[Membership]:
    if desk.organization is None:
        return queryset
    return queryset.filter(organization=desk.organization)


@staff_scope_rule(AuditEvent)
def _audit_events(queryset: QuerySet[AuditEvent], desk: Desk) -> QuerySet[AuditEvent]:
    """Events about the desk's patients (the platform sees every event)."""
    if desk.organization is None:
        return queryset
    return queryset.filter(subject_patient__enrollments__organization=desk.organization)
