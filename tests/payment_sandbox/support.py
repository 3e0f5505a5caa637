"""Helpers for the payment sandbox's tests: an API client, a checkout to pay, a webhook receiver that records."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from payment_sandbox.server import RunningSandbox

API_KEY = "sk_test_payment_sandbox_tests"
SECRET = "whsec_payment_sandbox_tests"
SUCCESS = "http://portal.test/billing/paid/?session={CHECKOUT_SESSION_ID}"
CANCEL = "http://portal.test/billing/cancelled/"
EXPIRY = f"12/{(date.today().year + 3) % 100:02d}"  # always in the future
GOOD, DECLINED, AUTHENTICATE, DECLINE_LATER = (
    "4242 4242 4242 4242",
    "4000 0000 0000 0002",
    "4000 0025 0000 3155",
    "4000 0000 0000 0341",
)


def client(sandbox: RunningSandbox, api_key: str = API_KEY) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    return session


def checkout_params(save_card: bool = False, **overrides: str | None) -> dict[str, str]:
    """What the portal's adapter sends for one payment of $150.00 (a `None` override drops that field)."""
    params = {
        "mode": "payment",
        "success_url": SUCCESS,
        "cancel_url": CANCEL,
        "client_reference_id": "payment-7",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "15000",
        "line_items[0][price_data][product_data][name]": "Visit on 3 March, your share",
        "line_items[0][quantity]": "1",
        "metadata[payment]": "payment-7",
        "payment_intent_data[metadata][payment]": "payment-7",
    }
    if save_card:
        params |= {"payment_intent_data[setup_future_usage]": "off_session", "customer_creation": "always"}
    for key, value in overrides.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params


def create_checkout(sandbox: RunningSandbox, save_card: bool = False, **overrides: str | None) -> dict[str, Any]:
    response = client(sandbox).post(f"{sandbox.url}/v1/checkout/sessions", data=checkout_params(save_card, **overrides))
    assert response.status_code == 200, response.text
    return response.json()


def pay(
    session: dict[str, Any], number: str, expiry: str = EXPIRY, cvc: str = "123", name: str = "Alex Rivera"
) -> requests.Response:
    """Send the hosted page's card form (as a browser would, without following the redirect)."""
    form = {"card_number": number, "expiry": expiry, "cvc": cvc, "name": name}
    return requests.post(session["url"], data=form, allow_redirects=False)


def authenticate(session: dict[str, Any], outcome: str) -> requests.Response:
    return requests.post(f"{session['url']}/authenticate", data={"outcome": outcome}, allow_redirects=False)


def get(sandbox: RunningSandbox, path: str) -> dict[str, Any]:
    response = client(sandbox).get(f"{sandbox.url}{path}")
    assert response.status_code == 200, response.text
    return response.json()


def saved_card(sandbox: RunningSandbox, number: str) -> tuple[str, str]:
    """Pay a checkout that saves the card; (customer, payment method)."""
    session = create_checkout(sandbox, save_card=True)
    if number == AUTHENTICATE:
        assert pay(session, number).status_code == 200
        response = authenticate(session, "complete")
    else:
        response = pay(session, number)
    assert response.status_code == 303, response.text
    paid = get(sandbox, f"/v1/checkout/sessions/{session['id']}")
    intent = get(sandbox, f"/v1/payment_intents/{paid['payment_intent']}")
    return intent["customer"], intent["payment_method"]


def charge(sandbox: RunningSandbox, customer: str, method: str, amount: int = 5000, **extra: str) -> requests.Response:
    params = {
        "amount": str(amount),
        "currency": "usd",
        "customer": customer,
        "payment_method": method,
        "off_session": "true",
        "confirm": "true",
        "description": "Plan instalment 2 of 3",
        "metadata[payment]": "payment-8",
        **extra,
    }
    return client(sandbox).post(f"{sandbox.url}/v1/payment_intents", data=params)


def events(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """GET /_sandbox/events: every event with its delivery, in order."""
    response = requests.get(f"{sandbox.url}/_sandbox/events")
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.json()
    return found


def event_types(sandbox: RunningSandbox) -> list[str]:
    return [item["event"]["type"] for item in events(sandbox)]


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """Check a Stripe-Signature header the way Stripe's libraries do."""
    parts = dict(piece.split("=", 1) for piece in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - timestamp) <= tolerance


# --- A webhook receiver ---------------------------------------------------------------------------------


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found


@dataclass
class Receiver:
    """Records every POST; answers each with the next of `statuses` (then 200), after `delay` seconds."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Delivery] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.received) >= count, timeout), self.received
            return list(self.received)


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class ReceiverHandler(BaseHTTPRequestHandler):
    server: ReceiverServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(receiver.delay)
        with receiver.changed:
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            receiver.received.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            receiver.changed.notify_all()
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass
