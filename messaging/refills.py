"""Which medicines can be refilled, where, and when each runs out.

A medicine is refillable here when its current order (a MedicationRequest in the record) came from a health
system that is an organization on the platform where the person is enrolled (HealthSystem.organization): the
request goes to that organization's care team, for one of its pharmacies. Orders from anywhere else (another
health system, an uploaded file) are read-only: the page says where to ask instead.

A medication key names the same medicine from one prescription to the next: "rxnorm:<code>" when the order
has an RxNorm code, else "name:<the name in lower case>". Requests, reminder choices and reminders sent are
kept by key.

Who sees what (records.selectors.medication_supply_for_refills): the refills scope is enough to see the
medicines one may ask for (their names are needed to ask); with the records scope too, the read-only ones are
listed as well, with where to ask. Sensitive and confidential orders stay hidden as on the record's pages.

When a medicine runs out: the latest dispense of that medicine (MedicationDispense.whenHandedOver plus its
daysSupply; the order's expectedSupplyDuration when the dispense has none), else the order's date
(authoredOn) plus its expectedSupplyDuration. Without a days' supply, no date (and no reminder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor, Scope
from accounts.models import Enrollment, Organization
from accounts.scoping import scoped
from messaging.access import refills_visible_to
from messaging.models import (
    FavoritePharmacy,
    Pharmacy,
    RefillReminderChoice,
    RefillRequest,
    RefillStatus,
    ThreadRead,
)
from records.projections import concept
from records.sections import current_rule
from records.selectors import medication_supply_for_refills

if TYPE_CHECKING:
    from uuid import UUID

    from records.models import FhirResource

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
KEY_LIMIT = 200
# Dispenses that never reached the person.
NOT_HANDED_OVER = frozenset({"cancelled", "entered-in-error", "declined", "stopped", "preparation", "on-hold"})
DAYS_PER_UNIT = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "mo": 30, "month": 30, "months": 30}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def medication_key(system: str, code: str, name: str) -> str:
    """The same medicine across prescriptions: its RxNorm code, else its name in lower case."""
    if system == RXNORM and code:
        return f"rxnorm:{code}"[:KEY_LIMIT]
    return ("name:" + " ".join(name.lower().split()))[:KEY_LIMIT]


def medicine_of(raw: dict[str, Any]) -> tuple[str, str, str]:
    """(system, code, name) of a MedicationRequest's or MedicationDispense's medicine (a contained one too)."""
    system, code, name = concept(raw.get("medicationCodeableConcept"))
    if code or name:
        return system, code, name
    reference = _dict(raw.get("medicationReference"))
    name = str(reference.get("display") or "")
    target = str(reference.get("reference") or "")
    if target.startswith("#"):
        for contained in _list(raw.get("contained")):
            if isinstance(contained, dict) and contained.get("id") == target[1:]:
                system, code, found = concept(contained.get("code"))
                return system, code, name or found
    return "", "", name


def days_of(quantity: Any) -> int | None:
    """A Duration or SimpleQuantity in days (days, weeks or months); None when it is not one."""
    value = _dict(quantity).get("value")
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    unit = str(_dict(quantity).get("code") or _dict(quantity).get("unit") or "d").lower()
    per = DAYS_PER_UNIT.get(unit)
    return None if per is None else int(value * per)


def day_of(text: Any) -> date | None:
    """The calendar day of a FHIR date or dateTime (as written: the day the pharmacy or clinic meant)."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


@dataclass
class Supply:
    """The latest fill of a medicine: when it was handed over and for how many days (when known)."""

    day: date
    days: int | None


def latest_dispenses(rows: list[FhirResource]) -> dict[str, Supply]:
    """Each medicine's latest dispense handed over, by medication key."""
    latest: dict[str, Supply] = {}
    for row in rows:
        raw = _dict(row.raw)
        status = str(raw.get("status") or "")
        if status in NOT_HANDED_OVER:
            continue
        day = day_of(raw.get("whenHandedOver")) or (day_of(raw.get("whenPrepared")) if status == "completed" else None)
        if day is None:
            continue
        key = medication_key(*medicine_of(raw))
        if key not in latest or day > latest[key].day:
            latest[key] = Supply(day=day, days=days_of(raw.get("daysSupply")))
    return latest


def runs_out_on(order: FhirResource, dispensed: Supply | None) -> date | None:
    raw = _dict(order.raw)
    ordered_days = days_of(_dict(raw.get("dispenseRequest")).get("expectedSupplyDuration"))
    ordered_on = day_of(raw.get("authoredOn"))
    if dispensed is not None and (ordered_on is None or dispensed.day >= ordered_on):
        days = dispensed.days or ordered_days
        return dispensed.day + timedelta(days=days) if days else None
    if ordered_on is not None and ordered_days:
        return ordered_on + timedelta(days=ordered_days)
    return None


@dataclass
class Medicine:
    """One medicine on the refills page: its newest current order, and whether and where it can be refilled."""

    order: FhirResource
    key: str
    name: str
    organization: Organization | None  # refillable there; None: read-only here
    prescribed_by: str  # the health system's name (or the source's, for an upload)
    from_health_system: bool
    runs_out_on: date | None = None
    reminders_on: bool = True
    waiting: RefillRequest | None = None  # a request sent and not yet answered
    order_ids: set[int] = field(default_factory=set)

    @property
    def refillable(self) -> bool:
        return self.organization is not None

    @property
    def ran_out(self) -> bool:
        """The supply's date is past (it ran out, or a fill the record does not know of came since)."""
        return self.runs_out_on is not None and self.runs_out_on < timezone.localdate()

    @property
    def ask_instead(self) -> str:
        if self.refillable:
            return ""
        if self.from_health_system:
            return _("Ask %(name)s, which prescribed it.") % {"name": self.prescribed_by}
        return _("Ask the prescriber or your pharmacy.")


def _orders_and_dispenses(actor: Actor) -> tuple[list[FhirResource], list[FhirResource]]:
    rows = list(
        medication_supply_for_refills(actor)
        .filter(
            Q(resource_type="MedicationDispense") | (Q(resource_type="MedicationRequest") & current_rule("medication"))
        )
        .select_related("source__health_system")
        .order_by("-effective_at", "-pk")
    )
    orders = [row for row in rows if row.resource_type == "MedicationRequest"]
    return orders, [row for row in rows if row.resource_type == "MedicationDispense"]


def medicines(actor: Actor) -> list[Medicine]:
    """The medicines of the person the actor acts for, refillable ones first, each once (a fixed query count).

    With the refills scope alone, only the refillable ones; with the records scope too, the read-only ones
    as well (with where to ask).
    """
    patient = actor.subject
    if patient is None or Scope.REFILLS not in actor.scopes:
        return []
    orders, dispenses = _orders_and_dispenses(actor)
    if not orders:
        return []
    enrolled = {
        organization.pk: organization
        for organization in Organization.objects.filter(
            pk__in=Enrollment.objects.filter(patient=patient).values("organization_id")
        )
    }
    supplies = latest_dispenses(dispenses)
    found: dict[str, Medicine] = {}
    for order in orders:  # newest first
        system = order.source.health_system
        organization = enrolled.get(system.organization_id) if system and system.organization_id else None
        key = medication_key(order.code_system, order.code, order.display)
        medicine = found.get(key)
        if medicine is not None:
            medicine.order_ids.add(order.pk)
            if medicine.refillable or organization is None:
                continue
            # A refillable order beats a newer read-only copy of the same medicine.
            order_ids = medicine.order_ids
        else:
            order_ids = {order.pk}
        found[key] = Medicine(
            order=order,
            key=key,
            name=order.display or _("A medicine without a name"),
            organization=organization,
            prescribed_by=system.name if system else order.source.label,
            from_health_system=system is not None,
            order_ids=order_ids,
        )
    listed = [m for m in found.values() if m.refillable or Scope.RECORDS in actor.scopes]
    off = set(
        RefillReminderChoice.objects.filter(patient=patient, reminders_on=False).values_list(
            "medication_key", flat=True
        )
    )
    waiting = {
        (request.organization_id, request.medication_key): request
        for request in refills_visible_to(actor).filter(status=RefillStatus.SENT)
    }
    for medicine in listed:
        medicine.runs_out_on = runs_out_on(medicine.order, supplies.get(medicine.key))
        medicine.reminders_on = medicine.key not in off
        if medicine.organization is not None:
            medicine.waiting = waiting.get((medicine.organization.pk, medicine.key))
    return sorted(listed, key=lambda m: (not m.refillable, m.name.lower()))


def medicine_by_order(actor: Actor, order_id: int) -> Medicine | None:
    """The medicine one of whose current orders is `order_id`, as `medicines` lists it for the actor."""
    return next((m for m in medicines(actor) if order_id in m.order_ids), None)


def medicine_by_key(actor: Actor, key: str) -> Medicine | None:
    return next((m for m in medicines(actor) if m.key == key), None)


def pharmacies_for(patient_id: UUID, organization: Organization) -> QuerySet[Pharmacy]:
    """The organization's active pharmacies, the person's favourites first (each with `favorite`)."""
    favorites = FavoritePharmacy.objects.filter(patient_id=patient_id).values("pharmacy_id")
    return (
        Pharmacy.objects.filter(organization=organization, is_active=True)
        .annotate(favorite=Case(When(pk__in=favorites, then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("-favorite", "name", "pk")
    )


def favorite_pharmacies(patient_id: UUID) -> QuerySet[Pharmacy]:
    return (
        Pharmacy.objects.filter(pk__in=FavoritePharmacy.objects.filter(patient_id=patient_id).values("pharmacy_id"))
        .select_related("organization")
        .order_by("name", "pk")
    )


def refill_history(actor: Actor) -> QuerySet[RefillRequest]:
    """The person's refill requests, waiting ones first, then newest (no private ones for caregivers)."""
    seen = ThreadRead.objects.filter(thread=OuterRef("thread_id"), user=actor.user, read_at__gte=OuterRef("decided_at"))
    return (
        refills_visible_to(actor)
        .select_related("pharmacy", "organization", "requested_by", "decided_by", "medication")
        .annotate(
            waiting_first=Case(When(status=RefillStatus.SENT, then=Value(0)), default=Value(1)),
            seen=Exists(seen),
        )
        .order_by("waiting_first", "-requested_at", "-pk")
    )


# The staff side: the desk's refill queue.

QUEUE_DECIDED_SHOWN = 25


def refill_queue(staff: Actor) -> tuple[list[RefillRequest], list[RefillRequest]]:
    """The desk's refill requests: the waiting ones, oldest first, and the latest decided (two queries).

    Each with the patient, the pharmacy, who asked and who decided, and `mrn` (the patient's at this
    organization).
    """
    mrn = Subquery(
        scoped(staff, Enrollment)
        .filter(patient_id=OuterRef("patient_id"), organization_id=OuterRef("organization_id"))
        .values("mrn")[:1]
    )
    rows = (
        scoped(staff, RefillRequest)
        .select_related("patient", "organization", "pharmacy", "requested_by", "decided_by", "medication")
        .annotate(mrn=mrn)
    )
    waiting: list[RefillRequest] = list(rows.filter(status=RefillStatus.SENT).order_by("requested_at", "pk"))
    decided: list[RefillRequest] = list(
        rows.exclude(status=RefillStatus.SENT).order_by("-decided_at", "-pk")[:QUEUE_DECIDED_SHOWN]
    )
    return waiting, decided
