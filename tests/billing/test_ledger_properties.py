"""The balance is the ledger's sum, whatever happens to an account, and nothing drives it below zero but a refund's
mirror: random sequences of charges, insurance payments, adjustments, card payments and refunds, through the
real actions, checked after every step against a model kept in the test."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.actors import actor_for
from accounts.scoping import Desk
from billing import actions
from billing.actions import post_entry, refund_payment
from billing.models import BillingAccount, EntryKind, LedgerEntry, Payment
from billing.payments import _record_success
from billing.selectors import balance_of, statement_of, with_balance
from tests.conftest import World

AMOUNTS = st.integers(min_value=1, max_value=50_000)
STEP = st.one_of(
    st.tuples(st.just("charge"), AMOUNTS),
    st.tuples(st.just("insurance"), AMOUNTS),
    st.tuples(st.just("lower"), AMOUNTS),
    st.tuples(st.just("raise"), AMOUNTS),
    st.tuples(st.just("pay"), AMOUNTS),
    st.tuples(st.just("refund"), AMOUNTS),
)


class ProcessorStandIn:
    """The card processor's refunds, for this test only (the real adapter is tested against the sandbox)."""

    name = "stripe"

    def refund(self, *, reference: str, amount_cents: int, idempotency_key: str) -> str:
        return f"re_{idempotency_key[:20]}"


@pytest.fixture
def desk(world: World, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(actions, "gateway", ProcessorStandIn)
    return actor_for(world.user("org_admin")).at_desk(Desk(world.org_here))


def _pay(account: BillingAccount, cents: int) -> Payment:
    payment = Payment.objects.create(
        account=account,
        amount_cents=cents,
        idempotency_key=f"pay-{uuid.uuid4().hex}",
        gateway="stripe",
        checkout_id="cs_x",
    )
    return _record_success(payment, reference=f"pi_{payment.pk.hex}")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], max_examples=60)
@given(steps=st.lists(STEP, min_size=1, max_size=12))
def test_the_balance_is_always_the_ledgers_sum(world: World, desk: Any, steps: list[tuple[str, int]]) -> None:
    account = BillingAccount.objects.create(organization=world.org_here, patient=world.patient_record)
    expected = 0
    refundable: list[tuple[Payment, int]] = []  # each payment and what is left to refund on it
    try:
        for kind, cents in steps:
            rows_before = LedgerEntry.objects.filter(account=account).count()
            refused = False
            try:
                if kind == "charge":
                    post_entry(
                        staff=desk,
                        account=account,
                        kind=EntryKind.CHARGE,
                        amount_cents=cents,
                        visit_number="V",
                        service_date=world.org_here.created_at.date(),
                        description="Visit",
                    )
                    expected += cents
                elif kind in ("insurance", "lower"):
                    post_entry(
                        staff=desk,
                        account=account,
                        kind=EntryKind.INSURANCE_PAYMENT if kind == "insurance" else EntryKind.ADJUSTMENT,
                        amount_cents=cents,
                        reason="Write-off",
                        visit_number="V",
                    )
                    assert cents <= expected, "lowering below zero must be refused"
                    expected -= cents
                elif kind == "raise":
                    post_entry(
                        staff=desk,
                        account=account,
                        kind=EntryKind.ADJUSTMENT,
                        amount_cents=cents,
                        lowers=False,
                        reason="Fee",
                    )
                    expected += cents
                elif kind == "pay":
                    if cents > expected:  # the pay form refuses it: not a ledger action
                        raise ValidationError("above the balance")
                    refundable.append((_pay(account, cents), cents))
                    expected -= cents
                elif kind == "refund":
                    if not refundable:
                        raise ValidationError("nothing to refund")
                    payment, left = refundable[-1]
                    refund_payment(
                        staff=desk,
                        payment=payment,
                        amount_cents=cents,
                        reason="Asked",
                        idempotency_key=uuid.uuid4().hex,
                    )
                    assert cents <= left, "refunding more than was paid must be refused"
                    refundable[-1] = (payment, left - cents)
                    expected += cents
            except ValidationError:
                refused = True
            rows = list(LedgerEntry.objects.filter(account=account))
            if refused:
                assert len(rows) == rows_before, f"a refused {kind} wrote a row"
            total = sum(row.amount_cents for row in rows)
            assert total == expected
            assert balance_of(account) == expected
            assert with_balance(BillingAccount.objects.filter(pk=account.pk)).get().balance == expected
            view = statement_of(account)
            assert view.balance == expected
            assert sum(v.left_for_you for v in view.visits) + sum(m.amount_cents for m in view.money_moves) == expected
            assert expected >= 0
    finally:
        LedgerEntry.objects.filter(account=account).delete()
        Payment.objects.filter(account=account).delete()
        account.delete()


def test_a_row_of_the_wrong_sign_is_refused_by_the_database(world: World) -> None:
    from django.db import IntegrityError, transaction

    account = BillingAccount.objects.create(organization=world.org_here, patient=world.patient_record)
    for kind, cents in (
        (EntryKind.CHARGE, -5),
        (EntryKind.PAYMENT, 5),
        (EntryKind.INSURANCE_PAYMENT, 5),
        (EntryKind.ADJUSTMENT, 0),
        (EntryKind.REFUND, -5),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(account=account, kind=kind, amount_cents=cents)
    assert not LedgerEntry.objects.filter(account=account).exists()
