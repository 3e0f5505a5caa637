"""Insurance beside the bill: the insurer's own statements (ExplanationOfBenefit) matched to a bill's visits.

The clinic's statement says what it charged and what it was paid; the insurer's Explanation of Benefit,
pulled from a connected insurer or health system, says what the insurer was billed, what it paid and what
it left to the patient. A visit and an EOB match when the EOB's service period starts on the visit's date
(a day either side, for visits near midnight in another time zone); an EOB from a health system linked to
the bill's organization is preferred. Read through records' selector, so only someone who may also read
the person's record (the records scope) sees them; sensitive EOBs stay hidden as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from accounts.actors import Actor, Scope
from billing.models import BillingAccount
from billing.selectors import VisitLines
from records.selectors import visible_to

MATCH_DAYS = 1
MAX_EOBS = 200  # read for one statement at most: a statement lists a bounded number of visits
PATIENT_SHARE_CODES = ("copay", "deductible", "coinsurance", "patientpay", "patient-responsibility")


@dataclass(frozen=True)
class InsurerStatement:
    insurer: str
    source: str
    billed_cents: int | None
    paid_cents: int | None
    patient_share_cents: int | None
    currency: str


def _cents(money: Any) -> int | None:
    if not isinstance(money, dict):
        return None
    try:
        value = Decimal(str(money.get("value")))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or abs(value) > 10_000_000:
        return None
    return int((value * 100).to_integral_value())


def _codes(concept: Any) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    codings = _list(concept.get("coding"))
    return {str(c.get("code", "")).lower() for c in codings if isinstance(c, dict)}


def read_eob(raw: dict[str, Any], source: str) -> InsurerStatement:
    """What an EOB says in money; a value it lacks is None (shown as "not given"), never a guess."""
    totals = _list(raw.get("total"))
    billed = paid = share = None
    currency = ""
    for total in totals:
        if not isinstance(total, dict):
            continue
        codes = _codes(total.get("category"))
        amount = _cents(total.get("amount"))
        currency = currency or str((total.get("amount") or {}).get("currency", ""))[:3]
        if "submitted" in codes:
            billed = amount
        elif "benefit" in codes:
            paid = amount
        elif codes & set(PATIENT_SHARE_CODES) and amount is not None:
            share = (share or 0) + amount
    payment = _dict(raw.get("payment"))
    if paid is None:
        paid = _cents(payment.get("amount"))
    insurer = _dict(raw.get("insurer"))
    return InsurerStatement(
        insurer=str(insurer.get("display", ""))[:200],
        source=source,
        billed_cents=billed,
        paid_cents=paid,
        patient_share_cents=share,
        currency=currency.upper() or "USD",
    )


def insurance_beside(actor: Actor, account: BillingAccount, visits: list[VisitLines]) -> None:
    """Puts on each visit of the statement (`visit.insurer`) the insurer's statement of it, when one is found."""
    days = {visit.service_date for visit in visits if visit.service_date}
    if not days or Scope.RECORDS not in actor.scopes:
        return
    window = {day + timedelta(days=shift) for day in days for shift in range(-MATCH_DAYS, MATCH_DAYS + 1)}
    rows = list(
        visible_to(actor)
        .filter(resource_type="ExplanationOfBenefit", effective_at__date__in=window)
        .select_related("source__health_system")
        .only("raw", "effective_at", "source__label", "source__health_system__organization_id")
        .order_by("effective_at", "pk")[:MAX_EOBS]
    )
    for visit in visits:
        if not visit.service_date:
            continue
        candidates = [row for row in rows if row.effective_at and _near(row.effective_at.date(), visit.service_date)]
        if not candidates:
            continue
        own = [
            r
            for r in candidates
            if r.source.health_system and r.source.health_system.organization_id == account.organization_id
        ]
        best = (own or candidates)[0]
        visit.insurer = read_eob(best.raw if isinstance(best.raw, dict) else {}, best.source.label)


@dataclass(frozen=True)
class CoverageOnFile:
    insurer: str
    source: str


COVERAGES_SHOWN = 3


def coverage_on_file(actor: Actor) -> list[CoverageOnFile]:
    """The person's insurance (Coverage) from their connected sources, newest first, those not ended."""
    if Scope.RECORDS not in actor.scopes:
        return []
    rows = (
        visible_to(actor)
        .filter(resource_type="Coverage")
        .exclude(status__in=("cancelled", "entered-in-error"))
        .select_related("source")
        .only("display", "source__label", "effective_at")
        .order_by("-effective_at", "-pk")[: COVERAGES_SHOWN * 3]
    )
    seen: set[str] = set()
    found = []
    for row in rows:
        if row.display and row.display not in seen:
            seen.add(row.display)
            found.append(CoverageOnFile(insurer=row.display, source=row.source.label))
    return found[:COVERAGES_SHOWN]


def _near(day: date, other: date) -> bool:
    return abs((day - other).days) <= MATCH_DAYS


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
