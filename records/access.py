"""Access helpers for records: each answers 404 alike for "missing" and "not yours"."""

from __future__ import annotations

from django.http import Http404

from accounts.access import access_subject, parse_int_id
from accounts.actors import Actor, Scope
from records.models import Connection, HealthSystem


def access_connection_by_id(actor: Actor, connection_id: object) -> Connection:
    """A connection of the patient the actor acts for, with the records scope."""
    patient = access_subject(actor, Scope.RECORDS)
    connection = (
        Connection.objects.select_related("health_system", "source", "source__patient")
        .filter(pk=parse_int_id(connection_id), source__patient=patient)
        .first()
    )
    if connection is None:
        raise Http404
    return connection


def access_health_system_by_id(actor: Actor, system_id: object) -> HealthSystem:
    """A health system of the directory that can be connected now (one with a client id)."""
    access_subject(actor, Scope.RECORDS)
    system = HealthSystem.objects.exclude(client_id="").filter(pk=parse_int_id(system_id)).first()
    if system is None:
        raise Http404
    return system
