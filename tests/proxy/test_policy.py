"""Property tests of the age and expiry rules over random birth dates and clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from accounts.models.audit import Basis
from proxy.policy import (
    ADULT_AGE,
    MAJORITY_NOTICE_DAYS,
    AgePolicy,
    Stage,
    age_on,
    birthday_at_age,
    effective_access,
    majority_notice_due,
    policy_for,
    stage_on,
)

birth_dates = st.dates(min_value=date(1920, 1, 1), max_value=date(2030, 12, 31))
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
bases = st.sampled_from(
    [Basis.PATIENT_CONSENT, Basis.PARENT_OF_MINOR, Basis.COURT_GUARDIANSHIP, Basis.POWER_OF_ATTORNEY, Basis.OTHER]
)
policies = st.builds(AgePolicy, adolescent_from_age=st.integers(min_value=10, max_value=16))
ALL = frozenset({"records", "messaging"})


def _at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@given(birth_dates, st.integers(min_value=1, max_value=100))
def test_birthday_at_age_is_the_first_day_of_that_age(birth: date, years: int) -> None:
    day = birthday_at_age(birth, years)
    assert age_on(birth, day) == years
    assert age_on(birth, day - timedelta(days=1)) == years - 1


@given(birth_dates, days, policies, st.booleans())
def test_a_parent_has_access_exactly_until_the_18th_birthday(
    birth: date, today: date, policy: AgePolicy, allows: bool
) -> None:
    access = effective_access(
        legal_basis=Basis.PARENT_OF_MINOR,
        scopes=ALL,
        status="active",
        starts_at=_at_noon(date(1900, 1, 1)),
        expires_at=None,
        birth_date=birth,
        now=_at_noon(today),
        today=today,
        allows_sensitive=allows,
        policy=policy,
    )
    age = age_on(birth, today)
    assert (access is None) == (age >= ADULT_AGE)
    if access is not None:
        # Limited (sensitive items hidden) exactly from the adolescent age, always,
        # whatever the grant allows: a grant cannot lift the adolescent's protection.
        assert access.hide_sensitive == (age >= policy.adolescent_from_age)
        assert access.scopes == ALL


@given(birth_dates, days, bases, st.booleans())
def test_other_bases_do_not_depend_on_age(birth: date, today: date, basis: str, allows: bool) -> None:
    access = effective_access(
        legal_basis=basis,
        scopes=ALL,
        status="active",
        starts_at=_at_noon(date(1900, 1, 1)),
        expires_at=None,
        birth_date=birth,
        now=_at_noon(today),
        today=today,
        allows_sensitive=allows,
    )
    if basis != Basis.PARENT_OF_MINOR:
        assert access is not None
        # Sensitive and confidential items only when the patient allowed them on the grant.
        assert access.hide_sensitive == (not allows)


@given(days, st.integers(min_value=-400, max_value=400), st.integers(min_value=-3000, max_value=3000), bases)
def test_a_grant_holds_from_its_start_until_its_expiry(
    today: date, start_offset: int, expiry_offset_h: int, basis: str
) -> None:
    now = _at_noon(today)
    starts_at = now + timedelta(days=start_offset)
    expires_at = now + timedelta(hours=expiry_offset_h)
    access = effective_access(
        legal_basis=basis,
        scopes=ALL,
        status="active",
        starts_at=starts_at,
        expires_at=expires_at,
        birth_date=today - timedelta(days=5 * 365),
        now=now,
        today=today,  # a child: age plays no part here
        allows_sensitive=False,
    )
    assert (access is not None) == (starts_at <= now < expires_at)


@given(birth_dates, days, st.sampled_from(["pending", "revoked", "expired", "denied"]), bases)
def test_only_active_grants_give_access(birth: date, today: date, status: str, basis: str) -> None:
    assert (
        effective_access(
            legal_basis=basis,
            scopes=ALL,
            status=status,
            starts_at=_at_noon(date(1900, 1, 1)),
            expires_at=None,
            birth_date=birth,
            now=_at_noon(today),
            today=today,
            allows_sensitive=True,
        )
        is None
    )


@given(birth_dates, days)
def test_the_majority_notice_window_is_the_60_days_before_the_birthday(birth: date, today: date) -> None:
    adulthood = birthday_at_age(birth, ADULT_AGE)
    expected = 0 < (adulthood - today).days <= MAJORITY_NOTICE_DAYS
    assert majority_notice_due(birth, today) == expected


@given(birth_dates, days, policies)
def test_stages_follow_each_other(birth: date, today: date, policy: AgePolicy) -> None:
    stage = stage_on(birth, today, policy)
    age = age_on(birth, today)
    assert stage == (
        Stage.ADULT if age >= 18 else Stage.ADOLESCENT if age >= policy.adolescent_from_age else Stage.CHILD
    )


@given(st.lists(policies, max_size=4))
def test_several_organizations_give_the_most_protective_policy(found: list[AgePolicy]) -> None:
    combined = policy_for(found)
    if found:
        assert combined.adolescent_from_age == min(p.adolescent_from_age for p in found)
    else:
        assert combined == AgePolicy()
