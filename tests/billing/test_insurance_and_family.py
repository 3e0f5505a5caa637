"""The insurer's statement beside the bill (matched by the visit's day, preferring the clinic's own source,
read through the record's selector), the family view's bills card, the API on both sides, and the demo's bill."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from billing.insurance import read_eob
from billing.models import EntryKind, LedgerEntry, Payment
from records.models import HealthSystem
from tests.conftest import World, sign_in
from tests.records.record_data import source_for, store


def eob(
    rid: str,
    day: str,
    *,
    billed: float | None,
    paid: float | None,
    share: float | None = None,
    insurer: str = "Medicare",
) -> dict[str, Any]:
    totals = []
    adjudication = "http://terminology.hl7.org/CodeSystem/adjudication"
    if billed is not None:
        totals.append(
            {
                "category": {"coding": [{"system": adjudication, "code": "submitted"}]},
                "amount": {"value": billed, "currency": "USD"},
            }
        )
    if share is not None:
        totals.append(
            {
                "category": {"coding": [{"system": adjudication, "code": "copay"}]},
                "amount": {"value": share, "currency": "USD"},
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": rid,
        "status": "active",
        "use": "claim",
        "patient": {"reference": "Patient/rosa"},
        "billablePeriod": {"start": day, "end": day},
        "created": day + "T12:00:00Z",
        "insurer": {"display": insurer},
        "outcome": "complete",
        "total": totals,
    }
    if paid is not None:
        resource["payment"] = {"amount": {"value": paid, "currency": "USD"}}
    return resource


def test_what_an_eob_says_and_what_it_does_not() -> None:
    said = read_eob(eob("e", "2026-03-02", billed=210.5, paid=104.16, share=20), "Riverside")
    assert (said.billed_cents, said.paid_cents, said.patient_share_cents) == (21050, 10416, 2000)
    unsaid = read_eob({"total": [{"category": "junk", "amount": {"value": "NaN"}}], "payment": "x"}, "S")
    assert (unsaid.billed_cents, unsaid.paid_cents, unsaid.patient_share_cents) == (None, None, None)
    assert (
        read_eob(
            {"total": [{"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": 1e300}}]}, "S"
        ).billed_cents
        is None
    )


def test_the_insurers_statement_shows_beside_the_visit_for_whoever_may_read_the_record(world: World) -> None:
    day = timezone.localdate().isoformat()  # the world's visit V-1 is today
    clinic = world.rosa_connection.source
    system = HealthSystem.objects.get(pk=clinic.health_system_id)
    system.organization = world.org_here
    system.save()
    store(clinic, eob("eob-clinic", day, billed=100, paid=30, share=15))
    store(
        clinic,
        {
            "resourceType": "Coverage",
            "id": "cov-1",
            "status": "active",
            "beneficiary": {"reference": "Patient/rosa"},
            "payor": [{"display": "Medicare Part B"}],
            "period": {"start": "2013-04-01"},
        },
    )
    store(source_for(world.people["rosa"], "Another insurer's file"), eob("eob-other", day, billed=999, paid=1))
    store(clinic, eob("eob-far", (timezone.localdate() - timedelta(days=9)).isoformat(), billed=5, paid=5))
    maria = sign_in(Client(), world, "caregiver_full")
    page = maria.get(reverse("billing:statement", args=[world.rosa_account.pk])).content.decode()
    assert "What your insurer says about this visit" in page
    assert "Insurance on file: Medicare Part B" in page
    assert "$100.00" in page
    assert "$15.00" in page
    assert "$999.00" not in page
    api = maria.get(reverse("api-bill", args=[world.people["rosa"].pk, world.rosa_account.pk])).json()
    assert api["visits"][0]["insurer"]["billed_cents"] == 10000
    assert api["visits"][0]["insurer"]["patient_share_cents"] == 1500


def test_a_helper_without_the_records_scope_sees_the_bill_but_not_the_insurers_statement(world: World) -> None:
    from proxy.models import ProxyGrant

    day = timezone.localdate().isoformat()
    store(world.rosa_connection.source, eob("eob-clinic", day, billed=100, paid=30))
    grant = ProxyGrant.objects.get(pk=world.grants["caregiver_full"].pk)
    grant.scopes = ["billing"]
    grant.save()
    maria = sign_in(Client(), world, "caregiver_full")
    page = maria.get(reverse("billing:statement", args=[world.rosa_account.pk]))
    assert page.status_code == 200
    assert "What your insurer says" not in page.content.decode()
    assert "$60.00" in page.content.decode()


def test_the_family_card_says_what_is_due_and_links_to_the_bill(world: World) -> None:
    maria = sign_in(Client(), world, "caregiver_full")
    page = maria.get(reverse("family")).content.decode()
    assert "A bill of $60.00 from Riverside Family Clinic is due" in page
    assert reverse("billing:statement", args=[world.rosa_account.pk]) in page
    # Someone with Rosa's records only is not told of her bills.
    records_only = sign_in(Client(), world, "caregiver_records").get(reverse("family")).content.decode()
    assert "A bill of" not in records_only


def test_the_api_pays_once_per_key_and_refuses_bad_amounts(world: World, processor: Any) -> None:
    maria = sign_in(Client(), world, "caregiver_full")
    url = reverse("api-bill-payments", args=[world.people["rosa"].pk, world.rosa_account.pk])
    body = {"amount_cents": 2500, "idempotency_key": "client-made-1"}
    first = maria.post(url, body, content_type="application/json")
    second = maria.post(url, body, content_type="application/json")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["checkout_url"].startswith(processor.url)
    for bad in (
        {"amount_cents": 0, "idempotency_key": "b1"},
        {"amount_cents": 6001, "idempotency_key": "b2"},
        {"amount_cents": -5, "idempotency_key": "b3"},
        {"amount_cents": "ten", "idempotency_key": "b4"},
    ):
        assert maria.post(url, bad, content_type="application/json").status_code == 400
    assert Payment.objects.exclude(pk=world.rosa_payment.pk).count() == 1


def test_the_desk_api_posts_once_per_key_and_never_for_another_clinic(world: World) -> None:
    desk = sign_in(Client(), world, "org_admin")
    url = reverse("api-staff-billing-entries", args=["riverside", world.rosa_account.pk])
    body = {"kind": "adjustment", "amount_cents": 1000, "reason": "Prompt-pay discount", "idempotency_key": "a-1"}
    assert desk.post(url, body, content_type="application/json").status_code == 201
    assert desk.post(url, body, content_type="application/json").status_code == 201
    assert LedgerEntry.objects.filter(account=world.rosa_account, kind=EntryKind.ADJUSTMENT).count() == 1
    too_much = {"kind": "insurance", "amount_cents": 99999, "idempotency_key": "a-2"}
    assert desk.post(url, too_much, content_type="application/json").status_code == 400
    listing = desk.get(reverse("api-staff-billing-accounts", args=["riverside"])).json()
    assert [row["balance_cents"] for row in listing["results"]] == [5000]
    assert AuditEvent.objects.filter(action="billing.viewed", subject_patient=world.people["rosa"]).exists()
    other = sign_in(Client(), world, "admin_other")
    assert (
        other.post(
            reverse("api-staff-billing-entries", args=["lakeside", world.rosa_account.pk]),
            body,
            content_type="application/json",
        ).status_code
        == 404
    )


def test_a_plan_through_the_api(world: World, processor: Any) -> None:
    maria = sign_in(Client(), world, "caregiver_full")
    url = reverse("api-bill-plan", args=[world.people["rosa"].pk, world.rosa_account.pk])
    assert maria.delete(url).status_code == 204  # the world's plan on hold, stopped
    assert maria.delete(url).status_code == 400  # no plan left to stop
    body = {"instalment_cents": 2000, "day_of_month": 5, "idempotency_key": "plan-1"}
    started = maria.post(url, body, content_type="application/json")
    assert started.status_code == 201
    assert started.json()["checkout_url"].startswith(processor.url)
    assert maria.post(url, body, content_type="application/json").json()["id"] == started.json()["id"]
    too_small = {"instalment_cents": 100, "day_of_month": 5, "idempotency_key": "plan-2"}
    assert maria.post(url, too_small, content_type="application/json").status_code == 400
