"""Paying a bill in a real browser on a 390 px phone, through the payment sandbox's card page: a declined card
first, then a good one; a double click on the pay button pays once; the receipt downloads; the processor's
webhook reaches the live portal. Every portal page axe-core clean, without sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingAccount, EntryKind, LedgerEntry, Payment, PaymentStatus, Statement, WebhookEvent
from billing.selectors import balance_of
from payment_sandbox.server import RunningSandbox, start
from tests.conftest import World
from tests.e2e.conftest import axe_check
from tests.e2e.test_account_journeys import HOME_URL, assert_no_horizontal_scrolling, sign_in_through_form
from tests.factories import TEST_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails, with REQUIRE_BROWSER=1) and says why
    expect = None

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
EXPIRY = f"12/{(date.today().year + 3) % 100:02d}"


@pytest.fixture
def processor(settings: Any, live_server: Any) -> Iterator[RunningSandbox]:
    # The webhooks reach the live portal on Postgres (as in CI and production). On the test run's in-memory
    # SQLite, a webhook and the return page writing at the same moment meet a table lock rather than a row
    # lock, so there the return page alone settles the payment.
    on_postgres = connection.vendor == "postgresql"
    hook = live_server.url + reverse("billing:payment_events") if on_postgres else None
    with start(api_key="sk_test_e2e", webhook_url=hook, webhook_secret="whsec_e2e") as running:
        settings.PAYMENT_API_BASE, settings.PAYMENT_API_KEY = running.url, "sk_test_e2e"
        settings.PAYMENT_WEBHOOK_SECRET = "whsec_e2e"
        yield running


def check_page(page: Any) -> None:
    assert_no_horizontal_scrolling(page, PHONE["width"])
    axe_check(page)
    assert page.evaluate("window.__pwned === undefined"), f"a script from a bill ran on {page.url}"


def alex_owes(world: World) -> BillingAccount:
    account = BillingAccount.objects.create(organization=world.org_here, patient=world.patient_record)
    for kind, cents, words in ((EntryKind.CHARGE, 16500, HOSTILE), (EntryKind.INSURANCE_PAYMENT, -4500, "")):
        LedgerEntry.objects.create(
            account=account,
            kind=kind,
            amount_cents=cents,
            visit_number="V-77",
            service_date=timezone.localdate(),
            description=words,
        )
    Statement.objects.create(account=account, due_on=timezone.localdate())
    return account


def pay_on_the_card_page(page: Any, card: str) -> None:
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry date (MM/YY)").fill(EXPIRY)
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay $").click()


def test_alex_pays_his_bill_on_his_phone(
    new_page: Any, world: World, processor: RunningSandbox, browser_problems: Any
) -> None:
    account = alex_owes(world)
    browser_problems.expect_status(reverse("billing:pay", args=[account.pk]), 400)  # the amount refused on purpose
    page = new_page(viewport=PHONE)
    page.goto("/accounts/login/")
    sign_in_through_form(page, "patient@example.test", TEST_PASSWORD)
    expect(page).to_have_url(HOME_URL)

    # Every clinic's bill, listed.
    page.goto(reverse("billing:bills"))
    expect(page.get_by_role("heading", name="Your bills")).to_be_visible()
    check_page(page)

    # The family view's card says a bill is due; it leads to the bill.
    page.goto(reverse("family"))
    page.get_by_role("link", name="A bill of $120.00 from Riverside Family Clinic is due").click()
    expect(page.get_by_role("heading", name="Bill from Riverside Family Clinic")).to_be_visible()
    expect(page.get_by_text("$120.00").first).to_be_visible()
    check_page(page)

    # A bad amount: a message, nothing starts.
    page.get_by_label("Amount to pay").fill("500")
    page.get_by_role("button", name="Continue to the card page").click()
    expect(page.get_by_text("That is more than you owe.")).to_be_visible()
    check_page(page)
    assert not Payment.objects.filter(account=account).exists()

    # Part of it: on the card page, a declined card first, then a good one.
    page.get_by_label("Amount to pay").fill("50.00")
    page.get_by_role("button", name="Continue to the card page").click()
    expect(page.get_by_text("Your payment of $50.00 to Riverside Family Clinic is ready.")).to_be_visible()
    check_page(page)
    page.get_by_role("link", name="Continue to the card page").click()
    expect(page).to_have_url(f"{processor.url}/pay/" + Payment.objects.get(account=account).checkout_id)
    browser_problems.expect_status("/pay/" + Payment.objects.get(account=account).checkout_id, 402)  # declined
    pay_on_the_card_page(page, "4000 0000 0000 0002")
    expect(page.get_by_text("Your card was declined.")).to_be_visible()
    assert balance_of(account) == 12000
    pay_on_the_card_page(page, "4242 4242 4242 4242")
    expect(page.get_by_text("Thank you: $50.00 paid to Riverside Family Clinic.")).to_be_visible()
    check_page(page)
    assert balance_of(account) == 7000
    with page.expect_download() as download:
        page.get_by_role("link", name="Download receipt").click()
    assert download.value.suggested_filename.startswith("receipt-R-")

    # A double click on the pay button starts one payment, not two.
    page.get_by_role("link", name="Back to the bill").click()
    page.get_by_label("Amount to pay").fill("20.00")
    page.get_by_role("button", name="Continue to the card page").dblclick()
    expect(page.get_by_text("Your payment of $20.00 to Riverside Family Clinic is ready.")).to_be_visible()
    page.get_by_role("link", name="Continue to the card page").click()
    expect(page).to_have_url(
        f"{processor.url}/pay/" + Payment.objects.filter(account=account).latest("created_at").checkout_id
    )
    assert Payment.objects.filter(account=account).count() == 2
    pay_on_the_card_page(page, "4242 4242 4242 4242")
    expect(page.get_by_text("Thank you: $20.00 paid")).to_be_visible()
    assert balance_of(account) == 5000
    assert LedgerEntry.objects.filter(account=account, kind=EntryKind.PAYMENT).count() == 2
    assert all(p.status == PaymentStatus.SUCCEEDED for p in Payment.objects.filter(account=account))

    # The processor's webhooks reached the live portal, were verified, and settled nothing twice.
    if connection.vendor != "postgresql":
        return
    deliveries = [event["delivery"] for event in processor.events()]
    for _ in range(50):
        if WebhookEvent.objects.count() >= 4:
            break
        page.wait_for_timeout(100)
    assert WebhookEvent.objects.count() >= 4, deliveries
    page.get_by_role("link", name="Back to the bill").click()
    expect(page.get_by_text("$50.00").first).to_be_visible()
    check_page(page)


def test_the_billing_desk_on_a_phone(
    new_page: Any, world: World, processor: RunningSandbox, browser_problems: Any, tmp_path: Any
) -> None:
    from tests.e2e.test_messaging_journey import sign_in_as_staff

    import_url = reverse("billing:staff_import", args=["riverside"])
    browser_problems.expect_status(import_url, 400)  # the broken file, refused on purpose
    page = new_page(viewport=PHONE)
    sign_in_as_staff(page, "billing.here@example.test", reverse("billing:staff_home", args=["riverside"]))
    expect(page.get_by_role("heading", name="Billing at Riverside Family Clinic")).to_be_visible()
    check_page(page)

    # Rosa's account: an adjustment with a reason (hostile words stay words), then the bill sent.
    page.get_by_role("link", name="Rosa").first.click()
    check_page(page)
    page.get_by_label("What to post").select_option("lower")
    page.get_by_label("Amount", exact=True).fill("10.00")
    page.get_by_label("Reason (adjustments)").fill("Courtesy " + HOSTILE)
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_text("Posted. The balance below includes it.")).to_be_visible()
    expect(page.get_by_text("$50.00").first).to_be_visible()
    check_page(page)
    page.get_by_role("button", name="Send the bill").click()
    expect(page.get_by_text("The bill was sent.")).to_be_visible()

    # A statement file with a broken row: refused whole, with the row's number; nothing posted.
    page.goto(import_url)
    check_page(page)
    broken = tmp_path / "statement.csv"
    broken.write_text("mrn,visit_number,service_date,kind,amount,description,reason\nNOPE,V-1,2026-02-30,charge,x,,\n")
    page.get_by_label("Statement file (CSV)").set_input_files(str(broken))
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_text("Row 2:")).to_be_visible()
    check_page(page)

    page.goto(reverse("billing:staff_plans", args=["riverside"]))
    expect(page.get_by_role("heading", name="Payment plans")).to_be_visible()
    check_page(page)
