"""The age and expiry rules, as pure functions of dates (property-tested with hypothesis).

- Under the adolescent age (12 by default): a parent has the access the grant gives.
- From then until 18: a parent's access is limited: sensitive and confidential
  items are always hidden, and the adolescent may message the care team privately.
- Any other grant hides sensitive and confidential items unless the patient allowed them on the grant.
- On the 18th birthday a parent-of-minor grant ends. Sixty days before, the
  parent is told, with a guided request for continued access on another basis.
- Every grant also ends at its own expiry, and any grant can be revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from accounts.models.audit import Basis

ADULT_AGE = 18
MAJORITY_NOTICE_DAYS = 60


@dataclass(frozen=True)
class AgePolicy:
    adolescent_from_age: int = 12


DEFAULT_POLICY = AgePolicy()


class Stage(Enum):
    CHILD = "child"
    ADOLESCENT = "adolescent"
    ADULT = "adult"


def age_on(birth_date: date, day: date) -> int:
    """Completed years on `day`. Someone born on 29 February turns a year older on 1 March in other years."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def birthday_at_age(birth_date: date, years: int) -> date:
    """The first day on which age_on(birth_date, day) == years."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:  # 29 February in a year without one
        return date(birth_date.year + years, 3, 1)


def stage_on(birth_date: date, day: date, policy: AgePolicy = DEFAULT_POLICY) -> Stage:
    age = age_on(birth_date, day)
    if age >= ADULT_AGE:
        return Stage.ADULT
    if age >= policy.adolescent_from_age:
        return Stage.ADOLESCENT
    return Stage.CHILD


@dataclass(frozen=True)
class EffectiveAccess:
    scopes: frozenset[str]
    hide_sensitive: bool


def effective_access(
    *,
    legal_basis: str,
    scopes: frozenset[str],
    status: str,
    starts_at: datetime,
    expires_at: datetime | None,
    birth_date: date,
    now: datetime,
    today: date,
    allows_sensitive: bool,
    policy: AgePolicy = DEFAULT_POLICY,
) -> EffectiveAccess | None:
    """What a grant allows at `now` (and on the patient's local `today`), or None if nothing."""
    if status != "active" or now < starts_at or (expires_at is not None and now >= expires_at):
        return None
    if legal_basis != Basis.PARENT_OF_MINOR:
        return EffectiveAccess(scopes=scopes, hide_sensitive=not allows_sensitive)
    stage = stage_on(birth_date, today, policy)
    if stage is Stage.ADULT:
        return None
    if stage is Stage.ADOLESCENT:
        # Always hidden from a parent of an adolescent, whatever the grant or a clinic says.
        return EffectiveAccess(scopes=scopes, hide_sensitive=True)
    return EffectiveAccess(scopes=scopes, hide_sensitive=False)


def majority_notice_due(birth_date: date, today: date) -> bool:
    """True in the 60 days before the 18th birthday (the notice is sent once in that window)."""
    adulthood = birthday_at_age(birth_date, ADULT_AGE)
    return adulthood - timedelta(days=MAJORITY_NOTICE_DAYS) <= today < adulthood


def care_today(now: datetime) -> date:
    """The calendar day for age rules: in the platform's care time zone, the same for pages and the daily task."""
    return timezone.localdate(now, ZoneInfo(settings.DEFAULT_USER_TIME_ZONE))


def policy_for(organizations: list[AgePolicy]) -> AgePolicy:
    """A patient cared for at several organizations gets the most protective of their policies."""
    if not organizations:
        return DEFAULT_POLICY
    return AgePolicy(adolescent_from_age=min(p.adolescent_from_age for p in organizations))
