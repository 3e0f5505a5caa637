"""The Stripe adapter, offline, against responses in the shape Stripe's API answers (tests/billing/stripe_responses/,
written from Stripe's API reference): what it sends (form encoding, the secret key, an idempotency key on every
POST), what it reads back, its errors, and the webhook signature (Stripe's scheme: HMAC-SHA256 of "t.body")."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from billing.gateways import BadSignatureError, GatewayError, StripeGateway

RECORDED = Path(__file__).parent / "stripe_responses"
SECRET = "whsec_recorded"


class Recorded(BaseAdapter):
    """Answers each (method, path) with a recorded body and status, and keeps what was asked."""

    def __init__(self, answers: dict[tuple[str, str], tuple[int, str]]) -> None:
        super().__init__()
        self.answers = answers
        self.asked: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        path = urlsplit(request.url or "").path
        self.asked.append(request)
        status, name = self.answers[(request.method or "", path)]
        response = requests.Response()
        response.status_code, response.url = status, request.url or ""
        response._content = (RECORDED / name).read_bytes()
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self) -> None:
        pass


def _gateway(answers: dict[tuple[str, str], tuple[int, str]]) -> tuple[StripeGateway, Recorded]:
    adapter = Recorded(answers)
    session = requests.Session()
    session.mount("https://", adapter)
    return (
        StripeGateway(api_base="https://api.stripe.com", api_key="sk_test_x", webhook_secret=SECRET, session=session),
        adapter,
    )


def test_a_checkout_is_created_with_stripes_encoding_and_an_idempotency_key() -> None:
    gateway, adapter = _gateway({("POST", "/v1/checkout/sessions"): (200, "checkout_session_created.json")})
    checkout = gateway.start_checkout(
        payment_id="6c1d5e62-0f9a-4b7e-9a55-3f6f4b2f8a10",
        amount_cents=6000,
        currency="USD",
        description="Payment to Riverside Family Clinic",
        success_url="https://portal.example.org/bills/payments/6c1d/",
        cancel_url="https://portal.example.org/bills/payments/6c1d/?cancelled=1",
        save_card=True,
    )
    assert checkout.url.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    sent = adapter.asked[0]
    assert sent.headers["Authorization"] == "Bearer sk_test_x"
    assert sent.headers["Idempotency-Key"] == "checkout-6c1d5e62-0f9a-4b7e-9a55-3f6f4b2f8a10"
    form = dict(parse_qsl(str(sent.body)))
    assert form["line_items[0][price_data][unit_amount]"] == "6000"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["payment_intent_data[setup_future_usage]"] == "off_session"
    assert form["payment_intent_data[metadata][payment]"] == "6c1d5e62-0f9a-4b7e-9a55-3f6f4b2f8a10"


def test_a_paid_checkout_gives_the_payment_and_the_saved_cards_last_digits() -> None:
    gateway, _ = _gateway(
        {
            ("GET", "/v1/checkout/sessions/cs_test_abc"): (200, "checkout_session_paid.json"),
            ("GET", "/v1/payment_intents/pi_3QxYb2Lk9Tq4mW1Z0aB7cD8e"): (200, "payment_intent_succeeded.json"),
            ("GET", "/v1/payment_methods/pm_1QxYb1Lk9Tq4mW1ZkLmNoPqR"): (200, "payment_method_card.json"),
        }
    )
    state = gateway.checkout_state("cs_test_abc")
    assert state.paid
    assert state.reference == "pi_3QxYb2Lk9Tq4mW1Z0aB7cD8e"
    assert (state.customer, state.payment_method) == ("cus_R4fT7yU2iO9pLk", "pm_1QxYb1Lk9Tq4mW1ZkLmNoPqR")
    assert (state.card_brand, state.card_last4) == ("visa", "4242")


def test_an_open_checkout_is_not_paid() -> None:
    gateway, _ = _gateway({("GET", "/v1/checkout/sessions/cs_test_abc"): (200, "checkout_session_created.json")})
    state = gateway.checkout_state("cs_test_abc")
    assert not state.paid
    assert not state.expired


@pytest.mark.parametrize(
    ("recorded", "authentication"),
    [("payment_intent_declined_402.json", False), ("payment_intent_authentication_required_402.json", True)],
)
def test_a_declined_plan_charge_is_a_result_not_an_error(recorded: str, authentication: bool) -> None:
    gateway, adapter = _gateway({("POST", "/v1/payment_intents"): (402, recorded)})
    result = gateway.charge_saved_card(
        payment_id="p-1",
        amount_cents=2000,
        currency="usd",
        customer="cus_R4fT7yU2iO9pLk",
        payment_method="pm_1QxYb1Lk9Tq4mW1ZkLmNoPqR",
        description="Instalment",
    )
    assert not result.succeeded
    assert result.needs_authentication is authentication
    assert result.reference.startswith("pi_")
    assert adapter.asked[0].headers["Idempotency-Key"] == "charge-p-1"
    form = dict(parse_qsl(str(adapter.asked[0].body)))
    assert (form["off_session"], form["confirm"]) == ("true", "true")


def test_a_refund_and_a_refused_one() -> None:
    gateway, adapter = _gateway({("POST", "/v1/refunds"): (200, "refund_succeeded.json")})
    assert gateway.refund(reference="pi_3QxYb2Lk9Tq4mW1Z0aB7cD8e", amount_cents=1500, idempotency_key="x") == (
        "re_3QxYb2Lk9Tq4mW1Z0xJ7kL8m"
    )
    assert adapter.asked[0].headers["Idempotency-Key"] == "refund-x"
    gateway, _ = _gateway({("POST", "/v1/refunds"): (400, "idempotency_error_400.json")})
    with pytest.raises(GatewayError):
        gateway.refund(reference="pi_x", amount_cents=1, idempotency_key="x")


def test_an_unreachable_processor_is_a_gateway_error() -> None:
    gateway = StripeGateway(api_base="http://127.0.0.1:9", api_key="k", webhook_secret=SECRET, timeout=2)
    with pytest.raises(GatewayError) as raised:
        gateway.checkout_state("cs_x")
    assert "did not answer" in raised.value.message


def _sign(body: bytes, at: int, secret: str = SECRET) -> str:
    return f"t={at},v1=" + hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()


def test_a_signed_event_is_read_and_a_bad_one_refused() -> None:
    gateway, _ = _gateway({})
    body = (RECORDED / "event_checkout_session_completed.json").read_bytes()
    now = int(time.time())
    event = gateway.parse_event(body, _sign(body, now))
    assert event.type == "checkout.session.completed"
    assert event.checkout_id.startswith("cs_test_")
    assert event.payment_id == "6c1d5e62-0f9a-4b7e-9a55-3f6f4b2f8a10"
    # Stripe may send several v1 signatures while a secret is rolled: any one that matches will do.
    assert gateway.parse_event(body, f"t={now},v1={'0' * 64}," + _sign(body, now).split(",")[1]).id == event.id
    for bad in ("", _sign(body, now, "whsec_other"), _sign(body, now - 301), _sign(body + b" ", now), "t=1,v0=abc"):
        with pytest.raises(BadSignatureError):
            gateway.parse_event(body, bad)
    tampered = json.loads(body)
    tampered["data"]["object"]["metadata"]["payment"] = "someone-elses"
    with pytest.raises(BadSignatureError):
        gateway.parse_event(json.dumps(tampered).encode(), _sign(body, now))
