"""One table: every URL of the portal, every method it accepts, every persona, the answer each must get.

The table is checked against the URL resolver (a new URL without a row fails) and against the
views themselves (a method a row leaves out must answer 405 to a persona who may use the URL).
Each case runs in a fresh world: refused cases must change no row of any table (audit rows aside),
and allowed writes must show their effect. 404 is the answer for anything outside a persona's
reach, the same as for something that does not exist; a caregiver whose grant has ended
(expired, revoked, the child turned 18) is refused (403) on every page but signing out and
the health checks.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Scope
from accounts.models import ApiToken, AuditEvent, Organization, Patient
from messaging.models import (
    FavoritePharmacy,
    Message,
    NotificationChoice,
    RefillReminderChoice,
    RefillRequest,
    RefillStatus,
    Thread,
    ThreadRead,
)
from proxy.access import resolve_actor
from proxy.middleware import ACTING_FOR_KEY
from proxy.models import AccessRequest, GrantStatus, ProxyGrant
from records import shlinks
from records.actions import create_share_link
from records.ingest import write_page
from records.models import (
    ConnectionStatus,
    EntryKind,
    FhirResource,
    HomeMeasurement,
    ImportRun,
    JournalEntry,
    MeasurementKind,
    QuestionState,
    RecordSource,
    ResultRelease,
    SensitiveShare,
    ShareLink,
    ShareOpening,
    ShareOutcome,
    SourceKind,
)
from tests.conftest import MATRIX_FEED, MATRIX_OFFER, PERSONAS, SMALL_PDF, World, create_token_for, sign_in
from tests.factories import UserFactory
from tests.messaging.refill_data import clinic_source, order
from tests.messaging.refill_data import store as store_medication
from tests.records.record_data import condition, lab
from tests.url_inventory import named_url_patterns

(ANON, PAT, CARE, STR, HERE, OTHER, OADM, PADM, UNVER, NOMFA,
 CG_FULL, CG_REC, CG_EXP, CG_REV, TEEN, ADULT,
 CG_MAN, ADM_OTHER, ADM_REQ, TOKEN_REV, BILL) = PERSONAS  # fmt: skip

EVERYONE = PERSONAS
ENDED = (CG_EXP, CG_REV, ADULT)  # sessions acting under grants that no longer hold: every page is refused
ACTIVE_PROXIES = (CG_FULL, CG_REC, TEEN)  # acting for someone with the records scope
WITH_OWN_RECORD = (PAT, CARE)
VERIFIED_STAFF = (HERE, OTHER, OADM, PADM, ADM_OTHER, ADM_REQ, BILL)
ADMINS_HERE = (OADM, ADM_REQ)
MANAGERS = (*WITH_OWN_RECORD, CG_FULL, TEEN, CG_MAN)  # may manage who has access to the record they act for
REFUSED = 403
TO_VERIFY = 302  # a staff member with a device who has not passed it yet is sent to the verification step
TO_LOGIN = 302

ENDED_EXEMPT = {"healthz", "readyz", "favicon", "account_logout"}


def expand(default: int, *exceptions: tuple[int, str | tuple[str, ...]]) -> dict[str, int]:
    """A persona -> status map: `default` for everyone but the listed (status, personas) exceptions."""
    table = dict.fromkeys(EVERYONE, default)
    for status, personas in exceptions:
        for persona in (personas,) if isinstance(personas, str) else personas:
            table[persona] = status
    return table


def signed_in(default: int, *exceptions: tuple[int, str | tuple[str, ...]]) -> dict[str, int]:
    """Pages behind a sign-in: visitors (and bearer-token callers, who have no session) go to the sign-in page."""
    return expand(default, (TO_LOGIN, (ANON, TOKEN_REV)), (TO_VERIFY, UNVER), *exceptions)


def staff(default_ok: tuple[str, ...], ok: int = 200, *exceptions: tuple[int, str | tuple[str, ...]]) -> dict[str, int]:
    """Staff pages: 404 for anyone who does not sit at the desk; no second factor yet: set it up first."""
    return signed_in(404, (302, NOMFA), (ok, default_ok), *exceptions)


def api(default: int, *exceptions: tuple[int, str | tuple[str, ...]]) -> dict[str, int]:
    """API calls: 401 without credentials, 403 for a session that has not passed its second factor."""
    return expand(default, (401, ANON), (REFUSED, (UNVER, TOKEN_REV)), *exceptions)


Kwargs = dict[str, Any] | Callable[[World], dict[str, Any]]
Body = dict[str, Any] | Callable[[World], dict[str, Any]] | None
Effect = Callable[[World, str], None]


@dataclass(frozen=True)
class Case:
    method: str
    statuses: dict[str, int]
    body: Body = None
    kind: str = "form"  # form | multipart | json
    ok: tuple[str, ...] = ()  # personas whose call must show `effect`; everyone else changes nothing
    effect: Effect | None = None


@dataclass(frozen=True)
class Row:
    kwargs: Kwargs
    cases: tuple[Case, ...]
    probe: str | None = None  # a persona who may use the URL (unlisted methods must answer 405 to them)
    extra: dict[str, Any] = field(default_factory=dict)


def get(statuses: dict[str, int]) -> Case:
    return Case("GET", statuses)


SIGNED_IN_WITHOUT_DEVICE = (PAT, CARE, STR, NOMFA, CG_FULL, CG_REC, TEEN, CG_MAN)
MAY_ENROL = SIGNED_IN_WITHOUT_DEVICE


def pending_authenticator(world: World, persona: str) -> None:
    assert world.user(persona).totpdevice_set.filter(confirmed=False).count() == 1


# Effects of allowed writes -------------------------------------------------------------------------------


def _rosa(world: World) -> Patient:
    return world.people["rosa"]


def grant_added(email: str) -> Effect:
    def check(world: World, persona: str) -> None:
        assert ProxyGrant.objects.filter(invitation__email=email, status=GrantStatus.PENDING).count() == 1

    return check


def grant_scopes_are(scopes: list[str]) -> Effect:
    def check(world: World, persona: str) -> None:
        world.grants[CG_REC].refresh_from_db()
        assert sorted(world.grants[CG_REC].scopes) == sorted(scopes)

    return check


def grant_revoked(world: World, persona: str) -> None:
    world.grants[CG_REC].refresh_from_db()
    assert world.grants[CG_REC].status == GrantStatus.REVOKED


def invitation_withdrawn(world: World, persona: str) -> None:
    assert world.invitation is not None
    world.invitation.refresh_from_db()
    assert world.invitation.status == GrantStatus.REVOKED


def request_decided(status: str) -> Effect:
    def check(world: World, persona: str) -> None:
        assert world.own_request is not None
        world.own_request.refresh_from_db()
        assert world.own_request.status == status

    return check


def org_request_decided(status: str) -> Effect:
    def check(world: World, persona: str) -> None:
        assert world.org_request is not None
        world.org_request.refresh_from_db()
        assert world.org_request.status == status

    return check


def request_filed(world: World, persona: str) -> None:
    assert AccessRequest.objects.filter(requester=world.user(persona), patient_family_name="Okafor").count() == 1


def connection_disconnected(world: World, persona: str) -> None:
    assert world.rosa_connection is not None
    world.rosa_connection.refresh_from_db()
    assert world.rosa_connection.status == ConnectionStatus.DISCONNECTED


def nothing_but_audit(world: World, persona: str) -> None:
    """A write whose only lasting trace is its audit row (a sync queued for the worker)."""


def token_made(world: World, persona: str) -> None:
    assert ApiToken.objects.filter(user=world.user(persona), name="Matrix token").count() == 1


def token_ended(world: World, persona: str) -> None:
    assert ApiToken.objects.get(name="Patient's token").revoked_at is not None


def own_record_started(world: World, persona: str) -> None:
    assert Patient.objects.filter(user=world.user(persona), family_name="Newrecord").count() == 1


def language_remembered(world: World, persona: str) -> None:
    user = world.user(persona)
    user.refresh_from_db()
    assert user.language == "es"


def policy_changed(world: World, persona: str) -> None:
    assert Organization.objects.get(slug="riverside").adolescent_from_age == 13


def upload_queued(world: World, persona: str) -> None:
    assert ImportRun.objects.filter(source__patient=_rosa(world)).count() == 1


def share_link_made(world: World, persona: str) -> None:
    made = ShareLink.objects.filter(patient=_rosa(world), label="Matrix link", created_by=world.user(persona))
    assert made.count() == 1


def share_link_revoked(world: World, persona: str) -> None:
    assert ShareLink.objects.get(label="Rosa's link").revoked_at is not None


def share_link_opened(world: World, persona: str) -> None:
    assert ShareOpening.objects.filter(recipient="Matrix viewer", outcome=ShareOutcome.OPENED).count() == 1


def journal_entry_added(world: World, persona: str) -> None:
    assert (
        JournalEntry.objects.filter(patient=_rosa(world), text="Matrix entry", author=world.user(persona)).count() == 1
    )


def journal_entry_changed(world: World, persona: str) -> None:
    assert JournalEntry.objects.get(patient=_rosa(world)).text == "Changed by the matrix"


def journal_entry_deleted(world: World, persona: str) -> None:
    assert not JournalEntry.objects.filter(patient=_rosa(world)).exists()


def question_asked(world: World, persona: str) -> None:
    assert JournalEntry.objects.get(patient=_rosa(world)).question_state == QuestionState.ASKED


def reading_added(world: World, persona: str) -> None:
    readings = HomeMeasurement.objects.filter(patient=_rosa(world), author=world.user(persona))
    assert [(r.systolic, r.diastolic) for r in readings] == [(131, 84)]


def reading_deleted(world: World, persona: str) -> None:
    assert not HomeMeasurement.objects.filter(patient=_rosa(world)).exists()


# Bodies -----------------------------------------------------------------------------------------------


def approve_rosa(world: World) -> dict[str, Any]:
    return {"decision": "approve", "patient": str(_rosa(world).pk), "scopes": [Scope.RECORDS]}


def pdf_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("proof.pdf", SMALL_PDF, content_type="application/pdf")


def access_request_body(world: World) -> dict[str, Any]:
    return {
        "patient_given_name": "Ada",
        "patient_family_name": "Okafor",
        "patient_birth_date": "2015-04-02",
        "relationship": "daughter",
        "legal_basis": "parent_of_minor",
        "requested_scopes": [Scope.RECORDS],
        "documents": [pdf_upload()],
    }


def fhir_upload(world: World) -> dict[str, Any]:
    resource = b'{"resourceType": "Observation", "id": "matrix-1", "status": "final", "code": {"text": "x"}}'
    return {
        "file": SimpleUploadedFile("observation.json", resource, content_type="application/json"),
        "label": "Matrix",
        "key": str(uuid.uuid4()),
        "subject": str(_rosa(world).pk),
    }


def patients_token(world: World) -> dict[str, Any]:
    row, _token = create_token_for(world.user(PAT))
    ApiToken.objects.filter(pk=row.pk).update(name="Patient's token")
    return {"token_id": row.pk}


def rosa_item(world: World, resource: dict[str, Any]) -> int:
    """One of Rosa's records, stored through the ingest path; its id for the URL."""
    source = world.rosa_connection.source
    write_page(source, [resource])
    return FhirResource.objects.get(source=source, resource_id=resource["id"]).pk


def alex_helper(world: World) -> ProxyGrant:
    """Someone who helps Alex (the patient persona) with the records scope, not shown private items."""
    user = world.users.get("alex_helper") or UserFactory(email="alex.helper@example.test")
    world.users["alex_helper"] = user
    grant, _created = ProxyGrant.objects.get_or_create(
        grantee=user,
        patient=world.patient_record,
        defaults={"legal_basis": "patient_consent", "scopes": [Scope.RECORDS], "status": GrantStatus.ACTIVE},
    )
    return grant


def alex_private_item(world: World, *, with_helper: bool = False) -> int:
    """One of Alex's private results (an HIV test), from a source of his own (and his helper, made first)."""
    if with_helper:
        alex_helper(world)
    source, _created = RecordSource.objects.get_or_create(
        patient=world.patient_record, label="Alex's clinic", defaults={"kind": SourceKind.UPLOAD}
    )
    resource = lab("alex-hiv", code="75622-1", display="HIV test", value=None, interpretation="NEG", security="HIV")
    write_page(source, [resource])
    return FhirResource.objects.get(source=source, resource_id="alex-hiv").pk


def alex_waiting_result(world: World) -> int:
    Patient.objects.filter(pk=world.patient_record.pk).update(results_after_discussion=True)
    return alex_private_item(world)


def alex_share(world: World) -> int:
    return SensitiveShare.objects.create(patient=world.patient_record, grant=alex_helper(world), category="hiv").pk


def results_wait_on(world: World, persona: str) -> None:
    assert Patient.objects.get(user=world.user(persona)).results_after_discussion


def result_released(world: World, persona: str) -> None:
    assert ResultRelease.objects.filter(resource__resource_id="alex-hiv").count() == 1


def item_shown(world: World, persona: str) -> None:
    assert SensitiveShare.objects.filter(grant=alex_helper(world), resource__resource_id="alex-hiv").count() == 1


def kind_shown(world: World, persona: str) -> None:
    assert SensitiveShare.objects.filter(grant=alex_helper(world), category="hiv").count() == 1


def share_stopped(world: World, persona: str) -> None:
    assert not SensitiveShare.objects.filter(grant=alex_helper(world)).exists()


def rosa_letter() -> dict[str, Any]:
    """A note of Rosa's with a PDF inside it, for the attachment's download."""
    pdf = base64.b64encode(SMALL_PDF).decode()
    return {
        "resourceType": "DocumentReference",
        "id": "rosa-letter",
        "status": "current",
        "content": [{"attachment": {"contentType": "application/pdf", "data": pdf, "title": "Letter"}}],
    }


def rosas_link(world: World) -> ShareLink:
    """A SMART Health Link to Rosa's record, made by her power of attorney."""
    actor = resolve_actor(world.user(CG_FULL), subject_id=str(_rosa(world).pk))
    return create_share_link(actor=actor, label="Rosa's link", days=7)


def share_link_form(world: World) -> dict[str, Any]:
    return {"label": "Matrix link", "days": "7", "content": "whole", "subject": str(_rosa(world).pk)}


def rosas_file(world: World) -> dict[str, Any]:
    link = rosas_link(world)
    return {"token": link.token, "ticket": shlinks.file_ticket(link.pk)}


def rosa_entry(kind: str = EntryKind.SYMPTOM) -> Callable[[World], dict[str, Any]]:
    """An entry of Rosa's journal, written by her power of attorney (caregiver_full); its id for the URL."""

    def kwargs(world: World) -> dict[str, Any]:
        entry = JournalEntry.objects.create(
            patient=_rosa(world), kind=kind, text="Dizzy after lunch", author=world.user(CG_FULL), author_name="Full"
        )
        return {"entry_id": entry.pk}

    return kwargs


def rosa_reading(world: World) -> dict[str, Any]:
    reading = HomeMeasurement.objects.create(
        patient=_rosa(world),
        kind=MeasurementKind.BLOOD_PRESSURE,
        systolic=140,
        diastolic=90,
        unit="mm[Hg]",
        author=world.user(CG_FULL),
        author_name="Full",
    )
    return {"measurement_id": reading.pk}


def _days_ago(days: int) -> str:
    """A day in the past wherever the reader is (their time zone decides what "today" is)."""
    return (timezone.now() - timedelta(days=days)).date().isoformat()


def journal_body(world: World) -> dict[str, Any]:
    return {
        "kind": EntryKind.QUESTION.value,
        "text": "Matrix entry",
        "happened_on": _days_ago(2),
        "subject": str(_rosa(world).pk),
    }


def edit_body(world: World) -> dict[str, Any]:
    return {"kind": "symptom", "text": "Changed by the matrix", "happened_on": _days_ago(2)}


def blood_pressure_body(world: World) -> dict[str, Any]:
    moment = timezone.now() - timedelta(days=1)  # a wall time in the past in every time zone
    return {
        "kind": "blood_pressure",
        "systolic": "131",
        "diastolic": "84",
        "measured_at": moment.strftime("%Y-%m-%dT%H:%M"),
        "subject": str(_rosa(world).pk),
    }


def _desk(slug: str | None) -> dict[str, Any]:
    return {"org_slug": slug} if slug else {}


# Refills: Rosa's lisinopril, prescribed at Riverside (refillable there); world.refill waits for her metformin.


def rosa_refillable(world: World) -> int:
    """Rosa's lisinopril from Riverside's own system (made before the call: the matrix's snapshot comes after)."""
    (made,) = store_medication(clinic_source(_rosa(world), world.org_here), order("rx-matrix"))
    return made.pk


def with_rosa_refillable(world: World) -> dict[str, Any]:
    """No URL kwargs: the body names the medicine (made here, before the snapshot)."""
    rosa_refillable(world)
    return {}


def rosa_path_with_refillable(world: World) -> dict[str, Any]:
    rosa_refillable(world)
    return rosa_path(world)


def rosa_refillable_id(world: World) -> int:
    return FhirResource.objects.get(resource_id="rx-matrix").pk


def refill_asked(world: World, persona: str) -> None:
    refill = RefillRequest.objects.get(medication_key="rxnorm:314076", status=RefillStatus.SENT)
    assert refill.patient == _rosa(world)
    assert refill.requested_by == world.user(persona)


def favorite_kept(world: World, persona: str) -> None:
    subject = _rosa(world) if persona == CG_FULL else world.patient_record
    assert FavoritePharmacy.objects.filter(patient=subject, pharmacy=world.pharmacy).count() == 1


def reminders_off(world: World, persona: str) -> None:
    choice = RefillReminderChoice.objects.get(patient=_rosa(world), medication_key="rxnorm:314076")
    assert choice.reminders_on is False


def refill_approved(world: World, persona: str) -> None:
    assert world.refill is not None
    world.refill.refresh_from_db()
    assert (world.refill.status, world.refill.quantity, world.refill.refills) == (RefillStatus.APPROVED, 30, 2)


REFILLS_PAGES = signed_in(404, (200, (*WITH_OWN_RECORD, CG_FULL, TEEN)))  # the refills scope, for anyone
SCHEDULING_PAGES = signed_in(404, (200, (*WITH_OWN_RECORD, CG_FULL, TEEN)))  # the scheduling scope, for anyone


def free_checkup(world: World) -> dict[str, Any]:
    """A free time at Riverside two days ahead, as the find page links it, with a reason."""
    from scheduling.selectors import open_slots

    assert world.visit_type is not None
    now = timezone.now()
    (slot,) = open_slots(world.visit_type, start=now + timedelta(days=2), end=now + timedelta(days=3), now=now, limit=1)
    return {
        "visit_type": world.visit_type.pk,
        "provider": slot.provider_id,
        "starts": slot.starts_at.isoformat(),
        "mode": "in_person",
        "location": slot.location_id,
        "reason": "Matrix",
    }


SCHEDULING_API = api(404, (200, CG_FULL), (404, TOKEN_REV))  # a path naming Rosa: the scheduling scope for her


def api_free_checkup(world: World) -> dict[str, Any]:
    body = free_checkup(world)
    return {**body, "reason": "Matrix"}


def feed_read(world: World, persona: str) -> None:
    """Whoever holds the address reads the caregiver's calendar: Rosa's access history says so."""
    assert AuditEvent.objects.filter(action="appointments.calendar_feed_read", subject_patient=_rosa(world)).exists()


def calendar_address_made(world: World, persona: str) -> None:
    from scheduling.models import CalendarFeed

    assert CalendarFeed.objects.filter(user=world.user(persona), revoked_at__isnull=True).count() == 1


def text_reminders_on(world: World, persona: str) -> None:
    user = world.user(persona)
    user.refresh_from_db()
    assert (user.phone, user.reminders_by_text) == ("+15550100199", True)


def rosa_checked_in(world: World, persona: str) -> None:
    from scheduling.models import CheckIn

    assert CheckIn.objects.get(appointment=world.rosa_appointment).medicines_unchanged


def rosa_form_filled(world: World, persona: str) -> None:
    from scheduling.models import FormResponse

    assert FormResponse.objects.get(appointment=world.rosa_appointment, form="phq-9").total == 0


def rosa_waits(world: World, persona: str) -> None:
    from scheduling.models import WaitlistEntry

    # The world's entry and the new one (joining again ends the earlier wish).
    assert WaitlistEntry.objects.filter(patient=_rosa(world), ended_at__isnull=True).count() == 1
    assert WaitlistEntry.objects.filter(patient=_rosa(world)).count() == 2


def offer_taken(world: World, persona: str) -> None:
    from scheduling.models import Appointment

    assert world.rosa_appointment is not None
    world.rosa_appointment.refresh_from_db()
    assert world.rosa_appointment.status == "cancelled"
    from scheduling.models import WaitlistOffer

    moved = Appointment.objects.get(patient=_rosa(world), status="booked")
    assert moved.starts_at == WaitlistOffer.objects.get(entry__patient=_rosa(world)).starts_at


def visit_booked(world: World, persona: str) -> None:
    from scheduling.models import Appointment

    subject = world.patient_record if persona == PAT else _rosa(world)
    assert Appointment.objects.filter(patient=subject, reason="Matrix", status="booked").count() == 1


def rosas_visit_cancelled(world: World, persona: str) -> None:
    assert world.rosa_appointment is not None
    world.rosa_appointment.refresh_from_db()
    assert world.rosa_appointment.status == "cancelled"


# The scheduling setup at Riverside: its admins change everything (the nurse, who only sees the schedule, may not).
SETUP_ADMINS = ADMINS_HERE
DESK_SCHEDULE = (HERE, *ADMINS_HERE)


def desk_booking_body(world: World) -> dict[str, Any]:
    """Rosa, booked from the desk into the free time the find page would offer her."""
    free = free_checkup(world)
    return {
        "patient": str(_rosa(world).pk),
        "visit_type": free["visit_type"],
        "mode": "in_person",
        "slot": f"{free['provider']}|{free['starts']}|{free['location']}",
        "reason": "Matrix",
    }


def api_desk_booking(world: World) -> dict[str, Any]:
    free = free_checkup(world)
    return {
        "patient": str(_rosa(world).pk),
        "visit_type": free["visit_type"],
        "provider": free["provider"],
        "starts": free["starts"],
        "mode": "in_person",
        "location": free["location"],
        "reason": "Matrix",
    }


def desk_booked(world: World, persona: str) -> None:
    from scheduling.models import Appointment

    assert Appointment.objects.filter(patient=_rosa(world), reason="Matrix", booked_by_staff=True).count() == 1


def _riverside_location(world: World) -> Any:
    from scheduling.models import Location

    return Location.objects.get(organization=world.org_here)


def _setup_path(**more: Callable[[World], Any]) -> Callable[[World], dict[str, Any]]:
    def kwargs(world: World) -> dict[str, Any]:
        return {"org_slug": "riverside", **{name: make(world) for name, make in more.items()}}

    return kwargs


def _saturday_hours(world: World) -> int:
    from scheduling.models import WeeklyAvailability

    assert world.provider is not None
    return WeeklyAvailability.objects.get(provider=world.provider, weekday=6).pk


def _time_away(world: World) -> int:
    from scheduling.models import AvailabilityException

    assert world.provider is not None
    start = timezone.now() + timedelta(days=20)
    return AvailabilityException.objects.create(
        provider=world.provider, starts_at=start, ends_at=start + timedelta(hours=4)
    ).pk


def _closed_day(world: World) -> int:
    from scheduling.models import ClosedDay

    return ClosedDay.objects.create(organization=world.org_here, day=timezone.localdate() + timedelta(days=30)).pk


def rules_saved(world: World, persona: str) -> None:
    from scheduling.models import SchedulingPolicy

    assert SchedulingPolicy.objects.get(organization=world.org_here).booking_horizon_days == 30


def location_added(world: World, persona: str) -> None:
    from scheduling.models import Location

    assert Location.objects.filter(organization=world.org_here, name="Matrix annex").count() == 1


def location_renamed(world: World, persona: str) -> None:
    assert _riverside_location(world).name == "Matrix annex"


def provider_added(world: World, persona: str) -> None:
    from scheduling.models import Provider

    assert Provider.objects.filter(organization=world.org_here, display_name="Dr. Matrix").count() == 1


def provider_renamed(world: World, persona: str) -> None:
    assert world.provider is not None
    world.provider.refresh_from_db()
    assert world.provider.display_name == "Dr. Matrix"


def hours_added(world: World, persona: str) -> None:
    from scheduling.models import WeeklyAvailability

    assert WeeklyAvailability.objects.filter(provider=world.provider, weekday=6, starts="19:00").count() == 1


def saturday_hours_gone(world: World, persona: str) -> None:
    from scheduling.models import WeeklyAvailability

    assert not WeeklyAvailability.objects.filter(provider=world.provider, weekday=6).exists()


def time_away_added(world: World, persona: str) -> None:
    from scheduling.models import AvailabilityException

    assert AvailabilityException.objects.filter(provider=world.provider, reason="Matrix").count() == 1


def time_away_gone(world: World, persona: str) -> None:
    from scheduling.models import AvailabilityException

    assert not AvailabilityException.objects.filter(provider=world.provider).exists()


def closed_day_added(world: World, persona: str) -> None:
    from scheduling.models import ClosedDay

    assert ClosedDay.objects.filter(organization=world.org_here, name="Matrix day").count() == 1


def closed_day_gone(world: World, persona: str) -> None:
    from scheduling.models import ClosedDay

    assert not ClosedDay.objects.filter(organization=world.org_here).exists()


def visit_type_added(world: World, persona: str) -> None:
    from scheduling.models import VisitType

    assert VisitType.objects.filter(organization=world.org_here, name="Matrix visit").count() == 1


def visit_type_renamed(world: World, persona: str) -> None:
    assert world.visit_type is not None
    world.visit_type.refresh_from_db()
    assert world.visit_type.name == "Matrix visit"


RULES_BODY = {"booking_horizon_days": "30", "min_notice_hours": "2", "cancel_cutoff_hours": "24", "phone": "555-0100"}


def visit_type_body(prefix: str = "") -> Callable[[World], dict[str, Any]]:
    def body(world: World) -> dict[str, Any]:
        assert world.provider is not None
        fields = {"name": "Matrix visit", "duration_minutes": "30", "modes": ["video"], "patients": "any",
                  "bookable_online": "on", "providers": [world.provider.pk], "is_active": "on"}  # fmt: skip
        return {prefix + name: value for name, value in fields.items()}

    return body


REFILL_API = api(404, (200, CG_FULL), (404, TOKEN_REV))  # a path naming Rosa: the refills scope for her
DESK_REFILLS = (HERE, *ADMINS_HERE)  # who works Riverside's inbox (its admins too); only the nurse decides


# The table ---------------------------------------------------------------------------------------------

SUBJECT_RECORDS = signed_in(404, (200, (*WITH_OWN_RECORD, *ACTIVE_PROXIES)))
RECORD_API = api(404, (200, (CG_FULL, CG_REC)), (404, TOKEN_REV))  # a path naming Rosa


def rosa_path(world: World) -> dict[str, Any]:
    return {"patient_id": _rosa(world).pk}


def rosa_path_and(**more: Callable[[World], Any]) -> Callable[[World], dict[str, Any]]:
    """Rosa's path with more kwargs, each made for the world (an item, a link, an entry)."""

    def kwargs(world: World) -> dict[str, Any]:
        return {**rosa_path(world), **{name: make(world) for name, make in more.items()}}

    return kwargs


def alex_path(world: World) -> dict[str, Any]:
    return {"patient_id": world.patient_record.pk}


def record_api(status: int, *exceptions: tuple[int, str | tuple[str, ...]]) -> dict[str, int]:
    """A call on Rosa's record: `status` for those acting for her with the records scope, 404 for everyone else."""
    return api(404, (status, (CG_FULL, CG_REC)), (404, TOKEN_REV), *exceptions)


# The patient's privacy choices, by API: the path names Alex, and only Alex gets past 404 (the revoked caregiver's
# token names Rosa in its Acting-For header: a different patient than the path, a 400).
def privacy_api(status: int) -> dict[str, int]:
    return api(404, (status, PAT), (400, TOKEN_REV))


def api_journal_body(world: World) -> dict[str, Any]:
    return {"kind": EntryKind.QUESTION.value, "text": "Matrix entry", "happened_on": _days_ago(2)}


# Messages (messaging scope): Rosa's conversation with Riverside's care team, and its file. -----------------

MATRIX_KEY = "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
WITH_MESSAGING = (*WITH_OWN_RECORD, CG_FULL, TEEN)  # acting for someone with the messaging scope
MESSAGING_PAGE = signed_in(404, (200, WITH_MESSAGING))
MESSAGES_API = api(404, (200, CG_FULL), (404, TOKEN_REV))  # a path naming Rosa


def messages_api(status: int) -> dict[str, int]:
    return api(404, (status, CG_FULL), (404, TOKEN_REV))


def rosas_thread(world: World) -> dict[str, Any]:
    return {"thread_id": world.threads["rosa"].pk}


def rosas_message_file(world: World) -> dict[str, Any]:
    return {"thread_id": world.threads["rosa"].pk, "attachment_id": world.attachment.pk}


def new_message_form(world: World) -> dict[str, Any]:
    return {
        "pool": world.pools["here"].pk,
        "topic": "care",
        "subject": "Matrix message",
        "body": "Sent by the matrix",
        "patient": str(_rosa(world).pk),
        "key": MATRIX_KEY,
    }


def new_message_json(world: World) -> dict[str, Any]:
    return {"care_team": world.pools["here"].pk, "topic": "care", "subject": "Matrix message", "body": "By the API"}


def thread_started(world: World, persona: str) -> None:
    started = Thread.objects.filter(patient=_rosa(world), subject="Matrix message", started_by=world.user(persona))
    assert started.count() == 1


def thread_read(world: World, persona: str) -> None:
    assert ThreadRead.objects.filter(thread=world.threads["rosa"], user=world.user(persona)).count() == 1


def reply_sent(world: World, persona: str) -> None:
    sent = Message.objects.filter(thread=world.threads["rosa"], body="Matrix reply", author=world.user(persona))
    assert sent.count() == 1


def emails_chosen(world: World, persona: str) -> None:
    assert NotificationChoice.objects.filter(user=world.user(persona), messages=True).count() == 1


# The staff inbox (messaging): Riverside's inbox roles here are the nurse and the two admins.
INBOX_HERE = (HERE, *ADMINS_HERE)
INBOX_API = api(404, (200, INBOX_HERE), (REFUSED, NOMFA))


def rosa_thread_at(slug: str = "riverside") -> Callable[[World], dict[str, Any]]:
    def kwargs(world: World) -> dict[str, Any]:
        return {"org_slug": slug, "thread_id": world.threads["rosa"].pk}

    return kwargs


def closed_rosa_thread(world: World) -> dict[str, Any]:
    from messaging.models import Thread, ThreadStatus

    Thread.objects.filter(pk=world.threads["rosa"].pk).update(status=ThreadStatus.CLOSED, reply_due_at=None)
    return rosa_thread_at()(world)


def rosas_thread_file(world: World) -> dict[str, Any]:
    return {**rosa_thread_at()(world), "attachment_id": world.attachment.pk}


def riverside_template(world: World) -> dict[str, Any]:
    from messaging.models import QuickReply

    template, _created = QuickReply.objects.get_or_create(
        organization=world.org_here, title="Lab follow-up", defaults={"body": "Your lab is fine."}
    )
    return {"org_slug": "riverside", "quick_reply_id": template.pk}


def staff_replied(world: World, persona: str) -> None:
    from messaging.models import Message, MessageKind

    assert Message.objects.filter(thread=world.threads["rosa"], author=world.user(persona), from_staff=True,
                                  kind=MessageKind.MESSAGE).count() == 1  # fmt: skip


def staff_noted(world: World, persona: str) -> None:
    from messaging.models import Message, MessageKind

    assert Message.objects.filter(thread=world.threads["rosa"], author=world.user(persona), kind=MessageKind.NOTE,
                                  body="Call her daughter").count() == 1  # fmt: skip


def read_by_staff(world: World, persona: str) -> None:
    """A staff read marks the thread read for that person (the unread markers), and changes nothing else."""
    from messaging.models import ThreadRead

    assert ThreadRead.objects.filter(thread=world.threads["rosa"], user=world.user(persona)).count() == 1


def rosa_thread_with(persona_or_none: str | None) -> Effect:
    def check(world: World, persona: str) -> None:
        from messaging.models import Thread

        holder = Thread.objects.get(pk=world.threads["rosa"].pk).assigned_to
        expected = world.user(persona_or_none) if persona_or_none else world.user(persona)
        assert holder == expected

    return check


def rosa_thread_is(status: str) -> Effect:
    def check(world: World, persona: str) -> None:
        from messaging.models import Thread

        assert Thread.objects.get(pk=world.threads["rosa"].pk).status == status

    return check


def template_is(title: str | None) -> Effect:
    def check(world: World, persona: str) -> None:
        from messaging.models import QuickReply

        titles = list(QuickReply.objects.filter(organization=world.org_here).values_list("title", flat=True))
        assert titles == ([title] if title else [])

    return check


def assign_to_jordan(world: World) -> dict[str, Any]:
    return {"assignee": str(world.user(HERE).pk)}


def api_assign_to_jordan(world: World) -> dict[str, Any]:
    return {"assignee": world.user(HERE).pk}


VISITORS_ONLY = expand(302, (200, (ANON, TOKEN_REV)))  # the sign-in pages send the signed-in home

# Bills ------------------------------------------------------------------------------------------------------

BILLING_PAGES = signed_in(404, (200, (*WITH_OWN_RECORD, CG_FULL, TEEN)))  # the billing scope, for anyone
BILLING_DESK = (BILL, *ADMINS_HERE)  # billing staff and admins; a nurse of the same clinic is refused (404)


def _rosa_account(w: World) -> dict[str, Any]:
    return {"account_id": w.rosa_account.pk}


def _desk_account(w: World) -> dict[str, Any]:
    return {"org_slug": "riverside", "account_id": w.rosa_account.pk}


def plan_stopped(world: World, persona: str) -> None:
    world.rosa_plan.refresh_from_db()
    assert world.rosa_plan.status == "cancelled"


def failed_payment_recorded(world: World, persona: str) -> None:
    # The matrix's processor is unreachable: the attempt is kept, failed, and nothing is charged.
    from billing.models import Payment

    attempt = Payment.objects.exclude(pk=world.rosa_payment.pk).get()
    assert attempt.status == "failed"
    assert attempt.plan_id == world.rosa_plan.pk


def alex_account_opened(world: World, persona: str) -> None:
    from billing.models import BillingAccount

    assert BillingAccount.objects.filter(patient=world.patient_record, organization=world.org_here).exists()


def rosa_charged(world: World, persona: str) -> None:
    from billing.selectors import balance_of

    assert balance_of(world.rosa_account) == 6000 + 2500


def bill_sent(world: World, persona: str) -> None:
    assert world.rosa_account.statements.count() == 2


def statement_file_posted(world: World, persona: str) -> None:
    from billing.models import LedgerEntry

    assert LedgerEntry.objects.filter(account__patient=world.patient_record, amount_cents=4200).exists()


def alex_statement_file(world: World) -> dict[str, Any]:
    mrn = world.patient_record.enrollments.get(organization=world.org_here).mrn
    text = f"mrn,visit_number,service_date,kind,amount,description,reason\n{mrn},V-9,2026-01-05,charge,42.00,Visit,\n"
    return {"file": SimpleUploadedFile("statement.csv", text.encode(), content_type="text/csv")}


def _charge_body(world: World) -> dict[str, Any]:
    return {
        "kind": "charge",
        "amount": "25.00",
        "visit_number": "V-2",
        "service_date": "2026-01-05",
        "description": "Lab test",
        "key": uuid.uuid4().hex,
    }


MATRIX: dict[str, Row] = {
    # The shell
    "home": Row({}, (get(signed_in(200)),), probe=PAT),
    "family": Row({}, (get(signed_in(200)),), probe=PAT),
    "person": Row({}, (get(SUBJECT_RECORDS),), probe=PAT),
    "staff_home": Row({}, (get(staff(VERIFIED_STAFF)),), probe=HERE),
    "platform_home": Row({}, (get(staff((PADM,))),), probe=PADM),
    "session_keepalive": Row({}, (
        Case("POST", expand(200, (401, (ANON, TOKEN_REV)), (TO_VERIFY, UNVER))),
    ), probe=PAT),
    "set_language": Row({}, (
        Case("POST", expand(302), body={"language": "es", "next": "/"},
             ok=tuple(p for p in EVERYONE if p not in (ANON, TOKEN_REV, *ENDED)), effect=language_remembered),
    ), probe=ANON),
    "healthz": Row({}, (get(expand(200)),), probe=ANON),
    "readyz": Row({}, (get(expand(200)),), probe=ANON),
    "favicon": Row({}, (get(expand(301)),), probe=ANON),
    # The person's own account
    "mfa_overview": Row({}, (get(signed_in(200)),), probe=PAT),
    # Opening the set-up page makes a pending authenticator (confirmed only by a first code).
    "mfa_setup": Row({}, (
        Case("GET", signed_in(200, (302, VERIFIED_STAFF)), ok=MAY_ENROL, effect=pending_authenticator),
        Case("POST", signed_in(200, (302, VERIFIED_STAFF)), body={"token": "000000"},
             ok=MAY_ENROL, effect=pending_authenticator),
    ), probe=PAT),
    # Removing a second factor and new recovery codes need the password again (allauth's re-authentication).
    "mfa_recovery_codes": Row({}, (
        get(signed_in(302, (200, VERIFIED_STAFF))),
        Case("POST", signed_in(302)),
    ), probe=PAT),
    "mfa_remove": Row({}, (get(signed_in(200)), Case("POST", signed_in(302))), probe=PAT),
    "mfa_verify": Row({}, (
        get(expand(302, (200, UNVER))),
        Case("POST", expand(302, (200, UNVER)), body={"token": "1"}),
    ), probe=UNVER),
    "api_tokens": Row({}, (
        get(signed_in(200)),
        Case("POST", signed_in(200), body={"name": "Matrix token", "lifetime_days": "30"},
             ok=tuple(p for p in EVERYONE if p not in (ANON, TOKEN_REV, UNVER, *ENDED)), effect=token_made),
    ), probe=PAT),
    "api_token_revoke": Row(patients_token, (
        Case("POST", signed_in(404, (302, PAT)), ok=(PAT,), effect=token_ended),
    ), probe=PAT),
    "own_record_start": Row({}, (
        get(signed_in(200, (302, WITH_OWN_RECORD))),
        Case("POST", signed_in(302), body={"given_name": "Nel", "family_name": "Newrecord", "birth_date": "1990-01-01"},
             ok=tuple(p for p in EVERYONE if p not in (ANON, TOKEN_REV, UNVER, *ENDED, *WITH_OWN_RECORD)),
             effect=own_record_started),
    ), probe=STR),
    # The access history: the patient's own, and their representatives' (manage-proxies scope).
    "access_history": Row({}, (get(signed_in(404, (200, MANAGERS))),), probe=PAT),
    "access_history_csv": Row({}, (get(signed_in(404, (200, MANAGERS))),), probe=PAT),
    # Records (records scope)
    # The form names the person it was made for (Rosa here): acting for anyone else, it is refused on the form.
    "records:upload": Row({}, (
        get(SUBJECT_RECORDS),
        Case("POST", signed_in(404, (200, (*WITH_OWN_RECORD, TEEN)), (302, (CG_FULL, CG_REC))), body=fhir_upload,
             kind="multipart", ok=(CG_FULL, CG_REC), effect=upload_queued),
    ), probe=PAT),
    "records:upload_run": Row(
        lambda w: {"run_id": ImportRun.objects.create(
            source=w.rosa_connection.source, kind="upload", requested_by=w.user(CG_FULL)).pk},
        # Someone from whom sensitive items are hidden sees only the runs they started themselves.
        (get(signed_in(404, (200, CG_FULL))),), probe=CG_FULL,
    ),
    "records:directory": Row({}, (get(SUBJECT_RECORDS),), probe=PAT),
    # The record's pages: the person, and whoever acts for them with the records scope.
    "records:summary": Row({}, (get(SUBJECT_RECORDS),), probe=PAT),
    # General words, no one's data: anyone (staff still pass their second factor first, as on every page).
    "records:glossary": Row({}, (get(expand(200, (TO_VERIFY, UNVER))),), probe=ANON),
    # Downloading: the page to choose, and the file (the results as CSV here; every format is refused alike).
    "records:download": Row({}, (get(SUBJECT_RECORDS),), probe=PAT),
    "records:download_file": Row({}, (get(SUBJECT_RECORDS),), probe=PAT, extra={"query": "?format=csv"}),
    "records:timeline": Row({}, (get(SUBJECT_RECORDS),), probe=PAT),
    "records:results": Row({}, (get(SUBJECT_RECORDS),), probe=PAT),
    "records:section": Row({"section": "immunizations"}, (get(SUBJECT_RECORDS),), probe=PAT),
    # One of Rosa's results and one of her problems: for those acting for Rosa with the records scope.
    "records:result": Row(
        lambda w: {"result_id": rosa_item(w, lab("rosa-a1c"))}, (get(signed_in(404, (200, (CG_FULL, CG_REC)))),),
        probe=CG_FULL,
    ),
    "records:item": Row(
        lambda w: {"item_id": rosa_item(w, condition("rosa-t2d", "Type 2 diabetes"))},
        (get(signed_in(404, (200, (CG_FULL, CG_REC)))),),
        probe=CG_FULL,
    ),
    # The patient's privacy choices: only the person, for their own record (caregivers never choose).
    "records:privacy": Row({}, (get(signed_in(404, (200, WITH_OWN_RECORD))),), probe=PAT),
    "records:results_wait": Row({}, (
        Case("POST", signed_in(404, (302, WITH_OWN_RECORD)), body={"wait": "on"}, ok=WITH_OWN_RECORD,
             effect=results_wait_on),
    ), probe=PAT),
    "records:release_result": Row(
        lambda w: {"result_id": alex_waiting_result(w)},
        (Case("POST", signed_in(404, (302, PAT)), ok=(PAT,), effect=result_released),), probe=PAT,
    ),
    "records:show_item": Row(
        lambda w: {"item_id": alex_private_item(w, with_helper=True)},
        (Case("POST", signed_in(404, (302, PAT)), body=lambda w: {"grant": str(alex_helper(w).pk)}, ok=(PAT,),
              effect=item_shown),),
        probe=PAT,
    ),
    "records:private_kinds": Row(
        lambda w: {"grant_id": alex_helper(w).pk},
        (Case("POST", signed_in(404, (302, PAT)), body={"kind": ["hiv"]}, ok=(PAT,), effect=kind_shown),),
        probe=PAT,
    ),
    "records:stop_showing": Row(
        lambda w: {"share_id": alex_share(w)},
        (Case("POST", signed_in(404, (302, PAT)), ok=(PAT,), effect=share_stopped),), probe=PAT,
    ),
    # A note's attachment: downloaded by those who may read the note (the patient's own download is audited too).
    "records:attachment": Row(
        lambda w: {"item_id": rosa_item(w, rosa_letter()), "index": 0},
        (get(signed_in(404, (200, (CG_FULL, CG_REC)))),),
        probe=CG_FULL,
    ),
    # What the person writes down themselves: read and added by whoever acts for them with the records scope
    # (the forms name Rosa: acting for anyone else, they are refused on the form); changed or deleted only by
    # its author (caregiver_full here) or the patient: the records-only grantee may read it, and gets 403.
    "records:journal": Row({}, (
        get(SUBJECT_RECORDS),
        Case("POST", signed_in(404, (200, (*WITH_OWN_RECORD, TEEN)), (302, (CG_FULL, CG_REC))), body=journal_body,
             ok=(CG_FULL, CG_REC), effect=journal_entry_added),
    ), probe=PAT),
    "records:journal_print": Row({}, (get(SUBJECT_RECORDS),), probe=PAT),
    "records:journal_edit": Row(rosa_entry(), (
        get(signed_in(404, (200, CG_FULL), (REFUSED, CG_REC))),
        Case("POST", signed_in(404, (302, CG_FULL), (REFUSED, CG_REC)), body=edit_body,
             ok=(CG_FULL,), effect=journal_entry_changed),
    ), probe=CG_FULL),
    "records:journal_delete": Row(rosa_entry(), (
        Case("POST", signed_in(404, (302, CG_FULL), (REFUSED, CG_REC)), ok=(CG_FULL,), effect=journal_entry_deleted),
    ), probe=CG_FULL),
    "records:journal_question": Row(rosa_entry(EntryKind.QUESTION), (
        Case("POST", signed_in(404, (302, CG_FULL), (REFUSED, CG_REC)), body={"state": "asked"},
             ok=(CG_FULL,), effect=question_asked),
    ), probe=CG_FULL),
    "records:measurements": Row({}, (
        get(SUBJECT_RECORDS),
        Case("POST", signed_in(404, (200, (*WITH_OWN_RECORD, TEEN)), (302, (CG_FULL, CG_REC))),
             body=blood_pressure_body, ok=(CG_FULL, CG_REC), effect=reading_added),
    ), probe=PAT),
    "records:measurement_delete": Row(rosa_reading, (
        Case("POST", signed_in(404, (302, CG_FULL), (REFUSED, CG_REC)), ok=(CG_FULL,), effect=reading_deleted),
    ), probe=CG_FULL),
    # The public half of the portal's signing key, for health systems checking its client assertions.
    "records:jwks": Row({}, (get(expand(200, (TO_VERIFY, UNVER))),), probe=ANON),
    # Connecting starts with discovery at the health system; this one does not exist, so it ends on the directory.
    "records:connect": Row(
        lambda w: {"system_id": w.rosa_connection.health_system_id},
        (Case("POST", signed_in(404, (302, (*WITH_OWN_RECORD, *ACTIVE_PROXIES)))),), probe=PAT,
    ),
    # Without a sign-in started from here, the callback goes back to the directory.
    "records:callback": Row({}, (get(signed_in(404, (302, (*WITH_OWN_RECORD, *ACTIVE_PROXIES)))),), probe=PAT),
    # Rosa's connection: for those acting for Rosa with the records scope.
    "records:connection": Row(
        lambda w: {"connection_id": w.rosa_connection.pk},
        (get(signed_in(404, (200, (CG_FULL, CG_REC)))),), probe=CG_FULL,
    ),
    "records:sync_now": Row(
        lambda w: {"connection_id": w.rosa_connection.pk},
        (Case("POST", signed_in(404, (302, (CG_FULL, CG_REC))), ok=(CG_FULL, CG_REC), effect=nothing_but_audit),),
        probe=CG_FULL,
    ),
    "records:disconnect": Row(
        lambda w: {"connection_id": w.rosa_connection.pk},
        (
            get(signed_in(404, (200, (CG_FULL, CG_REC)))),
            Case("POST", signed_in(404, (302, (CG_FULL, CG_REC))), body={"records": "keep"},
                 ok=(CG_FULL, CG_REC), effect=connection_disconnected),
        ),
        probe=CG_FULL,
    ),
    # Sharing the record with a SMART Health Link (records scope). The form names the person it was made for
    # (Rosa here), as the upload form does.
    "records:share_links": Row({}, (
        get(SUBJECT_RECORDS),
        Case("POST", signed_in(404, (200, (*WITH_OWN_RECORD, TEEN)), (302, (CG_FULL, CG_REC))), body=share_link_form,
             ok=(CG_FULL, CG_REC), effect=share_link_made),
    ), probe=PAT),
    # A link shows its key again, so it is not for someone from whom sensitive items stay hidden (the
    # records-only caregiver) unless they made it themselves: this one is the power of attorney's.
    "records:share_link": Row(
        lambda w: {"link_id": rosas_link(w).pk}, (get(signed_in(404, (200, CG_FULL))),), probe=CG_FULL,
    ),
    "records:revoke_share_link": Row(
        lambda w: {"link_id": rosas_link(w).pk},
        (Case("POST", signed_in(404, (302, CG_FULL)), ok=(CG_FULL,), effect=share_link_revoked),),
        probe=CG_FULL,
    ),
    # The public side: whoever holds the link, signed in or not (a session's own rules still come first).
    "records:shl_viewer": Row({}, (get(expand(200, (TO_VERIFY, UNVER))),), probe=ANON),
    "records:shl_manifest": Row(
        lambda w: {"token": rosas_link(w).token},
        (
            Case("POST", expand(200, (TO_VERIFY, UNVER)), body={"recipient": "Matrix viewer"}, kind="json",
                 ok=tuple(p for p in EVERYONE if p not in (UNVER, *ENDED)), effect=share_link_opened),
            Case("OPTIONS", expand(204, (TO_VERIFY, UNVER))),
        ),
        probe=ANON,
    ),
    "records:shl_file": Row(rosas_file, (get(expand(200, (TO_VERIFY, UNVER))),), probe=ANON),
    # Refills (refills scope): Rosa's refillable lisinopril (a Riverside order), favourites, reminders.
    "messaging:refills": Row({}, (get(REFILLS_PAGES),), probe=PAT),
    "messaging:refill_new": Row(
        lambda w: {"medication_id": rosa_refillable(w)},
        (
            get(signed_in(404, (200, CG_FULL))),
            Case("POST", signed_in(404, (302, CG_FULL)), body=lambda w: {"pharmacy": w.pharmacy.pk},
                 ok=(CG_FULL,), effect=refill_asked),
        ),
        probe=CG_FULL,
    ),
    # Riverside's pharmacy: for those acting for someone enrolled at Riverside (Alex, Rosa).
    "messaging:favorite_pharmacies": Row({}, (
        Case("POST", signed_in(404, (302, (PAT, CG_FULL))), body=lambda w: {"pharmacy": w.pharmacy.pk},
             ok=(PAT, CG_FULL), effect=favorite_kept),
    ), probe=PAT),
    "messaging:refill_reminders": Row(
        with_rosa_refillable,
        (Case("POST", signed_in(404, (302, CG_FULL)),
              body=lambda w: {"medication": rosa_refillable_id(w), "reminders": "off"},
              ok=(CG_FULL,), effect=reminders_off),),
        probe=CG_FULL,
    ),
    # Appointments: the scheduling scope for the person acted for; booking at Riverside for those enrolled there.
    "scheduling:appointments": Row({}, (get(SCHEDULING_PAGES),), probe=PAT),
    "scheduling:find": Row({}, (get(SCHEDULING_PAGES),), probe=PAT),
    "scheduling:book": Row({}, (
        get(signed_in(404)),  # no time named: nothing to book
        Case("POST", signed_in(404, (302, (PAT, CG_FULL))), body=free_checkup, ok=(PAT, CG_FULL), effect=visit_booked),
    ), probe=PAT),
    "scheduling:appointment_file": Row(
        lambda w: {"appointment_id": w.rosa_appointment.pk}, (get(signed_in(404, (200, CG_FULL))),), probe=CG_FULL
    ),
    "scheduling:calendar_link": Row({}, (
        get(signed_in(200)),
        Case("POST", signed_in(200), ok=tuple(p for p in EVERYONE if p not in (ANON, TOKEN_REV, UNVER, *ENDED)),
             effect=calendar_address_made),
    ), probe=PAT),
    # The person's own mobile number and text reminders: an account page, for everyone signed in.
    "scheduling:reminder_settings": Row({}, (
        get(signed_in(200)),
        Case("POST", signed_in(302), body={"phone": "+1 555 010 0199", "by_text": "on"},
             ok=tuple(p for p in EVERYONE if p not in (ANON, TOKEN_REV, UNVER, *ENDED)), effect=text_reminders_on),
    ), probe=PAT),
    # A calendar program's read of the full caregiver's private address: the secret is the key, for anyone.
    "calendar_feed": Row({"secret": MATRIX_FEED}, (
        Case("GET", expand(200, (TO_VERIFY, UNVER)), ok=tuple(p for p in EVERYONE if p not in (UNVER, *ENDED)),
             effect=feed_read),
    ), probe=ANON),
    "scheduling:check_in": Row(
        lambda w: {"appointment_id": w.rosa_appointment.pk},
        (get(signed_in(404, (200, CG_FULL))),
         Case("POST", signed_in(404, (302, CG_FULL)),
              body={"details_unchanged": "on", "insurance_unchanged": "on", "medicines_unchanged": "on"},
              ok=(CG_FULL,), effect=rosa_checked_in)),
        probe=CG_FULL,
    ),
    "scheduling:form": Row(
        lambda w: {"appointment_id": w.rosa_appointment.pk, "form_key": "phq-9"},
        (get(signed_in(404, (200, CG_FULL))),
         Case("POST", signed_in(404, (302, CG_FULL)), body={f"item-{n}": "LA6568-5" for n in range(1, 10)},
              ok=(CG_FULL,), effect=rosa_form_filled)),
        probe=CG_FULL,
    ),
    "scheduling:waitlist": Row(
        lambda w: {"appointment_id": w.rosa_appointment.pk},
        (Case("POST", signed_in(404, (302, CG_FULL)), ok=(CG_FULL,), effect=rosa_waits),),
        probe=CG_FULL,
    ),
    "scheduling:offer": Row(
        {"offer_id": MATRIX_OFFER},
        (get(signed_in(404, (200, CG_FULL))),
         Case("POST", signed_in(404, (302, CG_FULL)), ok=(CG_FULL,), effect=offer_taken)),
        probe=CG_FULL,
    ),
    "scheduling:cancel": Row(
        lambda w: {"appointment_id": w.rosa_appointment.pk},
        (Case("POST", signed_in(404, (302, CG_FULL)), ok=(CG_FULL,), effect=rosas_visit_cancelled),),
        probe=CG_FULL,
    ),
    # Riverside's schedule: its staff who see patients' visits (the nurse, the admins); a visit marked by them.
    "scheduling:staff_schedule": Row({"org_slug": "riverside"}, (get(staff((HERE, *ADMINS_HERE))),), probe=HERE),
    "scheduling:staff_mark": Row(
        lambda w: {"org_slug": "riverside", "appointment_id": w.rosa_appointment.pk},
        (Case("POST", staff((HERE, *ADMINS_HERE), 302), body={"mark": "cancel"}, ok=(HERE, *ADMINS_HERE),
              effect=rosas_visit_cancelled),),
        probe=HERE,
    ),
    # Booking for a patient at the desk: Riverside's schedule roles, for a patient of Riverside.
    "scheduling:staff_book": Row({"org_slug": "riverside"}, (
        get(staff(DESK_SCHEDULE)),
        Case("POST", staff(DESK_SCHEDULE, 302), body=desk_booking_body, ok=DESK_SCHEDULE, effect=desk_booked),
    ), probe=HERE),
    # The scheduling setup: Riverside's admins (and front desk, see tests/scheduling/test_setup.py).
    "scheduling:staff_setup": Row({"org_slug": "riverside"}, (get(staff(SETUP_ADMINS)),), probe=OADM),
    "scheduling:staff_policy": Row({"org_slug": "riverside"}, (
        Case("POST", staff(SETUP_ADMINS, 302), body=RULES_BODY, ok=SETUP_ADMINS, effect=rules_saved),
    ), probe=OADM),
    "scheduling:staff_location_add": Row({"org_slug": "riverside"}, (
        Case("POST", staff(SETUP_ADMINS, 302), body={"location-name": "Matrix annex", "location-is_active": "on"},
             ok=SETUP_ADMINS, effect=location_added),
    ), probe=OADM),
    "scheduling:staff_location": Row(_setup_path(location_id=lambda w: _riverside_location(w).pk), (
        get(staff(SETUP_ADMINS)),
        Case("POST", staff(SETUP_ADMINS, 302), body={"name": "Matrix annex", "is_active": "on"}, ok=SETUP_ADMINS,
             effect=location_renamed),
    ), probe=OADM),
    "scheduling:staff_provider_add": Row({"org_slug": "riverside"}, (
        Case("POST", staff(SETUP_ADMINS, 302), body={"provider-display_name": "Dr. Matrix"}, ok=SETUP_ADMINS,
             effect=provider_added),
    ), probe=OADM),
    "scheduling:staff_provider": Row(
        _setup_path(provider_id=lambda w: w.provider.pk), (get(staff(SETUP_ADMINS)),), probe=OADM
    ),
    "scheduling:staff_provider_details": Row(_setup_path(provider_id=lambda w: w.provider.pk), (
        Case("POST", staff(SETUP_ADMINS, 302), body={"display_name": "Dr. Matrix", "is_active": "on"},
             ok=SETUP_ADMINS, effect=provider_renamed),
    ), probe=OADM),
    "scheduling:staff_hours_add": Row(_setup_path(provider_id=lambda w: w.provider.pk), (
        Case("POST", staff(SETUP_ADMINS, 302), body={"hours-weekdays": ["6"], "hours-starts": "19:00",
             "hours-ends": "20:00", "hours-modes": ["video"]}, ok=SETUP_ADMINS, effect=hours_added),
    ), probe=OADM),
    "scheduling:staff_hours_remove": Row(
        _setup_path(provider_id=lambda w: w.provider.pk, hours_id=_saturday_hours),
        (Case("POST", staff(SETUP_ADMINS, 302), ok=SETUP_ADMINS, effect=saturday_hours_gone),),
        probe=OADM,
    ),
    "scheduling:staff_time_away_add": Row(_setup_path(provider_id=lambda w: w.provider.pk), (
        Case("POST", staff(SETUP_ADMINS, 302), body=lambda w: {
            "away-starts_on": (timezone.localdate() + timedelta(days=40)).isoformat(),
            "away-ends_on": (timezone.localdate() + timedelta(days=41)).isoformat(), "away-reason": "Matrix"},
             ok=SETUP_ADMINS, effect=time_away_added),
    ), probe=OADM),
    "scheduling:staff_time_away_remove": Row(
        _setup_path(provider_id=lambda w: w.provider.pk, time_away_id=_time_away),
        (Case("POST", staff(SETUP_ADMINS, 302), ok=SETUP_ADMINS, effect=time_away_gone),),
        probe=OADM,
    ),
    "scheduling:staff_closed_day_add": Row({"org_slug": "riverside"}, (
        Case("POST", staff(SETUP_ADMINS, 302), body=lambda w: {
            "closed-day": (timezone.localdate() + timedelta(days=50)).isoformat(), "closed-name": "Matrix day"},
             ok=SETUP_ADMINS, effect=closed_day_added),
    ), probe=OADM),
    "scheduling:staff_closed_day_remove": Row(
        _setup_path(closed_day_id=_closed_day),
        (Case("POST", staff(SETUP_ADMINS, 302), ok=SETUP_ADMINS, effect=closed_day_gone),),
        probe=OADM,
    ),
    "scheduling:staff_visit_type_add": Row({"org_slug": "riverside"}, (
        Case("POST", staff(SETUP_ADMINS, 302), body=visit_type_body("visit-"), ok=SETUP_ADMINS,
             effect=visit_type_added),
    ), probe=OADM),
    "scheduling:staff_visit_type": Row(_setup_path(visit_type_id=lambda w: w.visit_type.pk), (
        get(staff(SETUP_ADMINS)),
        Case("POST", staff(SETUP_ADMINS, 302), body=visit_type_body(), ok=SETUP_ADMINS, effect=visit_type_renamed),
    ), probe=OADM),
    # The staff's refill queue: Riverside's inbox roles see it; only the nurse decides (admins: 403).
    "messaging:staff_refills": Row({"org_slug": "riverside"}, (get(staff(DESK_REFILLS)),), probe=HERE),
    "messaging:staff_refill_decide": Row(
        lambda w: {"org_slug": "riverside", "refill_id": w.refill.pk},
        (Case("POST", staff((HERE,), 302, (REFUSED, ADMINS_HERE)),
              body={"decision": "approve", "quantity": "30", "refills": "2"}, ok=(HERE,), effect=refill_approved),),
        probe=HERE,
    ),
    # Proxy access: the subject's side (manage-proxies scope)
    "proxy:sharing": Row({}, (get(signed_in(404, (200, MANAGERS))),), probe=PAT),
    # A manager gives only what they hold: the manage-only grantee may not give records (403, nothing sent).
    "proxy:invite": Row({}, (
        get(signed_in(404, (200, MANAGERS))),
        Case("POST", signed_in(404, (302, (*WITH_OWN_RECORD, CG_FULL, TEEN)), (REFUSED, CG_MAN)),
             body={"email": "new.helper@example.test", "scopes": [Scope.RECORDS]},
             ok=(*WITH_OWN_RECORD, CG_FULL, TEEN), effect=grant_added("new.helper@example.test")),
    ), probe=PAT),
    # Rosa's records-only grant: only someone managing Rosa's record may change it, and not its holder.
    "proxy:grant_edit": Row(
        lambda w: {"grant_id": w.grants[CG_REC].pk},
        (
            get(signed_in(404, (200, (CG_FULL, CG_MAN)))),
            Case("POST", signed_in(404, (302, CG_FULL), (REFUSED, CG_MAN)),
                 body={"scopes": [Scope.RECORDS, Scope.MESSAGING]},
                 ok=(CG_FULL,), effect=grant_scopes_are([Scope.RECORDS, Scope.MESSAGING])),
        ),
        probe=CG_FULL,
    ),
    "proxy:grant_revoke": Row(
        lambda w: {"grant_id": w.grants[CG_REC].pk},
        (Case("POST", signed_in(404, (302, (CG_FULL, CG_MAN))), body={"reason": "no longer needed"},
              ok=(CG_FULL, CG_MAN), effect=grant_revoked),),
        probe=CG_FULL,
    ),
    "proxy:switch_subject": Row({}, (
        Case("POST", signed_in(REFUSED, (302, (CG_FULL, CG_REC, CG_MAN))),
             body=lambda w: {"subject": str(_rosa(w).pk)}),
    ), probe=CG_FULL),
    "proxy:invitation": Row({"token": "not-a-real-token"}, (
        get(expand(200, (TO_VERIFY, UNVER))),
        Case("POST", expand(200, (TO_VERIFY, UNVER))),
    ), probe=ANON),
    # Proxy access: the caregiver's side
    "proxy:request_access": Row({}, (
        get(signed_in(200)),
        Case("POST", signed_in(302), body=access_request_body, kind="multipart",
             ok=tuple(p for p in EVERYONE if p not in (ANON, TOKEN_REV, UNVER, *ENDED)), effect=request_filed),
    ), probe=PAT),
    "proxy:my_requests": Row({}, (get(signed_in(200)),), probe=PAT),
    # Proxy access: reviewers (Riverside's admins for Riverside's patients; the platform for the rest).
    # The request decided here was filed by Riverside's admin_requester: the other admin decides, he may not.
    "proxy:org_queue": Row({"org_slug": "riverside"}, (get(staff(ADMINS_HERE)),), probe=OADM),
    "proxy:org_review": Row(
        lambda w: {"org_slug": "riverside", "access_request_id": w.own_request.pk},
        (
            get(staff(ADMINS_HERE)),
            Case("POST", staff((OADM,), 302, (REFUSED, ADM_REQ)), body=approve_rosa,
                 ok=(OADM,), effect=request_decided(GrantStatus.ACTIVE)),
        ),
        probe=OADM,
    ),
    "proxy:org_document": Row(
        lambda w: {"org_slug": "riverside", "access_request_id": w.org_request.pk,
                   "document_id": w.org_request.documents.get().pk},
        (get(staff(ADMINS_HERE)),), probe=OADM,
    ),
    "proxy:org_grants": Row({"org_slug": "riverside"}, (get(staff(ADMINS_HERE)),), probe=OADM),
    "proxy:org_grant": Row(
        lambda w: {"org_slug": "riverside", "grant_id": w.grants[CG_REC].pk},
        (
            get(staff(ADMINS_HERE)),
            Case("POST", staff(ADMINS_HERE, 302), body={"reason": "court order"},
                 ok=ADMINS_HERE, effect=grant_revoked),
        ),
        probe=OADM,
    ),
    "proxy:platform_queue": Row({}, (get(staff((PADM,))),), probe=PADM),
    "proxy:platform_review": Row(
        lambda w: {"access_request_id": w.platform_request.pk},
        (
            get(staff((PADM,))),
            Case("POST", staff((PADM,), 302), body={"decision": "deny", "reason": "no document"},
                 ok=(PADM,), effect=lambda w, p: _platform_denied(w)),
        ),
        probe=PADM,
    ),
    "proxy:platform_document": Row(
        lambda w: {"access_request_id": w.platform_request.pk, "document_id": w.platform_request.documents.get().pk},
        (get(staff((PADM,))),), probe=PADM,
    ),
    "proxy:platform_grants": Row({}, (get(staff((PADM,))),), probe=PADM),
    "proxy:platform_grant": Row(
        lambda w: {"grant_id": w.grants[TEEN].pk},
        (
            get(staff((PADM,))),
            Case("POST", staff((PADM,), 302), body={"reason": "court order"}, ok=(PADM,),
                 effect=lambda w, p: _teen_grant_revoked(w)),
        ),
        probe=PADM,
    ),
    # Clinic staff pages of one organization ("riverside" is the patient's; staff_other works elsewhere)
    "staff_roster": Row({"org_slug": "riverside"}, (get(staff((HERE, BILL, *ADMINS_HERE))),), probe=HERE),
    "org_policy": Row({"org_slug": "riverside"}, (
        get(staff(ADMINS_HERE)),
        Case("POST", staff(ADMINS_HERE, 302), body={"adolescent_from_age": "13"},
             ok=ADMINS_HERE, effect=policy_changed),
    ), probe=OADM),
    "org_members": Row({"org_slug": "riverside"}, (get(staff(ADMINS_HERE)),), probe=OADM),
    # The staff inbox: Riverside's inbox roles; staff elsewhere (and everyone else) get 404, changing nothing.
    "messaging:staff_inbox": Row({"org_slug": "riverside"}, (get(staff(INBOX_HERE)),), probe=HERE),
    "messaging:staff_thread": Row(rosa_thread_at(), (
        Case("GET", staff(INBOX_HERE), ok=INBOX_HERE, effect=read_by_staff),
    ), probe=HERE),
    "messaging:staff_attachment": Row(rosas_thread_file, (get(staff(INBOX_HERE)),), probe=HERE),
    "messaging:staff_reply": Row(rosa_thread_at(), (
        Case("POST", staff(INBOX_HERE, 302), body={"body": "Please keep your feet up."}, ok=INBOX_HERE,
             effect=staff_replied),
    ), probe=HERE),
    "messaging:staff_note": Row(rosa_thread_at(), (
        Case("POST", staff(INBOX_HERE, 302), body={"body": "Call her daughter"}, ok=INBOX_HERE, effect=staff_noted),
    ), probe=HERE),
    "messaging:staff_claim": Row(rosa_thread_at(), (
        Case("POST", staff(INBOX_HERE, 302), ok=INBOX_HERE, effect=rosa_thread_with(None)),
    ), probe=HERE),
    "messaging:staff_assign": Row(rosa_thread_at(), (
        Case("POST", staff(INBOX_HERE, 302), body=assign_to_jordan, ok=INBOX_HERE, effect=rosa_thread_with(HERE)),
    ), probe=HERE),
    "messaging:staff_close": Row(rosa_thread_at(), (
        Case("POST", staff(INBOX_HERE, 302), ok=INBOX_HERE, effect=rosa_thread_is("closed")),
    ), probe=HERE),
    "messaging:staff_reopen": Row(closed_rosa_thread, (
        Case("POST", staff(INBOX_HERE, 302), ok=INBOX_HERE, effect=rosa_thread_is("waiting_on_staff")),
    ), probe=HERE),
    # Reply templates: the organization's admins only.
    "messaging:quick_replies": Row({"org_slug": "riverside"}, (
        get(staff(ADMINS_HERE)),
        Case("POST", staff(ADMINS_HERE, 302), body={"title": "Refills", "body": "Ask your pharmacy first."},
             ok=ADMINS_HERE, effect=template_is("Refills")),
    ), probe=OADM),
    "messaging:quick_reply_edit": Row(riverside_template, (
        get(staff(ADMINS_HERE)),
        Case("POST", staff(ADMINS_HERE, 302), body={"title": "Labs", "body": "All fine."}, ok=ADMINS_HERE,
             effect=template_is("Labs")),
    ), probe=OADM),
    "messaging:quick_reply_delete": Row(riverside_template, (
        Case("POST", staff(ADMINS_HERE, 302), ok=ADMINS_HERE, effect=template_is(None)),
    ), probe=OADM),
    # The API
    "api-me": Row({}, (get(api(200)),), probe=PAT),
    "api-subjects": Row({}, (get(api(200)),), probe=PAT),
    "api-grants": Row({}, (
        get(api(404, (200, MANAGERS))),
        Case("POST", api(404, (201, (*WITH_OWN_RECORD, CG_FULL, TEEN)), (REFUSED, CG_MAN)),
             body={"email": "api.helper@example.test", "scopes": [Scope.RECORDS]}, kind="json",
             ok=(*WITH_OWN_RECORD, CG_FULL, TEEN), effect=grant_added("api.helper@example.test")),
    ), probe=PAT),
    "api-grant": Row(
        lambda w: {"grant_id": w.grants[CG_REC].pk},
        (
            get(api(404, (200, (CG_FULL, CG_MAN)))),
            Case("PATCH", api(404, (200, CG_FULL), (REFUSED, CG_MAN)),
                 body={"scopes": [Scope.RECORDS, Scope.BILLING]}, kind="json",
                 ok=(CG_FULL,), effect=grant_scopes_are([Scope.RECORDS, Scope.BILLING])),
        ),
        probe=CG_FULL,
    ),
    "api-grant-revoke": Row(
        lambda w: {"grant_id": w.grants[CG_REC].pk},
        (Case("POST", api(404, (200, (CG_FULL, CG_MAN))), body={"reason": "moved away"}, kind="json",
              ok=(CG_FULL, CG_MAN), effect=grant_revoked),),
        probe=CG_FULL,
    ),
    "api-access-requests": Row({}, (
        get(api(200)),
        Case("POST", api(201), body=access_request_body, kind="multipart",
             ok=tuple(p for p in EVERYONE if p not in (ANON, TOKEN_REV, UNVER, *ENDED)), effect=request_filed),
    ), probe=PAT),
    # Reviewing needs two-step verification (403 without it); then only the right desk gets past 404.
    # Without ?organization= the desk is the platform's.
    "api-review-queue": Row({}, (get(api(404, (200, PADM), (REFUSED, NOMFA))),), probe=PADM),
    "api-review-approve": Row(
        lambda w: {"access_request_id": w.own_request.pk},
        (Case("POST", api(404, (200, OADM), (REFUSED, (NOMFA, ADM_REQ))), body=approve_rosa, kind="json",
              ok=(OADM,), effect=request_decided(GrantStatus.ACTIVE)),),
        probe=OADM, extra={"query": "?organization=riverside"},
    ),
    "api-review-deny": Row(
        lambda w: {"access_request_id": w.own_request.pk},
        (Case("POST", api(404, (200, OADM), (REFUSED, (NOMFA, ADM_REQ))), body={"reason": "no document"},
              kind="json", ok=(OADM,), effect=request_decided(GrantStatus.DENIED)),),
        probe=OADM, extra={"query": "?organization=riverside"},
    ),
    # The staff inbox's API: the desk named by the path; two-step verification first (403 without it).
    "api-staff-threads": Row({"org_slug": "riverside"}, (get(INBOX_API),), probe=HERE),
    "api-staff-thread": Row(rosa_thread_at(), (
        Case("GET", INBOX_API, ok=INBOX_HERE, effect=read_by_staff),
    ), probe=HERE),
    "api-staff-reply": Row(rosa_thread_at(), (
        Case("POST", api(404, (201, INBOX_HERE), (REFUSED, NOMFA)), body={"body": "Feet up, please."}, kind="json",
             ok=INBOX_HERE, effect=staff_replied),
    ), probe=HERE),
    "api-staff-note": Row(rosa_thread_at(), (
        Case("POST", api(404, (201, INBOX_HERE), (REFUSED, NOMFA)), body={"body": "Call her daughter"}, kind="json",
             ok=INBOX_HERE, effect=staff_noted),
    ), probe=HERE),
    "api-staff-claim": Row(rosa_thread_at(), (
        Case("POST", INBOX_API, kind="json", ok=INBOX_HERE, effect=rosa_thread_with(None)),
    ), probe=HERE),
    "api-staff-assign": Row(rosa_thread_at(), (
        Case("POST", INBOX_API, body=api_assign_to_jordan, kind="json", ok=INBOX_HERE,
             effect=rosa_thread_with(HERE)),
    ), probe=HERE),
    "api-staff-close": Row(rosa_thread_at(), (
        Case("POST", INBOX_API, kind="json", ok=INBOX_HERE, effect=rosa_thread_is("closed")),
    ), probe=HERE),
    "api-staff-reopen": Row(closed_rosa_thread, (
        Case("POST", INBOX_API, kind="json", ok=INBOX_HERE, effect=rosa_thread_is("waiting_on_staff")),
    ), probe=HERE),
    # The record's API: the path names Rosa; only those acting for her with the records scope get past 404
    # (a revoked grant too: a path naming someone the caller may not act for is a 404, whatever the reason).
    "api-record-summary": Row(rosa_path, (get(RECORD_API),), probe=CG_FULL),
    "api-record-timeline": Row(rosa_path, (get(RECORD_API),), probe=CG_FULL),
    "api-record-results": Row(rosa_path, (get(RECORD_API),), probe=CG_FULL),
    "api-record-result": Row(
        lambda w: {**rosa_path(w), "result_id": rosa_item(w, lab("rosa-a1c"))}, (get(RECORD_API),), probe=CG_FULL
    ),
    "api-record-section": Row(lambda w: {**rosa_path(w), "section": "problems"}, (get(RECORD_API),), probe=CG_FULL),
    "api-record-item": Row(
        lambda w: {**rosa_path(w), "item_id": rosa_item(w, condition("rosa-t2d", "Type 2 diabetes"))},
        (get(RECORD_API),), probe=CG_FULL,
    ),
    "api-record-preventive-care": Row(rosa_path, (get(RECORD_API),), probe=CG_FULL),
    "api-record-sources": Row(rosa_path, (get(RECORD_API),), probe=CG_FULL),
    # Files: the record downloaded (CSV here; every format is refused alike) and a note's attachment.
    "api-record-download": Row(rosa_path, (get(RECORD_API),), probe=CG_FULL, extra={"query": "?format=csv"}),
    "api-record-attachment": Row(
        rosa_path_and(item_id=lambda w: rosa_item(w, rosa_letter()), index=lambda w: 0),
        (get(RECORD_API),), probe=CG_FULL,
    ),
    # Shared links: the records-only caregiver (sensitive items hidden) sees and ends only links they made.
    "api-record-share-links": Row(rosa_path, (
        get(RECORD_API),
        Case("POST", record_api(201), body={"label": "Matrix link", "days": 7}, kind="json",
             ok=(CG_FULL, CG_REC), effect=share_link_made),
    ), probe=CG_FULL),
    "api-record-share-link": Row(
        rosa_path_and(link_id=lambda w: rosas_link(w).pk), (get(record_api(200, (404, CG_REC))),), probe=CG_FULL,
    ),
    "api-record-share-link-revoke": Row(
        rosa_path_and(link_id=lambda w: rosas_link(w).pk),
        (Case("POST", record_api(200, (404, CG_REC)), kind="json", ok=(CG_FULL,), effect=share_link_revoked),),
        probe=CG_FULL,
    ),
    # The journal and home measurements: changed only by the author (caregiver_full) or the patient.
    "api-record-journal": Row(rosa_path, (
        get(RECORD_API),
        Case("POST", record_api(201), body=api_journal_body, kind="json", ok=(CG_FULL, CG_REC),
             effect=journal_entry_added),
    ), probe=CG_FULL),
    "api-record-journal-entry": Row(
        lambda w: {**rosa_path(w), **rosa_entry()(w)},
        (
            get(RECORD_API),
            Case("PATCH", record_api(200, (REFUSED, CG_REC)), body=edit_body, kind="json", ok=(CG_FULL,),
                 effect=journal_entry_changed),
            Case("DELETE", record_api(204, (REFUSED, CG_REC)), ok=(CG_FULL,), effect=journal_entry_deleted),
        ),
        probe=CG_FULL,
    ),
    "api-record-journal-question": Row(
        lambda w: {**rosa_path(w), **rosa_entry(EntryKind.QUESTION)(w)},
        (Case("POST", record_api(200, (REFUSED, CG_REC)), body={"state": "asked"}, kind="json", ok=(CG_FULL,),
              effect=question_asked),),
        probe=CG_FULL,
    ),
    "api-record-measurements": Row(rosa_path, (
        get(RECORD_API),
        Case("POST", record_api(201), body={"kind": "blood_pressure", "systolic": 131, "diastolic": 84}, kind="json",
             ok=(CG_FULL, CG_REC), effect=reading_added),
    ), probe=CG_FULL),
    "api-record-measurement": Row(
        lambda w: {**rosa_path(w), **rosa_reading(w)},
        (Case("DELETE", record_api(204, (REFUSED, CG_REC)), ok=(CG_FULL,), effect=reading_deleted),),
        probe=CG_FULL,
    ),
    # The patient's privacy choices: only the patient, for their own record.
    "api-record-privacy": Row(alex_path, (get(privacy_api(200)),), probe=PAT),
    "api-record-results-wait": Row(alex_path, (
        Case("POST", privacy_api(200), body={"wait": True}, kind="json", ok=(PAT,), effect=results_wait_on),
    ), probe=PAT),
    "api-record-release-result": Row(
        lambda w: {**alex_path(w), "result_id": alex_waiting_result(w)},
        (Case("POST", privacy_api(200), kind="json", ok=(PAT,), effect=result_released),), probe=PAT,
    ),
    "api-record-private-kinds": Row(
        lambda w: {**alex_path(w), "grant_id": alex_helper(w).pk},
        (Case("POST", privacy_api(200), body={"kinds": ["hiv"]}, kind="json", ok=(PAT,), effect=kind_shown),),
        probe=PAT,
    ),
    "api-record-show-item": Row(
        lambda w: {**alex_path(w), "item_id": alex_private_item(w, with_helper=True)},
        (Case("POST", privacy_api(200), body=lambda w: {"grant": str(alex_helper(w).pk)}, kind="json", ok=(PAT,),
              effect=item_shown),),
        probe=PAT,
    ),
    "api-record-stop-showing": Row(
        lambda w: {**alex_path(w), "share_id": alex_share(w)},
        (Case("POST", privacy_api(204), kind="json", ok=(PAT,), effect=share_stopped),), probe=PAT,
    ),
    # Messages, the patient's side (messaging scope): the person, or someone acting for them with the scope. The new
    # message form names the person it was shown for (Rosa here): acting for anyone else, it is refused on the form.
    # Rosa's conversation and its file: for those acting for Rosa with the messaging scope (reading marks it read).
    "messaging:inbox": Row({}, (get(MESSAGING_PAGE),), probe=PAT),
    "messaging:compose": Row({}, (
        get(MESSAGING_PAGE),
        Case("POST", signed_in(404, (200, (*WITH_OWN_RECORD, TEEN)), (302, CG_FULL)), body=new_message_form,
             kind="multipart", ok=(CG_FULL,), effect=thread_started),
    ), probe=PAT),
    "messaging:thread": Row(rosas_thread, (
        Case("GET", signed_in(404, (200, CG_FULL)), ok=(CG_FULL,), effect=thread_read),
        Case("POST", signed_in(404, (302, CG_FULL)), body={"body": "Matrix reply", "key": MATRIX_KEY},
             kind="multipart", ok=(CG_FULL,), effect=reply_sent),
    ), probe=CG_FULL),
    "messaging:attachment": Row(rosas_message_file, (get(signed_in(404, (200, CG_FULL))),), probe=CG_FULL),
    # A caregiver's emails about the person; the patient's own are always on (403 to change, nothing changed).
    "messaging:email_choices": Row({}, (
        get(MESSAGING_PAGE),
        Case("POST", signed_in(404, (302, (CG_FULL, TEEN)), (REFUSED, WITH_OWN_RECORD)), body={"messages": "on"},
             ok=(CG_FULL, TEEN), effect=emails_chosen),
    ), probe=CG_FULL),
    # The messages API: the path names Rosa; only those acting for her with the messaging scope get past 404.
    "api-messages": Row(rosa_path, (
        get(MESSAGES_API),
        Case("POST", messages_api(201), body=new_message_json, kind="json", ok=(CG_FULL,), effect=thread_started),
    ), probe=CG_FULL),
    "api-messages-care-teams": Row(rosa_path, (get(MESSAGES_API),), probe=CG_FULL),
    "api-messages-thread": Row(rosa_path_and(thread_id=lambda w: w.threads["rosa"].pk), (
        Case("GET", MESSAGES_API, ok=(CG_FULL,), effect=thread_read),
        Case("POST", messages_api(201), body={"body": "Matrix reply"}, kind="json", ok=(CG_FULL,), effect=reply_sent),
    ), probe=CG_FULL),
    "api-messages-attachment": Row(
        rosa_path_and(thread_id=lambda w: w.threads["rosa"].pk, attachment_id=lambda w: w.attachment.pk),
        (get(MESSAGES_API),), probe=CG_FULL,
    ),
    # Refills by API: the path names Rosa (refills scope); the staff's desk is the path's organization.
    "api-refills": Row(
        rosa_path_with_refillable,
        (
            get(REFILL_API),
            Case("POST", api(404, (201, CG_FULL), (404, TOKEN_REV)), kind="json",
                 body=lambda w: {"medication": rosa_refillable_id(w), "pharmacy": w.pharmacy.pk},
                 ok=(CG_FULL,), effect=refill_asked),
        ),
        probe=CG_FULL,
    ),
    # Appointments through the API, on Rosa's path: the scheduling scope for her (the full caregiver).
    "api-appointments": Row(
        rosa_path,
        (
            get(SCHEDULING_API),
            Case("POST", api(404, (201, CG_FULL), (404, TOKEN_REV)), kind="json", body=api_free_checkup,
                 ok=(CG_FULL,), effect=visit_booked),
        ),
        probe=CG_FULL,
    ),
    "api-appointment-visit-types": Row(rosa_path, (get(SCHEDULING_API),), probe=CG_FULL),
    "api-appointment-slots": Row(
        rosa_path, (get(SCHEDULING_API),), probe=CG_FULL, extra={"query": lambda w: {"visit_type": w.visit_type.pk}}
    ),
    "api-appointment-cancel": Row(
        lambda w: {**rosa_path(w), "appointment_id": w.rosa_appointment.pk},
        (Case("POST", api(404, (200, CG_FULL), (404, TOKEN_REV)), kind="json", ok=(CG_FULL,),
              effect=rosas_visit_cancelled),),
        probe=CG_FULL,
    ),
    "api-staff-refills": Row({"org_slug": "riverside"}, (get(api(404, (200, DESK_REFILLS), (REFUSED, NOMFA))),),
                             probe=HERE),
    "api-staff-refill-decide": Row(
        lambda w: {"org_slug": "riverside", "refill_id": w.refill.pk},
        (Case("POST", api(404, (200, HERE), (REFUSED, (NOMFA, *ADMINS_HERE))), kind="json",
              body={"decision": "approve", "quantity": 30, "refills": 2}, ok=(HERE,), effect=refill_approved),),
        probe=HERE,
    ),
    # The staff side of appointments: Riverside's schedule roles; hours and time away: its admins (and front desk).
    "api-staff-appointments": Row({"org_slug": "riverside"}, (
        get(api(404, (200, DESK_SCHEDULE), (REFUSED, NOMFA))),
        Case("POST", api(404, (201, DESK_SCHEDULE), (REFUSED, NOMFA)), kind="json", body=api_desk_booking,
             ok=DESK_SCHEDULE, effect=desk_booked),
    ), probe=HERE),
    "api-staff-appointment-slots": Row(
        {"org_slug": "riverside"},
        (get(api(404, (200, DESK_SCHEDULE), (REFUSED, NOMFA))),),
        probe=HERE,
        extra={"query": lambda w: {"visit_type": w.visit_type.pk}},
    ),
    "api-staff-appointment-mark": Row(
        lambda w: {"org_slug": "riverside", "appointment_id": w.rosa_appointment.pk},
        (Case("POST", api(404, (200, DESK_SCHEDULE), (REFUSED, NOMFA)), kind="json", body={"mark": "cancel"},
              ok=DESK_SCHEDULE, effect=rosas_visit_cancelled),),
        probe=HERE,
    ),
    "api-staff-provider-hours": Row(_setup_path(provider_id=lambda w: w.provider.pk), (
        get(api(404, (200, SETUP_ADMINS), (REFUSED, NOMFA))),
        Case("POST", api(404, (201, SETUP_ADMINS), (REFUSED, NOMFA)), kind="json",
             body={"weekdays": [6], "starts": "19:00", "ends": "20:00", "modes": ["video"]}, ok=SETUP_ADMINS,
             effect=hours_added),
    ), probe=OADM),
    "api-staff-provider-time-away": Row(_setup_path(provider_id=lambda w: w.provider.pk), (
        get(api(404, (200, SETUP_ADMINS), (REFUSED, NOMFA))),
        Case("POST", api(404, (201, SETUP_ADMINS), (REFUSED, NOMFA)), kind="json", body=lambda w: {
            "starts_on": (timezone.localdate() + timedelta(days=40)).isoformat(),
            "ends_on": (timezone.localdate() + timedelta(days=41)).isoformat(), "reason": "Matrix"},
             ok=SETUP_ADMINS, effect=time_away_added),
    ), probe=OADM),
    "billing:bills": Row({}, (get(BILLING_PAGES),), probe=PAT),
    "billing:statement": Row(_rosa_account, (get(signed_in(404, (200, CG_FULL))),), probe=CG_FULL),
    # More than the balance: refused with the form's message for those who may pay; 404 for everyone else.
    "billing:pay": Row(_rosa_account, (
        Case("POST", signed_in(404, (400, CG_FULL)), body={"amount": "500.00", "key": "matrix-pay"}),
    ), probe=CG_FULL),
    "billing:plan_start": Row(_rosa_account, (
        Case("POST", signed_in(404, (400, CG_FULL)), body={"instalment": "1.00", "day_of_month": "5", "key": "k"}),
    ), probe=CG_FULL),
    "billing:plan_resume": Row(lambda w: {**_rosa_account(w), "plan_id": w.rosa_plan.pk}, (
        Case("POST", signed_in(404, (302, CG_FULL)), body={"key": "matrix-resume"}, ok=(CG_FULL,),
             effect=failed_payment_recorded),
    ), probe=CG_FULL),
    "billing:plan_stop": Row(lambda w: {**_rosa_account(w), "plan_id": w.rosa_plan.pk}, (
        Case("POST", signed_in(404, (302, CG_FULL)), ok=(CG_FULL,), effect=plan_stopped),
    ), probe=CG_FULL),
    "billing:payment": Row(lambda w: {"payment_id": w.rosa_payment.pk}, (get(signed_in(404, (200, CG_FULL))),),
                           probe=CG_FULL),
    "billing:receipt": Row(lambda w: {"payment_id": w.rosa_payment.pk}, (get(signed_in(404, (200, CG_FULL))),),
                           probe=CG_FULL),
    # The processor's webhooks: public, the signature is the credential; unsigned, refused, nothing changes.
    "billing:payment_events": Row({}, (Case("POST", expand(400, (TO_VERIFY, UNVER))),), probe=ANON),
    "billing:staff_home": Row({"org_slug": "riverside"}, (get(staff(BILLING_DESK)),), probe=BILL),
    "billing:staff_plans": Row({"org_slug": "riverside"}, (get(staff(BILLING_DESK)),), probe=BILL),
    "billing:staff_import": Row({"org_slug": "riverside"}, (
        get(staff(BILLING_DESK)),
        Case("POST", staff(BILLING_DESK, 302), body=alex_statement_file, kind="multipart", ok=BILLING_DESK,
             effect=statement_file_posted),
    ), probe=BILL),
    "billing:staff_open_account": Row({"org_slug": "riverside"}, (
        Case("POST", staff(BILLING_DESK, 302),
             body=lambda w: {"enrollment": w.patient_record.enrollments.get(organization=w.org_here).pk},
             ok=BILLING_DESK, effect=alex_account_opened),
    ), probe=BILL),
    "billing:staff_account": Row(_desk_account, (get(staff(BILLING_DESK)),), probe=BILL),
    "billing:staff_post_entry": Row(_desk_account, (
        Case("POST", staff(BILLING_DESK, 302), body=_charge_body, ok=BILLING_DESK, effect=rosa_charged),
    ), probe=BILL),
    "billing:staff_statement": Row(_desk_account, (
        Case("POST", staff(BILLING_DESK, 302),
             body=lambda w: {"due_on": (timezone.localdate() + timedelta(days=30)).isoformat()},
             ok=BILLING_DESK, effect=bill_sent),
    ), probe=BILL),
    # The matrix's processor is unreachable: the refund is refused with the message, and nothing changes.
    "billing:staff_refund": Row(lambda w: {**_desk_account(w), "payment_id": w.rosa_payment.pk}, (
        Case("POST", staff(BILLING_DESK, 400), body={"amount": "5.00", "reason": "Matrix", "key": "r"}),
    ), probe=BILL),
    # Bills in the API: a path naming Rosa needs the billing scope for her; the desk's, billing staff and admins.
    "api-bills": Row(rosa_path, (get(api(404, (200, CG_FULL), (404, TOKEN_REV))),), probe=CG_FULL),
    "api-bill": Row(lambda w: {**rosa_path(w), "account_id": w.rosa_account.pk},
                    (get(api(404, (200, CG_FULL), (404, TOKEN_REV))),), probe=CG_FULL),
    # The matrix's processor is unreachable: the payment is refused with 502 and kept as failed, nothing charged.
    "api-bill-payments": Row(lambda w: {**rosa_path(w), "account_id": w.rosa_account.pk}, (
        Case("POST", api(404, (400, CG_FULL), (404, TOKEN_REV)), kind="json",
             body={"amount_cents": 999999, "idempotency_key": "matrix"}),
    ), probe=CG_FULL),
    # A plan already on hold: starting another is refused with the message; stopping it works for who may pay.
    "api-bill-plan": Row(lambda w: {**rosa_path(w), "account_id": w.rosa_account.pk}, (
        Case("POST", api(404, (400, CG_FULL), (404, TOKEN_REV)), kind="json",
             body={"instalment_cents": 2000, "day_of_month": 5, "idempotency_key": "matrix-plan"}),
        Case("DELETE", api(404, (204, CG_FULL), (404, TOKEN_REV)), ok=(CG_FULL,), effect=plan_stopped),
    ), probe=CG_FULL),
    "api-payment": Row(lambda w: {**rosa_path(w), "payment_id": w.rosa_payment.pk},
                       (get(api(404, (200, CG_FULL), (404, TOKEN_REV))),), probe=CG_FULL),
    "api-staff-billing-accounts": Row({"org_slug": "riverside"},
                                      (get(api(404, (200, BILLING_DESK), (REFUSED, NOMFA))),), probe=BILL),
    "api-staff-billing-account": Row(_desk_account, (get(api(404, (200, BILLING_DESK), (REFUSED, NOMFA))),),
                                     probe=BILL),
    "api-staff-billing-entries": Row(_desk_account, (
        Case("POST", api(404, (201, BILLING_DESK), (REFUSED, NOMFA)), kind="json",
             body={"kind": "charge", "amount_cents": 2500, "visit_number": "V-2", "service_date": "2026-01-05",
                   "description": "Lab test", "idempotency_key": "matrix-entry"}, ok=BILLING_DESK, effect=rosa_charged),
    ), probe=BILL),
    "api-staff-billing-statements": Row(_desk_account, (
        Case("POST", api(404, (201, BILLING_DESK), (REFUSED, NOMFA)), kind="json",
             body=lambda w: {"due_on": (timezone.localdate() + timedelta(days=30)).isoformat()},
             ok=BILLING_DESK, effect=bill_sent),
    ), probe=BILL),
    "api-staff-billing-refunds": Row(lambda w: {**_desk_account(w), "payment_id": w.rosa_payment.pk}, (
        Case("POST", api(404, (502, BILLING_DESK), (REFUSED, NOMFA)), kind="json",
             body={"amount_cents": 500, "reason": "Matrix", "idempotency_key": "r"}),
    ), probe=BILL),
    "api-schema": Row({}, (get(expand(200, (REFUSED, UNVER))),), probe=ANON),
    "api-docs": Row({}, (get(expand(200, (REFUSED, UNVER))),), probe=ANON),
    # The Django admin: platform staff with a verified second factor only.
    "admin:index": Row({}, (get(expand(302, (200, PADM))), Case("POST", expand(302, (200, PADM)))), probe=PADM),
    "admin:accounts_user_changelist": Row({}, (get(expand(302, (200, PADM))), Case("POST", expand(302, (200, PADM)))),
                                          probe=PADM),
    "admin:accounts_auditevent_changelist": Row({}, (get(expand(302, (200, PADM))),
                                                     Case("POST", expand(302, (200, PADM)))), probe=PADM),
    # allauth's account pages (the sign-in library's own flows; their bodies here are empty or wrong,
    # so nothing may change: the flows themselves are tested in tests/accounts and the browser journeys).
    "account_login": Row({}, (get(VISITORS_ONLY), Case("POST", VISITORS_ONLY)), probe=ANON),
    "account_signup": Row({}, (get(VISITORS_ONLY), Case("POST", VISITORS_ONLY)), probe=ANON),
    "account_logout": Row({}, (get(signed_in(200, (200, UNVER))), Case("POST", expand(302))), probe=PAT),
    "account_change_password": Row({}, (get(signed_in(200)), Case("POST", signed_in(200))), probe=PAT),
    "account_set_password": Row({}, (get(expand(302)), Case("POST", expand(302))), probe=PAT),
    "account_inactive": Row({}, (get(expand(200, (TO_VERIFY, UNVER))),), probe=ANON),
    "account_email": Row({}, (get(signed_in(200)), Case("POST", signed_in(302))), probe=PAT),
    "account_email_verification_sent": Row({}, (get(expand(200, (TO_VERIFY, UNVER))),), probe=ANON),
    "account_confirm_email": Row({"key": "not-a-real-key"}, (
        get(expand(200, (TO_VERIFY, UNVER))), Case("POST", expand(404, (TO_VERIFY, UNVER))),
    ), probe=ANON),
    "account_reset_password": Row({}, (
        get(expand(200, (TO_VERIFY, UNVER))), Case("POST", expand(200, (TO_VERIFY, UNVER))),
    ), probe=ANON),
    "account_reset_password_done": Row({}, (get(expand(200, (TO_VERIFY, UNVER))),), probe=ANON),
    "account_reset_password_from_key": Row({"uidb36": "zz", "key": "not-a-real-key"}, (
        get(expand(200, (TO_VERIFY, UNVER))), Case("POST", expand(200, (TO_VERIFY, UNVER))),
    ), probe=ANON),
    "account_reset_password_from_key_done": Row({}, (get(expand(200, (TO_VERIFY, UNVER))),), probe=ANON),
    "account_confirm_login_code": Row({}, (get(expand(302, (TO_VERIFY, UNVER))), Case("POST", expand(302))),
                                      probe=ANON),
    "account_reauthenticate": Row({}, (get(signed_in(200)), Case("POST", signed_in(200))), probe=PAT),
}  # fmt: skip


def _platform_denied(world: World) -> None:
    assert world.platform_request is not None
    world.platform_request.refresh_from_db()
    assert world.platform_request.status == GrantStatus.DENIED


def _teen_grant_revoked(world: World) -> None:
    grant = world.grants[TEEN]
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED


for _name, _row in MATRIX.items():
    if _name not in ENDED_EXEMPT:
        for _case in _row.cases:
            _case.statuses.update(dict.fromkeys(ENDED, REFUSED))

# The admin registers dozens of URLs per model; the rows above stand for all
# of them (the admin site checks permission in one place for every view).
COVERED_BY_REPRESENTATIVE_ROWS = ("admin:",)
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def test_every_url_has_a_row() -> None:
    names = {name for name in named_url_patterns() if not name.startswith(COVERED_BY_REPRESENTATIVE_ROWS)}
    missing = sorted(names - MATRIX.keys())
    assert not missing, f"URLs without a row in the authorization matrix: {missing}"
    stale = sorted(set(MATRIX) - names - {n for n in MATRIX if n.startswith(COVERED_BY_REPRESENTATIVE_ROWS)})
    assert not stale, f"Rows for URLs that no longer exist: {stale}"


def test_every_case_names_every_persona() -> None:
    for name, row in MATRIX.items():
        for case in row.cases:
            assert set(case.statuses) == set(EVERYONE), (
                f"{name} {case.method}: missing {set(EVERYONE) - set(case.statuses)}"
            )
            assert set(case.ok) <= set(EVERYONE)


# Everything but the audit log and the machinery that changes on every request.
UNWATCHED_MODELS = {"auditevent", "auditseal", "session", "logentry"}
UNWATCHED_FIELDS = {"last_login", "last_used_at", "throttling_failure_timestamp", "throttling_failure_count"}


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the portal owns (audit log aside), to show that a refused call changed nothing."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for model in apps.get_models():
        if model._meta.model_name in UNWATCHED_MODELS or model._meta.app_label in ("contenttypes", "auth"):
            continue
        values = [
            {key: value for key, value in row.items() if key not in UNWATCHED_FIELDS}
            for row in model._default_manager.order_by("pk").values()
        ]
        rows[model._meta.label] = values
    return rows


def _url(name: str, row: Row, world: World) -> str:
    kwargs = row.kwargs(world) if callable(row.kwargs) else row.kwargs
    query = row.extra.get("query", "")
    if callable(query):  # a query naming the world's objects
        query = "?" + urlencode(query(world))
    return reverse(name, kwargs=kwargs) + query


def _send(client: Client, method: str, url: str, case: Case, world: World) -> Any:
    body = case.body(world) if callable(case.body) else (case.body or {})
    if case.kind == "json":
        return client.generic(method, url, data=json.dumps(body), content_type="application/json")
    if method == "GET":
        return client.get(url)
    if case.kind == "multipart" and method == "POST":
        return client.post(url, data=body)
    return client.generic(
        method, url, data=urlencode(body, doseq=True), content_type="application/x-www-form-urlencoded"
    )


CASES = [
    pytest.param(name, index, persona, id=f"{name}-{case.method}-{persona}")
    for name, row in MATRIX.items()
    for index, case in enumerate(row.cases)
    for persona in EVERYONE
]


@pytest.mark.parametrize(("url_name", "case_index", "persona"), CASES)
def test_authorization_matrix(client: Client, world: World, url_name: str, case_index: int, persona: str) -> None:
    row = MATRIX[url_name]
    case = row.cases[case_index]
    sign_in(client, world, persona)
    url = _url(url_name, row, world)
    before = snapshot()
    response = _send(client, case.method, url, case, world)
    expected = case.statuses[persona]
    assert response.status_code == expected, (
        f"{case.method} {url} as {persona}: expected {expected}, got {response.status_code}"
    )
    if persona in case.ok and case.effect is not None:
        case.effect(world, persona)
    else:
        assert snapshot() == before, f"{case.method} {url} as {persona} changed rows it must not change"


@pytest.mark.parametrize("url_name", [name for name, row in MATRIX.items() if row.probe])
def test_methods_a_row_leaves_out_are_not_allowed(client: Client, world: World, url_name: str) -> None:
    """Proves each row lists every method its URL accepts: the others answer 405 to someone who may use it."""
    row = MATRIX[url_name]
    assert row.probe is not None
    listed = {case.method for case in row.cases} | ({"HEAD"} if "GET" in {c.method for c in row.cases} else set())
    sign_in(client, world, row.probe)
    url = _url(url_name, row, world)
    before = snapshot()
    for method in ALL_METHODS:
        if method in listed:
            continue
        response = client.generic(method, url)
        assert response.status_code == 405, f"{method} {url} as {row.probe}: {response.status_code}, not 405"
    assert snapshot() == before


def test_a_revoked_caregivers_session_and_token_stop_at_once(client: Client, world: World) -> None:
    """The same person, revoked: their session is refused on the next page, their token on the next call."""
    grant = world.grants[CG_REC]
    sign_in(client, world, CG_REC)
    assert client.get(reverse("person")).status_code == 200
    _row, token = create_token_for(world.user(CG_REC))
    api_client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACTING_FOR=str(grant.patient_id))
    assert api_client.get(reverse("api-me")).status_code == 200
    ProxyGrant.objects.filter(pk=grant.pk).update(status=GrantStatus.REVOKED, status_changed_at=timezone.now())
    assert client.get(reverse("person")).status_code == REFUSED
    assert ACTING_FOR_KEY not in client.session
    assert api_client.get(reverse("api-me")).status_code == REFUSED


def test_the_matrix_is_large_enough_to_mean_something() -> None:
    cases = sum(len(row.cases) for row in MATRIX.values())
    assert len(MATRIX) >= 75
    assert cases * len(EVERYONE) >= 2000
