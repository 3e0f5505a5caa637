"""The card processor, behind one interface: a hosted checkout page, saved cards for plans, refunds, webhooks.

Card numbers are typed on the processor's own page (a Checkout Session) and never reach the portal: we keep
the processor's ids and a card's brand and last four digits. The one adapter speaks Stripe's REST API
(Checkout Sessions, which create PaymentIntents; PaymentIntents confirmed off-session for plan instalments;
Refunds; webhooks signed with HMAC-SHA256). Production points it at https://api.stripe.com; development and
the tests point it at the payment sandbox, which plays the same API on loopback with documented test cards.

Every POST carries an Idempotency-Key derived from our own row (a payment, a refund), so a retry after a
timeout returns the processor's first answer instead of charging again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300  # Stripe's own default: an older signed event is refused as a replay


class GatewayError(Exception):
    """The processor could not be reached or refused the request; `message` is for the person paying."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message, self.code = message, code


class BadSignatureError(Exception):
    """A webhook whose signature does not verify, or is too old: it is refused and nothing changes."""


@dataclass(frozen=True)
class Checkout:
    id: str
    url: str


@dataclass(frozen=True)
class CheckoutState:
    paid: bool
    expired: bool
    reference: str = ""  # the PaymentIntent
    customer: str = ""
    payment_method: str = ""
    card_brand: str = ""
    card_last4: str = ""


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    reference: str = ""
    message: str = ""
    needs_authentication: bool = False


@dataclass(frozen=True)
class GatewayEvent:
    id: str
    type: str
    checkout_id: str = ""
    reference: str = ""
    payment_id: str = ""  # our Payment's id, from the metadata we sent
    data: dict[str, Any] = field(default_factory=dict)


def _form(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: nested mappings and lists as bracketed keys (metadata[payment]=...)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs.extend(_form(value, name))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    pairs.extend(_form(item, f"{name}[{index}]"))
                else:
                    pairs.append((f"{name}[{index}]", str(item)))
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif value is not None:
            pairs.append((name, str(value)))
    return pairs


class StripeGateway:
    """Stripe's API (or the sandbox playing it) over HTTPS with the secret key; one session per process."""

    name = "stripe"

    def __init__(
        self,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        webhook_secret: str | None = None,
        session: requests.Session | None = None,
        timeout: float | None = None,
    ) -> None:
        self.api_base = (api_base or settings.PAYMENT_API_BASE).rstrip("/")
        self.api_key = api_key or settings.PAYMENT_API_KEY
        self.webhook_secret = webhook_secret or settings.PAYMENT_WEBHOOK_SECRET
        self.session = session or requests.Session()
        self.timeout = timeout or settings.PAYMENT_API_TIMEOUT_SECONDS

    # The wire ---------------------------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, params: Mapping[str, Any] | None = None, *, idempotency_key: str = ""
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.api_key}", "Stripe-Version": "2024-06-20"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = self.session.request(
                method,
                self.api_base + path,
                data=_form(params) if method == "POST" and params else None,
                params=_form(params) if method == "GET" and params else None,
                headers=headers,
                timeout=self.timeout,
            )
            body = response.json()
        except (requests.RequestException, ValueError) as error:
            logger.warning("The payment processor did not answer %s %s: %s", method, path, type(error).__name__)
            raise GatewayError(
                _("The payment service did not answer. Nothing was charged; try again in a minute.")
            ) from None
        if not isinstance(body, dict):
            raise GatewayError(_("The payment service gave an answer we could not read. Nothing was charged."))
        return response.status_code, body

    def _ok(self, status: int, body: dict[str, Any], what: str) -> dict[str, Any]:
        if 200 <= status < 300:
            return body
        error = _dict(body.get("error"))
        logger.warning("The payment processor refused %s: HTTP %s, %s", what, status, str(error.get("type", ""))[:60])
        raise GatewayError(
            _("The payment service refused the request. Nothing was charged."), code=str(error.get("code", ""))
        )

    # Checkout (a person pays on the processor's page) --------------------------------------------------------

    def start_checkout(
        self,
        *,
        payment_id: str,
        amount_cents: int,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        save_card: bool = False,
    ) -> Checkout:
        intent: dict[str, Any] = {"metadata": {"payment": payment_id}}
        params: dict[str, Any] = {
            "mode": "payment",
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": payment_id,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_cents,
                        "product_data": {"name": description},
                    },
                }
            ],
            "metadata": {"payment": payment_id},
        }
        if save_card:
            intent["setup_future_usage"] = "off_session"
            params["customer_creation"] = "always"
        params["payment_intent_data"] = intent
        status, body = self._call("POST", "/v1/checkout/sessions", params, idempotency_key=f"checkout-{payment_id}")
        session = self._ok(status, body, "a checkout")
        if not isinstance(session.get("id"), str) or not isinstance(session.get("url"), str):
            raise GatewayError(_("The payment service gave an answer we could not read. Nothing was charged."))
        return Checkout(id=session["id"], url=session["url"])

    def checkout_state(self, checkout_id: str) -> CheckoutState:
        status, body = self._call("GET", f"/v1/checkout/sessions/{checkout_id}")
        session = self._ok(status, body, "reading a checkout")
        if session.get("payment_status") != "paid":
            return CheckoutState(paid=False, expired=session.get("status") == "expired")
        reference = _id_of(session.get("payment_intent"))
        customer = _id_of(session.get("customer"))
        method, brand, last4 = "", "", ""
        if reference:
            status, body = self._call("GET", f"/v1/payment_intents/{reference}")
            intent = self._ok(status, body, "reading a payment")
            method = _id_of(intent.get("payment_method"))
            customer = customer or _id_of(intent.get("customer"))
        if method:
            status, body = self._call("GET", f"/v1/payment_methods/{method}")
            if 200 <= status < 300:
                card = _dict(body.get("card"))
                brand, last4 = str(card.get("brand", ""))[:20], str(card.get("last4", ""))[-4:]
        return CheckoutState(
            paid=True,
            expired=False,
            reference=reference,
            customer=customer,
            payment_method=method,
            card_brand=brand,
            card_last4=last4,
        )

    # Plans: a saved card charged without the person present ---------------------------------------------------

    def charge_saved_card(
        self,
        *,
        payment_id: str,
        amount_cents: int,
        currency: str,
        customer: str,
        payment_method: str,
        description: str,
    ) -> ChargeResult:
        params = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "customer": customer,
            "payment_method": payment_method,
            "off_session": True,
            "confirm": True,
            "description": description,
            "metadata": {"payment": payment_id},
        }
        status, body = self._call("POST", "/v1/payment_intents", params, idempotency_key=f"charge-{payment_id}")
        if 200 <= status < 300:
            if body.get("status") == "succeeded":
                return ChargeResult(succeeded=True, reference=_id_of(body.get("id")))
            return ChargeResult(
                succeeded=False,
                reference=_id_of(body.get("id")),
                message=_("The bank asked to confirm the payment."),
                needs_authentication=body.get("status") == "requires_action",
            )
        error = _dict(body.get("error"))
        if status == 402 or error.get("type") == "card_error":
            code = str(error.get("code", ""))
            return ChargeResult(
                succeeded=False,
                reference=_id_of(error.get("payment_intent")),
                message=(
                    _("The bank asked to confirm the payment, which it cannot do while you are away.")
                    if code == "authentication_required"
                    else _("The card was declined.")
                ),
                needs_authentication=code == "authentication_required",
            )
        self._ok(status, body, "a plan's charge")
        raise AssertionError("unreachable")  # pragma: no cover

    # Refunds ----------------------------------------------------------------------------------------------

    def refund(self, *, reference: str, amount_cents: int, idempotency_key: str) -> str:
        params = {"payment_intent": reference, "amount": amount_cents}
        status, body = self._call("POST", "/v1/refunds", params, idempotency_key=f"refund-{idempotency_key}")
        refund = self._ok(status, body, "a refund")
        if refund.get("status") not in ("succeeded", "pending"):
            raise GatewayError(_("The payment service did not make the refund."))
        return _id_of(refund.get("id"))

    # Webhooks ---------------------------------------------------------------------------------------------

    def parse_event(self, body: bytes, signature_header: str, *, now: float | None = None) -> GatewayEvent:
        """A signed event, or BadSignatureError (no signature, a wrong one, or one older than the tolerance)."""
        parts: dict[str, list[str]] = {}
        for piece in signature_header.split(","):
            key, _sep, value = piece.strip().partition("=")
            parts.setdefault(key, []).append(value)
        try:
            timestamp = int(parts.get("t", [""])[0])
        except ValueError:
            raise BadSignatureError("no timestamp") from None
        expected = hmac.new(self.webhook_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
            raise BadSignatureError("signature does not match")
        if abs((now if now is not None else time.time()) - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            raise BadSignatureError("signature too old")
        try:
            event = json.loads(body)
        except ValueError:
            raise BadSignatureError("not JSON") from None
        data = event.get("data") if isinstance(event, dict) else None
        obj = data.get("object") if isinstance(data, dict) else None
        if not isinstance(obj, dict) or not isinstance(event.get("id"), str):
            raise BadSignatureError("not an event")
        metadata = _dict(obj.get("metadata"))
        kind = str(event.get("type", ""))
        is_checkout = obj.get("object") == "checkout.session"
        return GatewayEvent(
            id=event["id"][:100],
            type=kind[:100],
            checkout_id=_id_of(obj.get("id")) if is_checkout else "",
            reference=_id_of(obj.get("payment_intent")) if is_checkout else _id_of(obj.get("id")),
            payment_id=str(metadata.get("payment", "") or obj.get("client_reference_id") or "")[:64],
            data=obj,
        )


def _id_of(value: object) -> str:
    """An id from a field that holds either the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value[:100] if isinstance(value, str) else ""


def gateway() -> StripeGateway:
    return StripeGateway()


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
