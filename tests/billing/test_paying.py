"""Paying a bill on the processor's page: in full or in part, a declined card, a double submit, bad amounts,
the receipt; the processor's webhooks settle a payment once, and a forged or replayed one changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import date
from typing import Any

import pytest
import requests
from django.test import Client
from django.urls import reverse

from billing.models import EntryKind, LedgerEntry, Payment, PaymentStatus, WebhookEvent
from billing.selectors import balance_of
from payment_sandbox.server import RunningSandbox
from tests.billing.conftest import SECRET
from tests.conftest import World

GOOD, DECLINED, AUTHENTICATE = "4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0025 0000 3155"
EXPIRY = f"12/{(date.today().year + 3) % 100:02d}"


def _pay_on_the_processor(url: str, card: str) -> requests.Response:
    """What a person does on the processor's page: type the card and press Pay (the portal sees none of it)."""
    return requests.post(
        url, data={"card_number": card, "expiry": EXPIRY, "cvc": "123", "name": "Maria Lopez"}, allow_redirects=False
    )


def _start(client: Client, world: World, amount: str, key: str = "form-key-1") -> Any:
    return client.post(reverse("billing:pay", args=[world.rosa_account.pk]), {"amount": amount, "key": key})


def _checkout(world: World, key: str = "form-key-1") -> str:
    return Payment.objects.get(idempotency_key=f"pay-{key}").checkout_url


def test_paying_part_of_a_bill_on_the_processors_page(
    world: World, maria: Client, processor: RunningSandbox, django_capture_on_commit_callbacks: Any
) -> None:
    page = maria.get(reverse("billing:statement", args=[world.rosa_account.pk])).content.decode()
    assert "$60.00" in page
    response = _start(maria, world, "25.00")
    assert response.status_code == 303
    started = Payment.objects.exclude(pk=world.rosa_payment.pk).get()
    assert response["Location"] == reverse("billing:payment", args=[started.pk])
    # The payment's page links to the processor's card page (a form of ours never lands on another site).
    checkout = started.checkout_url
    assert checkout.startswith(processor.url + "/pay/")
    assert checkout in maria.get(response["Location"]).content.decode()
    back = _pay_on_the_processor(checkout, GOOD)
    assert back.status_code == 303
    payment = Payment.objects.exclude(pk=world.rosa_payment.pk).get()
    assert back.headers["Location"].endswith(reverse("billing:payment", args=[payment.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        done = maria.get(reverse("billing:payment", args=[payment.pk]))
    assert done.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.card_last4 == "4242"
    assert balance_of(world.rosa_account) == 6000 - 2500
    receipt = maria.get(reverse("billing:receipt", args=[payment.pk]))
    assert receipt["Content-Type"] == "application/pdf"
    assert receipt.content.startswith(b"%PDF")
    # The card number never reached the portal: not in the database, not in a page.
    for row in Payment.objects.values():
        assert "4242424242424242" not in json.dumps(row, default=str)
    assert "4242 4242" not in done.content.decode()


def test_a_declined_card_charges_nothing_and_another_card_pays(
    world: World, maria: Client, processor: RunningSandbox
) -> None:
    _start(maria, world, "60.00")
    checkout = _checkout(world)
    refused = _pay_on_the_processor(checkout, DECLINED)
    assert refused.status_code == 402
    assert "declined" in refused.text
    payment = Payment.objects.exclude(pk=world.rosa_payment.pk).get()
    page = maria.get(reverse("billing:payment", args=[payment.pk]))
    assert "is ready" in page.content.decode()
    assert balance_of(world.rosa_account) == 6000
    assert _pay_on_the_processor(checkout, GOOD).status_code == 303
    maria.get(reverse("billing:payment", args=[payment.pk]))
    assert balance_of(world.rosa_account) == 0


def test_a_double_submit_pays_once(world: World, maria: Client, processor: RunningSandbox) -> None:
    first = _start(maria, world, "10.00", key="same-key")
    second = _start(maria, world, "10.00", key="same-key")
    assert first["Location"] == second["Location"]
    assert Payment.objects.exclude(pk=world.rosa_payment.pk).count() == 1
    _pay_on_the_processor(_checkout(world, "same-key"), GOOD)
    payment = Payment.objects.exclude(pk=world.rosa_payment.pk).get()
    for _ in range(3):  # the return page, reloaded, settles once
        maria.get(reverse("billing:payment", args=[payment.pk]))
    assert LedgerEntry.objects.filter(payment=payment, kind=EntryKind.PAYMENT).count() == 1
    assert balance_of(world.rosa_account) == 5000


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "more than zero"),
        ("-5", "like 25"),
        ("60.01", "more than you owe"),
        ("12.345", "like 25"),
        ("ten dollars", "like 25"),
        ("", "required"),
    ],
)
def test_a_bad_amount_is_refused_with_a_message_and_nothing_starts(
    world: World, maria: Client, processor: RunningSandbox, amount: str, message: str
) -> None:
    response = _start(maria, world, amount)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Payment.objects.count() == 1
    assert processor.events() == []


def test_the_processor_down_is_said_plainly_and_nothing_is_charged(world: World, maria: Client, settings: Any) -> None:
    settings.PAYMENT_API_BASE = "http://127.0.0.1:9"
    response = _start(maria, world, "10.00")
    assert response.status_code == 502
    assert "did not answer" in response.content.decode()
    assert balance_of(world.rosa_account) == 6000


# Webhooks ---------------------------------------------------------------------------------------------------


def _signed(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    stamp = at if at is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def _deliver(client: Client, body: bytes, signature: str) -> Any:
    return client.post(
        reverse("billing:payment_events"), body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def test_a_webhook_settles_a_payment_the_person_never_came_back_from(
    world: World, maria: Client, processor: RunningSandbox
) -> None:
    _start(maria, world, "60.00")
    _pay_on_the_processor(_checkout(world), GOOD)
    events = [e["event"] for e in processor.events() if e["event"]["type"] == "checkout.session.completed"]
    assert len(events) == 1
    body = json.dumps(events[0]).encode()
    anonymous = Client()
    assert _deliver(anonymous, body, _signed(body)).status_code == 200
    assert balance_of(world.rosa_account) == 0
    # The same event again (a replay, or the processor resending): recognised, nothing more.
    assert _deliver(anonymous, body, _signed(body)).status_code == 200
    assert LedgerEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 2  # the world's payment and this one
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "t=notanumber,v1=abc",
        "v1=" + "0" * 64,
        "signed-with-another-secret",
        "stale",
    ],
)
def test_a_forged_or_stale_webhook_is_refused_and_changes_nothing(
    world: World, maria: Client, processor: RunningSandbox, signature: str
) -> None:
    _start(maria, world, "60.00")
    _pay_on_the_processor(_checkout(world), GOOD)
    event = next(e["event"] for e in processor.events() if e["event"]["type"] == "checkout.session.completed")
    body = json.dumps(event).encode()
    if signature == "signed-with-another-secret":
        signature = _signed(body, secret="whsec_someone_else")
    elif signature == "stale":
        signature = _signed(body, at=int(time.time()) - 3600)
    response = _deliver(Client(), body, signature)
    assert response.status_code == 400
    assert balance_of(world.rosa_account) == 6000
    assert not WebhookEvent.objects.exists()


def test_a_webhook_for_a_payment_we_do_not_have_is_acknowledged_and_ignored(
    world: World, processor: RunningSandbox
) -> None:
    body = json.dumps(
        {
            "id": "evt_x",
            "type": "checkout.session.completed",
            "data": {"object": {"object": "checkout.session", "id": "cs_unknown"}},
        }
    ).encode()
    assert _deliver(Client(), body, _signed(body)).status_code == 200
    assert balance_of(world.rosa_account) == 6000


def test_a_payment_page_of_someone_else_is_not_found(world: World, processor: RunningSandbox) -> None:
    from tests.conftest import sign_in

    stranger = sign_in(Client(), world, "patient")
    assert stranger.get(reverse("billing:payment", args=[world.rosa_payment.pk])).status_code == 404
    assert stranger.get(reverse("billing:receipt", args=[world.rosa_payment.pk])).status_code == 404
    assert (
        stranger.post(reverse("billing:pay", args=[world.rosa_account.pk]), {"amount": "1", "key": "k"}).status_code
        == 404
    )
    assert Payment.objects.count() == 1
