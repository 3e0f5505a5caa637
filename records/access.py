"""Access helpers for records: each answers 404 alike for "missing" and "not yours"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from accounts.access import access_subject, parse_int_id, parse_uuid
from accounts.actors import Actor, Scope
from accounts.models import Patient
from proxy.access import access_subject_by_id
from proxy.models import ProxyGrant
from records.models import (
    Connection,
    HealthSystem,
    HomeMeasurement,
    ImportRun,
    JournalEntry,
    SensitiveShare,
    Sensitivity,
    ShareLink,
    ShareOpening,
)
from records.patient_data import journal_visible_to, measurements_visible_to
from records.privacy import helpers_for_private_items, own_record
from records.selectors import held_results, visible_to

if TYPE_CHECKING:
    from records.models import FhirResource


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


def connections_visible_to(actor: Actor) -> QuerySet[Connection]:
    """The connections of the patient the actor acts for, with the records scope."""
    patient = access_subject(actor, Scope.RECORDS)
    return Connection.objects.filter(source__patient=patient).select_related("health_system")


def access_health_system_by_id(actor: Actor, system_id: object) -> HealthSystem:
    """A health system of the directory that can be connected now (one with a client id)."""
    access_subject(actor, Scope.RECORDS)
    system = HealthSystem.objects.exclude(client_id="").filter(pk=parse_int_id(system_id)).first()
    if system is None:
        raise Http404
    return system


def import_runs_visible_to(actor: Actor) -> QuerySet[ImportRun]:
    """The import runs of the patient the actor acts for, with the records scope.

    A run tells which source records came from and how many arrived, sensitive items included; so someone
    from whom sensitive items stay hidden (`hide_sensitive`) sees only the runs they asked for themselves.
    """
    if actor.subject is None or Scope.RECORDS not in actor.scopes or actor.user is None:
        return ImportRun.objects.none()
    runs = ImportRun.objects.filter(source__patient=actor.subject)
    if actor.hide_sensitive:
        runs = runs.filter(requested_by=actor.user)
    return runs


def access_import_run_by_id(actor: Actor, run_id: object) -> ImportRun:
    """An import run (an upload or a sync) of the patient the actor acts for, with the records scope."""
    run = import_runs_visible_to(actor).select_related("source").filter(pk=parse_int_id(run_id)).first()
    if run is None:
        raise Http404
    return run


def access_resource_by_id(actor: Actor, resource_id: object) -> FhirResource:
    """An item of the record the actor may read (records scope; sensitive ones only where they are shown)."""
    row = visible_to(actor).select_related("source").filter(pk=parse_int_id(resource_id)).first()
    if row is None:
        raise Http404
    return row


def access_result_by_id(actor: Actor, resource_id: object) -> FhirResource:
    """A test result or measurement (an Observation) the actor may read, with its source's health system."""
    row = (
        visible_to(actor)
        .select_related("source__health_system")
        .filter(pk=parse_int_id(resource_id), resource_type="Observation")
        .first()
    )
    if row is None:
        raise Http404
    return row


def share_links_visible_to(actor: Actor) -> QuerySet[ShareLink]:
    """The shared links of the patient the actor acts for, with the records scope.

    A link shows its key again (its QR code), so it opens what it holds: someone from whom sensitive items
    stay hidden (`hide_sensitive`) sees only the links they made themselves, which hold none.
    """
    if actor.subject is None or Scope.RECORDS not in actor.scopes or actor.user is None:
        return ShareLink.objects.none()
    links = ShareLink.objects.filter(patient=actor.subject)
    if actor.hide_sensitive:
        links = links.filter(created_by=actor.user, made_hiding_sensitive=True)
    return links


OPENINGS_SHOWN = 200  # a shared link's openings listed, the newest (its page and the API alike)


def recent_openings(link: ShareLink) -> tuple[list[ShareOpening], bool]:
    """The newest openings of a link (at most OPENINGS_SHOWN), and whether older ones exist."""
    openings = list(link.openings.order_by("-at", "-pk")[:OPENINGS_SHOWN])
    return openings, len(openings) == OPENINGS_SHOWN


def access_share_link_by_id(actor: Actor, link_id: object) -> ShareLink:
    """A shared link of the patient the actor acts for, that the actor may see (see share_links_visible_to)."""
    link = share_links_visible_to(actor).select_related("patient").filter(pk=parse_int_id(link_id)).first()
    if link is None:
        raise Http404
    return link


def access_journal_entry_by_id(actor: Actor, entry_id: object) -> JournalEntry:
    """An entry of the journal of the person the actor acts for, with the records scope.

    Reading is enough to get it; changing it is for its author or the patient (records.patient_actions).
    """
    entry = journal_visible_to(actor).select_related("patient").filter(pk=parse_int_id(entry_id)).first()
    if entry is None:
        raise Http404
    return entry


def access_home_measurement_by_id(actor: Actor, measurement_id: object) -> HomeMeasurement:
    """A home measurement of the person the actor acts for, with the records scope."""
    reading = measurements_visible_to(actor).select_related("patient").filter(pk=parse_int_id(measurement_id)).first()
    if reading is None:
        raise Http404
    return reading


# The patient's privacy choices (records.privacy): only the patient, acting for themselves.


def access_own_record_by_id(actor: Actor, patient_id: object) -> Patient:
    """The record an API path names, when it is the caller's own (records scope); anyone else, helpers too, 404s."""
    access_subject_by_id(actor, patient_id)
    return own_record(actor)


def access_private_item_helper_by_id(actor: Actor, grant_id: object) -> ProxyGrant:
    """One of those helpers, by the id a form names; any other id is a 404."""
    pk = parse_uuid(grant_id)
    for grant in helpers_for_private_items(actor):
        if grant.pk == pk:
            return grant
    raise Http404


def access_private_item_by_id(actor: Actor, resource_id: object) -> FhirResource:
    """A sensitive item of the patient's own record."""
    own_record(actor)
    row = (
        visible_to(actor)
        .exclude(sensitivity=Sensitivity.NORMAL)
        .select_related("source")
        .filter(pk=parse_int_id(resource_id))
        .first()
    )
    if row is None:
        raise Http404
    return row


def access_private_item_share_by_id(actor: Actor, share_id: object) -> SensitiveShare:
    """One of the patient's choices to show an item or a kind of item to a helper."""
    patient = own_record(actor)
    share = (
        SensitiveShare.objects.select_related("grant__grantee", "resource")
        .filter(pk=parse_int_id(share_id), patient=patient)
        .first()
    )
    if share is None:
        raise Http404
    return share


def access_waiting_result_by_id(actor: Actor, resource_id: object) -> FhirResource:
    """A sensitive result of the patient's that waits until they choose to see it."""
    row = held_results(actor).select_related("source").filter(pk=parse_int_id(resource_id)).first()
    if row is None:
        raise Http404
    return row
