"""The processor's state and rules: Checkout Sessions, PaymentIntents, Customers, PaymentMethods, Charges, Refunds.

Everything lives in memory behind one lock, held for a whole API request (idempotency included), so
that two requests never interleave. Objects are kept as the JSON Stripe would answer with; what Stripe
never shows (how a saved card behaves, a card waiting for its bank) is kept beside them. A card's
number, expiry and security code are read once, to decide what happens, and never kept: a
PaymentMethod holds the brand, last four digits and expiry month and year only.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from payment_sandbox.encoding import luhn, money_short
from payment_sandbox.webhooks import Outbox

API_VERSION = "2024-06-20"
ALPHANUMERIC = string.ascii_letters + string.digits
SESSION_SECONDS = 24 * 3600
IDEMPOTENCY_SECONDS = 24 * 3600
MAX_AMOUNT = 99_999_999
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50}
DOCS = "https://stripe.com/docs/error-codes"

# The test cards (README.md): number -> (what the card does, what the hosted page's table says).
SUCCEED, DECLINE, AUTHENTICATE, DECLINE_LATER = "succeed", "decline", "authenticate", "decline_later"
TEST_CARDS = {
    "4242424242424242": (SUCCEED, "Succeeds. Saved, later charges succeed too."),
    "4000000000000002": (DECLINE, "Declined: nothing is paid, try another card."),
    "4000002500003155": (
        AUTHENTICATE,
        "Your bank asks you to confirm, on a page standing in for it. Saved, later charges are refused as needing it.",
    ),
    "4000000000000341": (DECLINE_LATER, "Succeeds and can be saved, but later charges are declined."),
}
DECLINED = "Your card was declined. Try another card."
NOT_CONFIRMED = "Your bank did not confirm the payment. Try again or use another card."

# Top-level parameters each endpoint takes (Stripe refuses any other, naming it).
SESSION_PARAMS = frozenset(
    {
        "mode",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "line_items",
        "metadata",
        "payment_intent_data",
        "customer",
        "customer_creation",
        "customer_email",
        "expires_at",
        "payment_method_types",
        "locale",
        "submit_type",
        "billing_address_collection",
        "expand",
    }
)
INTENT_DATA_PARAMS = frozenset({"metadata", "setup_future_usage", "description", "receipt_email", "capture_method"})
INTENT_PARAMS = frozenset(
    {
        "amount",
        "currency",
        "customer",
        "payment_method",
        "off_session",
        "confirm",
        "metadata",
        "description",
        "receipt_email",
        "payment_method_types",
        "statement_descriptor_suffix",
        "error_on_requires_action",
        "expand",
    }
)
REFUND_PARAMS = frozenset({"payment_intent", "charge", "amount", "metadata", "reason", "expand"})
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


class ApiError(Exception):
    """An answer in Stripe's error shape: `{"error": {"type", "message", "param"?, "code"?, ...}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code, self.extra = (
            status,
            message,
            kind,
            param,
            code,
            extra,
        )

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.code:
            error |= {"code": self.code, "doc_url": f"{DOCS}#{self.code.replace('_', '-')}"}
        if self.param:
            error["param"] = self.param
        return {"error": error | (self.extra or {})}


def missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required param: {param}.", param=param, code="parameter_missing")


def no_such(kind: str, object_id: str, param: str = "id", status: int = 404) -> ApiError:
    return ApiError(status, f"No such {kind}: '{object_id}'", param=param, code="resource_missing")


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(ALPHANUMERIC) for _ in range(length))


# --- Reading parameters ----------------------------------------------------------------------------


def refuse_unknown(params: dict[str, Any], allowed: frozenset[str], prefix: str = "") -> None:
    for name in params:
        if name not in allowed:
            shown = f"{prefix}[{name}]" if prefix else name
            raise ApiError(400, f"Received unknown parameter: {shown}", param=shown)


def text(params: dict[str, Any], name: str, param: str, *, required: bool = False, limit: int = 5000) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(param)
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"Invalid string: {param} must be a string, not a hash.", param=param)
    if len(value) > limit:
        raise ApiError(400, f"Invalid string: {param} is longer than {limit} characters.", param=param)
    return value


def integer(
    params: dict[str, Any],
    name: str,
    param: str,
    *,
    required: bool = False,
    minimum: int = 0,
    maximum: int | None = MAX_AMOUNT,
) -> int | None:
    value = text(params, name, param, required=required, limit=20)
    if value is None:
        return None
    if not re.fullmatch(r"-?[0-9]+", value):
        raise ApiError(400, f"Invalid integer: {value}", param=param)
    number = int(value)
    if number < minimum:
        raise ApiError(400, f"Invalid {param}: must be at least {minimum}", param=param)
    if maximum is not None and number > maximum:
        raise ApiError(400, f"Invalid {param}: must be at most {maximum}", param=param, code="amount_too_large")
    return number


def boolean(params: dict[str, Any], name: str, param: str) -> bool | None:
    value = text(params, name, param, limit=5)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise ApiError(400, f"Invalid boolean: {value}", param=param)
    return value == "true"


def currency_of(params: dict[str, Any], name: str, param: str) -> str:
    value = (text(params, name, param, required=True, limit=3) or "").lower()
    if not re.fullmatch(r"[a-z]{3}", value):
        raise ApiError(400, f"Invalid currency: {value}", param=param)
    return value


def metadata_of(params: dict[str, Any], name: str = "metadata", param: str = "metadata") -> dict[str, str]:
    """Stripe's metadata: up to 50 string keys (40 characters) and values (500); empty values are dropped."""
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"Invalid hash: {param} must be a hash of keys and values", param=param)
    if len(value) > 50:
        raise ApiError(400, f"Invalid {param}: at most 50 keys", param=param)
    kept: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise ApiError(400, f"Invalid {param}[{key}]: metadata values are strings", param=f"{param}[{key}]")
        if len(key) > 40 or len(item) > 500:
            raise ApiError(400, f"Invalid {param}[{key}]: keys hold 40 characters, values 500", param=f"{param}[{key}]")
        if item:
            kept[key] = item
    return kept


def array(params: dict[str, Any], name: str, param: str) -> list[Any]:
    """`name[0]...`, `name[1]...` (or `name[]`) as a list in index order."""
    value = params.get(name)
    if value is None or value == "":
        return []
    if not isinstance(value, dict) or not all(re.fullmatch(r"[0-9]+", key) for key in value):
        raise ApiError(400, f"Invalid array: {param}", param=param)
    return [value[key] for key in sorted(value, key=int)]


def url_of(params: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = text(params, name, name, required=required, limit=5000)
    if value is not None and not re.match(r"https?://[^\s/]", value):
        raise ApiError(400, f"Invalid URL: {value}. URLs must begin with http:// or https://", param=name)
    return value


def check_minimum(amount: int, currency: str, param: str) -> None:
    least = MINIMUM_CHARGE.get(currency, 1)
    if amount < least:
        message = f"Amount must be at least {money_short(least, currency)} {currency}"
        raise ApiError(400, message, param=param, code="amount_too_small")


# --- Cards -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """What is kept of a card: never its number, expiry date as given, or security code."""

    behaviour: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    name: str


def read_card(form: dict[str, str], today: datetime) -> Card | tuple[int, str, str]:
    """The card typed into the hosted page, or (HTTP status, the field at fault, the message for it)."""
    number = re.sub(r"[\s-]", "", form.get("card_number", ""))
    if not re.fullmatch(r"[0-9]{12,19}", number) or not luhn(number):
        return 400, "card_number", "Your card number is incorrect."
    if number not in TEST_CARDS:
        return 402, "card_number", "This is a test processor: use one of the test cards listed."
    expiry = re.fullmatch(r"\s*([0-9]{1,2})\s*/\s*([0-9]{2}|[0-9]{4})\s*", form.get("expiry", ""))
    month, year = (int(expiry.group(1)), int(expiry.group(2))) if expiry else (0, 0)
    year += 2000 if year < 100 else 0
    if not 1 <= month <= 12 or (year, month) < (today.year, today.month) or year > today.year + 50:
        return 400, "expiry", "Your card's expiry date is incorrect."
    if not re.fullmatch(r"[0-9]{3,4}", form.get("cvc", "").strip()):
        return 400, "cvc", "Your card's security code is incorrect."
    name = " ".join(form.get("name", "").split())[:200]
    return Card(TEST_CARDS[number][0], "visa", number[-4:], month, year, name)


@dataclass(frozen=True)
class PageResult:
    """What the hosted page does next: `kind` is one of paid, form, authenticate, complete, expired, missing."""

    kind: str
    status: int = 200
    session: dict[str, Any] | None = None
    message: str | None = None
    field: str | None = None
    name: str = ""
    redirect: str | None = None


# --- The processor ---------------------------------------------------------------------------------


class Processor:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.lock = threading.RLock()
        self.request: dict[str, str | None] = {"id": None, "idempotency_key": None}  # the request being served
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.sessions: dict[str, dict[str, Any]] = {}
            self.session_extra: dict[str, dict[str, Any]] = {}  # payment_intent_data, customer_creation, email
            self.pending: dict[str, Card] = {}  # session id -> a card waiting for its bank's answer
            self.intents: dict[str, dict[str, Any]] = {}
            self.customers: dict[str, dict[str, Any]] = {}
            self.methods: dict[str, dict[str, Any]] = {}
            self.behaviour: dict[str, str] = {}  # payment method id -> SUCCEED, AUTHENTICATE, DECLINE_LATER
            self.charges: dict[str, dict[str, Any]] = {}
            self.refunds: dict[str, dict[str, Any]] = {}
            self.idempotency: dict[tuple[str, str], tuple[float, str, int, bytes]] = {}
            self.outbox.reset()

    # --- Idempotency ----------------------------------------------------------------------------

    def idempotent(
        self, api_key: str, key: str | None, fingerprint: str, action: Callable[[], dict[str, Any]]
    ) -> tuple[int, bytes, bool]:
        """Run a POST once per `Idempotency-Key`: (status, body, replayed). As Stripe does, a request refused
        before it ran (invalid parameters, 4xx other than a card's 402) is not remembered."""
        with self.lock:
            now = time.time()
            self.idempotency = {k: v for k, v in self.idempotency.items() if v[0] > now - IDEMPOTENCY_SECONDS}
            if key is not None and len(key) > 255:
                error = ApiError(400, "Idempotency keys hold at most 255 characters.", kind="idempotency_error")
                return 400, encode(error.body()), False
            if key is not None and (api_key, key) in self.idempotency:
                _, first, status, body = self.idempotency[(api_key, key)]
                if first == fingerprint:
                    return status, body, True
                message = (
                    "Keys for idempotent requests can only be used with the same parameters they were first used "
                    f"with. Try using a key other than '{key}' if you meant to execute a different request."
                )
                return 400, encode(ApiError(400, message, kind="idempotency_error").body()), False
            self.request = {"id": new_id("req_", 14), "idempotency_key": key}
            try:
                status, body = 200, encode(action())
            except ApiError as error:
                status, body = error.status, encode(error.body())
            finally:
                self.request = {"id": None, "idempotency_key": None}
            if key is not None and (status < 400 or status == 402):
                self.idempotency[(api_key, key)] = (now, fingerprint, status, body)
            return status, body, False

    # --- Events ---------------------------------------------------------------------------------

    def emit(self, kind: str, obj: dict[str, Any]) -> None:
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1 if self.outbox.url else 0,
            "request": dict(self.request),
            "type": kind,
        }
        self.outbox.publish(event)

    # --- Checkout Sessions ----------------------------------------------------------------------

    def create_session(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        refuse_unknown(params, SESSION_PARAMS)
        mode = text(params, "mode", "mode", required=True)
        if mode != "payment":
            raise ApiError(400, f"Invalid mode: {mode}. payment_sandbox supports mode=payment only.", param="mode")
        success_url = url_of(params, "success_url", required=True)
        cancel_url = url_of(params, "cancel_url")
        items = array(params, "line_items", "line_items")
        if not items:
            raise missing("line_items")
        currency: str | None = None
        total, names = 0, list[str]()
        for index, item in enumerate(items):
            amount, item_currency, name = self.line_item(item, f"line_items[{index}]")
            if currency not in (None, item_currency):
                raise ApiError(400, "All line items must share one currency.", param=f"line_items[{index}]")
            currency, total, names = item_currency, total + amount, [*names, name]
        assert currency is not None
        if total > MAX_AMOUNT:
            raise ApiError(
                400, "The total is above the largest amount allowed.", param="line_items", code="amount_too_large"
            )
        check_minimum(total, currency, "line_items")
        intent_data = params.get("payment_intent_data") or {}
        if not isinstance(intent_data, dict):
            raise ApiError(400, "Invalid hash: payment_intent_data", param="payment_intent_data")
        refuse_unknown(intent_data, INTENT_DATA_PARAMS, "payment_intent_data")
        future = text(intent_data, "setup_future_usage", "payment_intent_data[setup_future_usage]")
        if future not in (None, "off_session", "on_session"):
            param = "payment_intent_data[setup_future_usage]"
            raise ApiError(400, f"Invalid {param}: must be off_session or on_session", param=param)
        creation = text(params, "customer_creation", "customer_creation")
        if creation not in (None, "always", "if_required"):
            raise ApiError(400, "Invalid customer_creation: must be always or if_required", param="customer_creation")
        customer = text(params, "customer", "customer")
        if customer is not None and customer not in self.customers:
            raise no_such("customer", customer, "customer", 400)
        if customer is not None and creation is not None:
            message = "You may only specify one of these parameters: customer, customer_creation."
            raise ApiError(400, message, param="customer_creation")
        now = int(time.time())
        expires_at = integer(params, "expires_at", "expires_at", maximum=None)
        if expires_at is not None and not now + 1800 <= expires_at <= now + SESSION_SECONDS:
            message = (
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation."
            )
            raise ApiError(400, message, param="expires_at")
        session_id = new_id("cs_test_")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": cancel_url,
            "client_reference_id": text(params, "client_reference_id", "client_reference_id", limit=200),
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_creation": creation,
            "customer_email": text(params, "customer_email", "customer_email", limit=512),
            "expires_at": expires_at or now + SESSION_SECONDS,
            "livemode": False,
            "metadata": metadata_of(params),
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": success_url,
            "url": f"{base_url}/pay/{session_id}",
        }
        self.sessions[session_id] = session
        self.session_extra[session_id] = {
            "names": names,
            "customer": customer,
            "future": future,
            "intent_metadata": metadata_of(intent_data, param="payment_intent_data[metadata]"),
            "description": text(intent_data, "description", "payment_intent_data[description]", limit=1000),
        }
        return self.expanded(session, params, {"customer": self.customers, "payment_intent": self.intents})

    @staticmethod
    def line_item(item: Any, prefix: str) -> tuple[int, str, str]:
        """(amount, currency, product name) of one `line_items[i]`."""
        if not isinstance(item, dict):
            raise ApiError(400, f"Invalid hash: {prefix}", param=prefix)
        refuse_unknown(item, frozenset({"price_data", "quantity"}), prefix)
        price = item.get("price_data")
        if not isinstance(price, dict):
            raise missing(f"{prefix}[price_data]")
        refuse_unknown(price, frozenset({"currency", "unit_amount", "product_data"}), f"{prefix}[price_data]")
        currency = currency_of(price, "currency", f"{prefix}[price_data][currency]")
        unit = integer(price, "unit_amount", f"{prefix}[price_data][unit_amount]", required=True)
        product = price.get("product_data")
        if not isinstance(product, dict):
            raise missing(f"{prefix}[price_data][product_data][name]")
        refuse_unknown(product, frozenset({"name", "description"}), f"{prefix}[price_data][product_data]")
        name = text(product, "name", f"{prefix}[price_data][product_data][name]", required=True, limit=250)
        quantity = integer(item, "quantity", f"{prefix}[quantity]", required=True, minimum=1)
        assert unit is not None
        assert quantity is not None
        assert name is not None
        return unit * quantity, currency, name

    def session(self, session_id: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise no_such("checkout session", session_id)
        self.expire_if_due(session)
        return self.expanded(session, params or {}, {"customer": self.customers, "payment_intent": self.intents})

    def expire_session(self, session_id: str) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise no_such("checkout session", session_id)
        self.expire_if_due(session)
        if session["status"] != "open":
            message = (
                f'Only Checkout Sessions with a status in ["open"] can be expired. This one is {session["status"]}.'
            )
            raise ApiError(400, message, param="session")
        self.expire(session)
        return copy.deepcopy(session)

    def expire_if_due(self, session: dict[str, Any]) -> None:
        if session["status"] == "open" and time.time() >= session["expires_at"]:
            self.expire(session)

    def expire(self, session: dict[str, Any]) -> None:
        session["status"] = "expired"
        self.pending.pop(session["id"], None)
        self.emit("checkout.session.expired", session)

    @staticmethod
    def expanded(
        obj: dict[str, Any], params: dict[str, Any], stores: dict[str, dict[str, dict[str, Any]]]
    ) -> dict[str, Any]:
        """A copy of the object, with the fields named in `expand[]` replaced by the objects they name."""
        answer = copy.deepcopy(obj)
        for field in array(params, "expand", "expand"):
            if field not in stores:
                raise ApiError(400, f"This property cannot be expanded ({field}).", param="expand")
            if answer.get(field) in stores[field]:
                answer[field] = copy.deepcopy(stores[field][answer[field]])
        return answer

    # --- The hosted page ------------------------------------------------------------------------

    def page(self, session_id: str) -> PageResult:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return PageResult("missing", 404)
            self.expire_if_due(session)
            if session["status"] != "open":
                return PageResult(session["status"], 200, self.view(session))
            return PageResult("form", 200, self.view(session))

    def pay(self, session_id: str, form: dict[str, str]) -> PageResult:
        """The card form was sent: pay, refuse, or ask the bank."""
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return PageResult("missing", 404)
            self.expire_if_due(session)
            if session["status"] != "open":
                return PageResult(session["status"], 409, self.view(session))
            name = " ".join(form.get("name", "").split())[:200]
            card = read_card(form, datetime.now(UTC))
            if not isinstance(card, Card):
                status, field, message = card
                return PageResult("form", status, self.view(session), message, field, name)
            if card.behaviour == DECLINE:
                return PageResult("form", 402, self.view(session), DECLINED, "card_number", name)
            if card.behaviour == AUTHENTICATE:
                self.pending[session_id] = card
                return PageResult("authenticate", 200, self.view(session))
            return self.complete(session, card)

    def authenticate(self, session_id: str, outcome: str) -> PageResult:
        """The bank's page was answered: `complete` pays with the waiting card, anything else does not."""
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return PageResult("missing", 404)
            self.expire_if_due(session)
            if session["status"] != "open":
                return PageResult(session["status"], 409, self.view(session))
            card = self.pending.pop(session_id, None)
            if card is None:
                message = "Enter your card details to pay."
                return PageResult("form", 400, self.view(session), message, "card_number")
            if outcome != "complete":
                return PageResult("form", 402, self.view(session), NOT_CONFIRMED, "card_number", card.name)
            return self.complete(session, card)

    def view(self, session: dict[str, Any]) -> dict[str, Any]:
        """The session as the pages show it (with the product names, which the session object does not carry)."""
        return copy.deepcopy(session) | {"product_names": list(self.session_extra[session["id"]]["names"])}

    def complete(self, session: dict[str, Any], card: Card) -> PageResult:
        extra = self.session_extra[session["id"]]
        customer_id = extra["customer"]
        if customer_id is None and (extra["future"] or session["customer_creation"] == "always"):
            customer_id = self.create_customer(session["customer_email"], card.name)
        method = self.create_method(card, customer_id if extra["future"] else None)
        charge = self.create_charge(session["amount_total"], session["currency"], method["id"], customer_id)
        intent = self.create_intent(
            session["amount_total"],
            session["currency"],
            customer_id,
            method["id"],
            extra["intent_metadata"],
            extra["description"],
            charge,
        )
        intent["setup_future_usage"] = extra["future"]
        intent["amount_received"], intent["status"] = intent["amount"], "succeeded"
        session |= {
            "status": "complete",
            "payment_status": "paid",
            "payment_intent": intent["id"],
            "customer": customer_id,
        }
        self.pending.pop(session["id"], None)
        self.emit("checkout.session.completed", session)
        self.emit("payment_intent.succeeded", intent)
        redirect = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
        return PageResult("paid", 303, self.view(session), redirect=redirect)

    # --- Objects behind a payment -----------------------------------------------------------------

    def create_customer(self, email: str | None, name: str) -> str:
        customer_id = new_id("cus_", 14)
        self.customers[customer_id] = {
            "id": customer_id,
            "object": "customer",
            "created": int(time.time()),
            "email": email,
            "livemode": False,
            "metadata": {},
            "name": name or None,
        }
        return customer_id

    def create_method(self, card: Card, customer_id: str | None) -> dict[str, Any]:
        method_id = new_id("pm_")
        method = {
            "id": method_id,
            "object": "payment_method",
            "billing_details": {"name": card.name or None},
            "card": {"brand": card.brand, "last4": card.last4, "exp_month": card.exp_month, "exp_year": card.exp_year},
            "created": int(time.time()),
            "customer": customer_id,
            "livemode": False,
            "metadata": {},
            "type": "card",
        }
        self.methods[method_id] = method
        self.behaviour[method_id] = card.behaviour
        return method

    def create_charge(
        self, amount: int, currency: str, method_id: str, customer_id: str | None, failed: bool = False
    ) -> dict[str, Any]:
        charge_id = new_id("ch_")
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": 0 if failed else amount,
            "amount_refunded": 0,
            "captured": not failed,
            "created": int(time.time()),
            "currency": currency,
            "customer": customer_id,
            "livemode": False,
            "metadata": {},
            "paid": not failed,
            "payment_intent": None,
            "payment_method": method_id,
            "refunded": False,
            "status": "failed" if failed else "succeeded",
        }
        self.charges[charge_id] = charge
        return charge

    def create_intent(
        self,
        amount: int,
        currency: str,
        customer_id: str | None,
        method_id: str,
        metadata: dict[str, str],
        description: str | None,
        charge: dict[str, Any] | None,
    ) -> dict[str, Any]:
        intent_id = new_id("pi_")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "currency": currency,
            "created": int(time.time()),
            "customer": customer_id,
            "description": description,
            "last_payment_error": None,
            "latest_charge": charge["id"] if charge else None,
            "livemode": False,
            "metadata": metadata,
            "payment_method": method_id,
            "payment_method_types": ["card"],
            "setup_future_usage": None,
            "status": "requires_payment_method",
        }
        if charge is not None:
            charge["payment_intent"] = intent_id
            charge["metadata"] = dict(metadata)
        self.intents[intent_id] = intent
        return intent

    # --- Charging a saved card ------------------------------------------------------------------------

    def create_payment_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        """An off-session charge of a saved card: succeeded (200), or a card error (402) with the failed intent."""
        refuse_unknown(params, INTENT_PARAMS)
        amount = integer(params, "amount", "amount", required=True, minimum=1)
        currency = currency_of(params, "currency", "currency")
        assert amount is not None
        check_minimum(amount, currency, "amount")
        customer_id = text(params, "customer", "customer", required=True)
        method_id = text(params, "payment_method", "payment_method", required=True)
        assert customer_id is not None
        assert method_id is not None
        if boolean(params, "confirm", "confirm") is not True:
            raise ApiError(400, "payment_sandbox charges saved cards only: send confirm=true.", param="confirm")
        off_session = text(params, "off_session", "off_session", limit=9)
        if off_session not in ("true", "one_off", "recurring"):
            raise ApiError(400, "payment_sandbox charges saved cards only: send off_session=true.", param="off_session")
        if customer_id not in self.customers:
            raise no_such("customer", customer_id, "customer", 400)
        method = self.methods.get(method_id)
        if method is None:
            raise no_such("PaymentMethod", method_id, "payment_method", 400)
        if method["customer"] != customer_id:
            message = f"The PaymentMethod provided ({method_id}) is not attached to the Customer ({customer_id})."
            raise ApiError(400, message, param="payment_method")
        metadata = metadata_of(params)
        description = text(params, "description", "description", limit=1000)
        behaviour = self.behaviour[method_id]
        charge: dict[str, Any] | None = None
        if behaviour == SUCCEED:
            charge = self.create_charge(amount, currency, method_id, customer_id)
            intent = self.create_intent(amount, currency, customer_id, method_id, metadata, description, charge)
            intent["amount_received"], intent["status"] = amount, "succeeded"
            self.emit("payment_intent.succeeded", intent)
            return self.expanded(intent, params, {"customer": self.customers, "payment_method": self.methods})
        if behaviour == DECLINE_LATER:
            charge = self.create_charge(amount, currency, method_id, customer_id, failed=True)
            code, decline, message = "card_declined", "generic_decline", "Your card was declined."
        else:
            code, decline = "authentication_required", "authentication_required"
            message = "Your card was declined. This transaction requires authentication."
        intent = self.create_intent(amount, currency, customer_id, method_id, metadata, description, charge)
        error: dict[str, Any] = {"type": "card_error", "code": code, "decline_code": decline, "message": message}
        error |= {"doc_url": f"{DOCS}#{code.replace('_', '-')}", "payment_method": copy.deepcopy(method)}
        if charge is not None:
            error["charge"] = charge["id"]
        intent["last_payment_error"] = error
        self.emit("payment_intent.payment_failed", intent)
        extra: dict[str, Any] = {
            "decline_code": decline,
            "payment_intent": copy.deepcopy(intent),
            "payment_method": copy.deepcopy(method),
        }
        if charge is not None:
            extra["charge"] = charge["id"]
        raise ApiError(402, message, kind="card_error", code=code, extra=extra)

    def payment_intent(self, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
        intent = self.intents.get(intent_id)
        if intent is None:
            raise no_such("payment_intent", intent_id)
        return self.expanded(intent, params, {"customer": self.customers, "payment_method": self.methods})

    # --- Refunds --------------------------------------------------------------------------------------

    def create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        refuse_unknown(params, REFUND_PARAMS)
        intent_id = text(params, "payment_intent", "payment_intent")
        charge_id = text(params, "charge", "charge")
        if intent_id is None and charge_id is None:
            raise missing("payment_intent")
        if intent_id is not None:
            intent = self.intents.get(intent_id)
            if intent is None:
                raise no_such("payment_intent", intent_id, "payment_intent", 400)
            charge_id = intent["latest_charge"] if intent["status"] == "succeeded" else None
            if charge_id is None:
                message = f"This PaymentIntent ({intent_id}) does not have a successful charge to refund."
                raise ApiError(400, message, param="payment_intent")
        assert charge_id is not None
        charge = self.charges.get(charge_id)
        if charge is None or charge["status"] != "succeeded":
            raise no_such("charge", charge_id, "charge", 400)
        left = charge["amount"] - charge["amount_refunded"]
        if left == 0:
            raise ApiError(400, f"Charge {charge_id} has already been refunded.", code="charge_already_refunded")
        amount = integer(params, "amount", "amount", minimum=1)
        amount = left if amount is None else amount
        if amount > left:
            currency = charge["currency"]
            message = (
                f"Refund amount ({money_short(amount, currency)}) is greater than unrefunded amount on charge "
                f"({money_short(left, currency)})"
            )
            raise ApiError(400, message, param="amount")
        reason = text(params, "reason", "reason", limit=40)
        if reason is not None and reason not in REFUND_REASONS:
            raise ApiError(400, f"Invalid reason: must be one of {', '.join(sorted(REFUND_REASONS))}", param="reason")
        refund_id = new_id("re_")
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "charge": charge_id,
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": metadata_of(params),
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "status": "succeeded",
        }
        self.refunds[refund_id] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.emit("charge.refunded", charge)
        return self.expanded(refund, params, {"charge": self.charges, "payment_intent": self.intents})

    # --- Plain reads ------------------------------------------------------------------------------------

    def read(self, kind: str, object_id: str) -> dict[str, Any]:
        """GET /v1/<kind>/<id> for customers, payment_methods, charges and refunds."""
        stores = {
            "customers": ("customer", self.customers),
            "payment_methods": ("PaymentMethod", self.methods),
            "charges": ("charge", self.charges),
            "refunds": ("refund", self.refunds),
        }
        name, store = stores[kind]
        if object_id not in store:
            raise no_such(name, object_id)
        return copy.deepcopy(store[object_id])

    def customer_methods(self, customer_id: str) -> dict[str, Any]:
        if customer_id not in self.customers:
            raise no_such("customer", customer_id)
        found = [copy.deepcopy(m) for m in self.methods.values() if m["customer"] == customer_id]
        url = f"/v1/customers/{customer_id}/payment_methods"
        return {"object": "list", "data": found[::-1], "has_more": False, "url": url}

    def detach(self, method_id: str) -> dict[str, Any]:
        method = self.methods.get(method_id)
        if method is None:
            raise no_such("PaymentMethod", method_id)
        if method["customer"] is None:
            raise ApiError(
                400, f"The payment method {method_id} is not attached to a customer.", param="payment_method"
            )
        method["customer"] = None
        return copy.deepcopy(method)


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, indent=2).encode()
