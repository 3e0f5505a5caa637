"""A statement file is checked whole: one broken row refuses it, with the row numbers, and nothing is posted;
the same file twice posts once; billing staff and admins only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Membership, Role
from billing.models import BillingAccount, LedgerEntry, Statement
from billing.selectors import balance_of
from tests.conftest import World, sign_in

HEADER = "mrn,visit_number,service_date,kind,amount,description,reason\n"


def _mrn(world: World) -> str:
    return world.patient_record.enrollments.get(organization=world.org_here).mrn


def _post(client: Client, text: str, **extra: Any) -> Any:
    upload = SimpleUploadedFile("statement.csv", text.encode(), content_type="text/csv")
    return client.post(reverse("billing:staff_import", args=["riverside"]), {"file": upload, **extra})


@pytest.fixture
def clerk(world: World) -> Client:
    Membership.objects.create(user=world.user("staff_here"), organization=world.org_here, role=Role.BILLING)
    return sign_in(Client(), world, "staff_here")


def test_a_good_file_posts_every_row_and_sends_the_bills(
    world: World, clerk: Client, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    mrn = _mrn(world)
    text = HEADER + (
        f"{mrn},V-10,2026-03-02,charge,150.00,Office visit,\n"
        f"{mrn},V-10,2026-03-02,insurance,100.00,,\n"
        f"{mrn},V-10,2026-03-02,adjustment,-10.00,,Prompt-pay discount\n"
    )
    due = (timezone.localdate() + timedelta(days=30)).isoformat()
    # A due date beyond a year is a typo: refused with the file, nothing posted.
    assert _post(clerk, text, due_on="2099-01-31").status_code == 400
    assert not LedgerEntry.objects.filter(account__patient=world.patient_record).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(clerk, text, due_on=due)
    assert response.status_code == 302
    account = BillingAccount.objects.get(patient=world.patient_record, organization=world.org_here)
    assert balance_of(account) == 15000 - 10000 - 1000
    assert Statement.objects.filter(account=account, due_on=due).exists()
    assert any("new bill" in message.subject for message in mailoutbox)
    assert all("Office visit" not in message.body and "Riverside" not in message.body for message in mailoutbox)
    # The same file again: nothing posted twice.
    assert _post(clerk, text).status_code == 302
    assert LedgerEntry.objects.filter(account=account).count() == 3


def test_a_file_with_broken_rows_is_refused_whole_with_their_numbers(world: World, clerk: Client) -> None:
    mrn = _mrn(world)
    text = HEADER + (
        f"{mrn},V-1,2026-03-02,charge,150.00,Office visit,\n"  # row 2: fine
        f"{mrn},V-1,2026-02-30,charge,20.00,Lab,\n"  # row 3: no such day
        f"NOPE-1,V-2,2026-03-02,charge,20.00,Lab,\n"  # row 4: not a patient here
        f"{mrn},V-1,2026-03-02,charge,0,Lab,\n"  # row 5: zero
        f"{mrn},V-1,2026-03-02,insurance,-5.00,,\n"  # row 6: only adjustments may be negative
        f"{mrn},V-1,2026-03-02,adjustment,-5.00,,\n"  # row 7: no reason
        f"{mrn},V-1,2026-03-02,refund,5.00,,x\n"  # row 8: not a kind
        f"{mrn},V-1,2026-03-02,charge,12.345,Lab,\n"  # row 9: three decimals
    )
    response = _post(clerk, text)
    assert response.status_code == 400
    page = response.content.decode()
    for row in (3, 4, 5, 6, 7, 8, 9):
        assert f"Row {row}:" in page
    assert "Row 2:" not in page
    assert not LedgerEntry.objects.filter(account__patient=world.patient_record).exists()
    assert not BillingAccount.objects.filter(patient=world.patient_record).exists()


def test_a_file_that_would_make_a_credit_is_refused_whole(world: World, clerk: Client) -> None:
    mrn = _mrn(world)
    text = HEADER + f"{mrn},V-1,2026-03-02,charge,50.00,Visit,\n{mrn},V-1,2026-03-02,insurance,80.00,,\n"
    response = _post(clerk, text)
    assert response.status_code == 400
    assert "Row 3:" in response.content.decode()
    assert not LedgerEntry.objects.filter(account__patient=world.patient_record).exists()


@pytest.mark.parametrize(
    "text",
    ["", "just,some,columns\n1,2,3\n", HEADER, "\xff\xfe\x00garbage", HEADER + "a,b\n"],
)
def test_files_that_are_not_statements_get_a_message(world: World, clerk: Client, text: str) -> None:
    response = _post(clerk, text)
    assert response.status_code == 400
    assert "message-error" in response.content.decode() or "errorlist" in response.content.decode()
    assert not LedgerEntry.objects.exists() or not LedgerEntry.objects.filter(account__patient=world.patient_record)


def test_another_clinics_patient_cannot_be_billed_from_here(world: World, clerk: Client) -> None:
    other = world.caregiver_record.enrollments.get(organization=world.org_other).mrn
    response = _post(clerk, HEADER + f"{other},V-1,2026-03-02,charge,50.00,Visit,\n")
    assert response.status_code == 400
    assert not LedgerEntry.objects.filter(account__patient=world.caregiver_record).exists()


def test_a_nurse_and_the_front_desk_are_not_the_billing_desk(world: World) -> None:
    Membership.objects.create(user=world.user("staff_here"), organization=world.org_here, role=Role.FRONT_DESK)
    nurse = sign_in(Client(), world, "staff_here")
    for name, args in (("billing:staff_home", ["riverside"]), ("billing:staff_import", ["riverside"])):
        assert nurse.get(reverse(name, args=args)).status_code == 404
    assert _post(nurse, HEADER + f"{_mrn(world)},V-1,2026-03-02,charge,50.00,Visit,\n").status_code == 404
    assert not LedgerEntry.objects.filter(account__patient=world.patient_record).exists()


def test_the_billing_role_works_the_desk_and_every_listing_is_audited(world: World, clerk: Client) -> None:
    response = clerk.get(reverse("billing:staff_home", args=["riverside"]))
    assert response.status_code == 200
    assert "Rosa" in response.content.decode()
    assert AuditEvent.objects.filter(action="billing.viewed", subject_patient=world.people["rosa"]).exists()
