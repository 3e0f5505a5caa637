"""payment_sandbox: idempotency, charging saved cards off-session, refunds, and Stripe's form encoding. No database."""

from __future__ import annotations

import re

import pytest

from payment_sandbox.encoding import decode, luhn, money, money_short
from payment_sandbox.server import RunningSandbox
from tests.payment_sandbox.support import (
    AUTHENTICATE,
    DECLINE_LATER,
    GOOD,
    charge,
    checkout_params,
    client,
    create_checkout,
    event_types,
    events,
    get,
    pay,
    saved_card,
)

SESSIONS = "/v1/checkout/sessions"


# --- Idempotency ----------------------------------------------------------------------------------------


def test_the_same_key_and_params_answer_the_first_response_byte_for_byte(sandbox: RunningSandbox) -> None:
    api = client(sandbox)
    params = checkout_params()
    first = api.post(f"{sandbox.url}{SESSIONS}", data=params, headers={"Idempotency-Key": "checkout-payment-7"})
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    # The same parameters in another order are the same request.
    again = api.post(
        f"{sandbox.url}{SESSIONS}", data=list(params.items())[::-1], headers={"Idempotency-Key": "checkout-payment-7"}
    )
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Idempotency-Key"] == "checkout-payment-7"
    assert list(sandbox.processor.sessions) == [first.json()["id"]]
    # Another key is another request.
    other = api.post(f"{sandbox.url}{SESSIONS}", data=params, headers={"Idempotency-Key": "checkout-payment-8"})
    assert other.json()["id"] != first.json()["id"]
    assert len(sandbox.processor.sessions) == 2


def test_the_same_key_with_other_params_is_an_idempotency_error(sandbox: RunningSandbox) -> None:
    api = client(sandbox)
    headers = {"Idempotency-Key": "checkout-payment-7"}
    first = api.post(f"{sandbox.url}{SESSIONS}", data=checkout_params(), headers=headers)
    assert first.status_code == 200
    changed = checkout_params(**{"line_items[0][price_data][unit_amount]": "16000"})
    refused = api.post(f"{sandbox.url}{SESSIONS}", data=changed, headers=headers)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["type"] == "idempotency_error"
    assert "checkout-payment-7" in error["message"]
    # The same key on another endpoint is refused too; the first answer still stands.
    elsewhere = api.post(f"{sandbox.url}/v1/refunds", data={"payment_intent": "pi_x"}, headers=headers)
    assert elsewhere.json()["error"]["type"] == "idempotency_error"
    assert api.post(f"{sandbox.url}{SESSIONS}", data=checkout_params(), headers=headers).content == first.content
    assert len(sandbox.processor.sessions) == 1


def test_a_request_refused_for_its_params_is_not_remembered(sandbox: RunningSandbox) -> None:
    api = client(sandbox)
    headers = {"Idempotency-Key": "checkout-payment-9"}
    refused = api.post(f"{sandbox.url}{SESSIONS}", data=checkout_params(mode=None), headers=headers)
    assert refused.status_code == 400
    assert api.post(f"{sandbox.url}{SESSIONS}", data=checkout_params(), headers=headers).status_code == 200


def test_a_declined_charge_replays_its_402_without_charging_again(sandbox: RunningSandbox) -> None:
    customer, method = saved_card(sandbox, DECLINE_LATER)
    headers = {"Idempotency-Key": "charge-payment-8"}
    params = {
        "amount": "5000",
        "currency": "usd",
        "customer": customer,
        "payment_method": method,
        "off_session": "true",
        "confirm": "true",
    }
    first = client(sandbox).post(f"{sandbox.url}/v1/payment_intents", data=params, headers=headers)
    again = client(sandbox).post(f"{sandbox.url}/v1/payment_intents", data=params, headers=headers)
    assert (first.status_code, again.status_code) == (402, 402)
    assert again.content == first.content
    assert event_types(sandbox).count("payment_intent.payment_failed") == 1


def test_idempotency_keys_belong_to_one_api_key(sandbox: RunningSandbox) -> None:
    status, body, replayed = sandbox.processor.idempotent("sk_a", "k", "[1]", lambda: {"n": 1})
    assert (status, replayed) == (200, False)
    assert sandbox.processor.idempotent("sk_a", "k", "[1]", lambda: {"n": 2}) == (200, body, True)
    assert sandbox.processor.idempotent("sk_b", "k", "[1]", lambda: {"n": 3})[2] is False


# --- Charging a saved card off-session ---------------------------------------------------------------------


def test_a_saved_4242_card_is_charged_off_session(sandbox: RunningSandbox) -> None:
    customer, method = saved_card(sandbox, GOOD)
    response = charge(sandbox, customer, method, amount=5000)
    assert response.status_code == 200, response.text
    intent = response.json()
    assert re.fullmatch(r"pi_[A-Za-z0-9]{24}", intent["id"])
    assert (intent["status"], intent["amount"], intent["amount_received"]) == ("succeeded", 5000, 5000)
    assert (intent["customer"], intent["payment_method"]) == (customer, method)
    assert intent["metadata"] == {"payment": "payment-8"}
    assert intent["description"] == "Plan instalment 2 of 3"
    assert re.fullmatch(r"ch_[A-Za-z0-9]{24}", intent["latest_charge"])
    assert get(sandbox, f"/v1/payment_intents/{intent['id']}") == intent
    last = events(sandbox)[-1]["event"]
    assert (last["type"], last["data"]["object"]) == ("payment_intent.succeeded", intent)


def test_a_saved_0341_card_is_declined_off_session(sandbox: RunningSandbox) -> None:
    customer, method = saved_card(sandbox, DECLINE_LATER)  # the checkout itself succeeded
    response = charge(sandbox, customer, method)
    assert response.status_code == 402
    error = response.json()["error"]
    assert {k: error[k] for k in ("type", "code", "decline_code", "message")} == {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "Your card was declined.",
    }
    intent = error["payment_intent"]
    assert intent["status"] == "requires_payment_method"
    assert intent["amount_received"] == 0
    assert intent["metadata"] == {"payment": "payment-8"}
    assert intent["last_payment_error"]["code"] == "card_declined"
    assert error["payment_method"]["id"] == method
    assert get(sandbox, f"/v1/payment_intents/{intent['id']}") == intent
    failed = events(sandbox)[-1]["event"]
    assert failed["type"] == "payment_intent.payment_failed"
    assert failed["data"]["object"] == intent
    assert failed["data"]["object"]["last_payment_error"]["decline_code"] == "generic_decline"


def test_a_saved_3155_card_needs_authentication_off_session(sandbox: RunningSandbox) -> None:
    customer, method = saved_card(sandbox, AUTHENTICATE)
    response = charge(sandbox, customer, method)
    assert response.status_code == 402
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("card_error", "authentication_required")
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert error["payment_intent"]["last_payment_error"]["code"] == "authentication_required"
    assert event_types(sandbox)[-1] == "payment_intent.payment_failed"


def test_charges_need_a_known_customer_and_a_card_saved_to_them(sandbox: RunningSandbox) -> None:
    customer, method = saved_card(sandbox, GOOD)
    other_customer, other_method = saved_card(sandbox, GOOD)
    unsaved = create_checkout(sandbox)
    assert pay(unsaved, GOOD).status_code == 303
    unsaved_intent = get(sandbox, f"{SESSIONS}/{unsaved['id']}")["payment_intent"]
    unsaved_method = get(sandbox, f"/v1/payment_intents/{unsaved_intent}")["payment_method"]
    cases = [
        (("cus_nobody", method), "customer"),
        ((customer, "pm_nothing"), "payment_method"),
        ((customer, other_method), "payment_method"),
        ((other_customer, method), "payment_method"),
        ((customer, unsaved_method), "payment_method"),
    ]
    for (who, card), param in cases:
        response = charge(sandbox, who, card)
        assert response.status_code == 400, (who, card)
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert response.json()["error"]["param"] == param
    assert charge(sandbox, customer, method, confirm="false").json()["error"]["param"] == "confirm"
    assert charge(sandbox, customer, method, amount=10).json()["error"]["code"] == "amount_too_small"
    assert charge(sandbox, customer, method, color="red").json()["error"]["param"] == "color"
    assert event_types(sandbox).count("payment_intent.succeeded") == 3  # the three checkouts only


def test_a_detached_card_cannot_be_charged(sandbox: RunningSandbox) -> None:
    customer, method = saved_card(sandbox, GOOD)
    detached = client(sandbox).post(f"{sandbox.url}/v1/payment_methods/{method}/detach")
    assert detached.status_code == 200
    assert detached.json()["customer"] is None
    assert charge(sandbox, customer, method).status_code == 400


# --- Refunds ----------------------------------------------------------------------------------------------


def paid_intent(sandbox: RunningSandbox) -> str:
    session = create_checkout(sandbox)
    assert pay(session, GOOD).status_code == 303
    intent_id: str = get(sandbox, f"{SESSIONS}/{session['id']}")["payment_intent"]
    return intent_id


def refund(sandbox: RunningSandbox, **params: str) -> tuple[int, dict[str, object]]:
    response = client(sandbox).post(f"{sandbox.url}/v1/refunds", data=params)
    return response.status_code, response.json()


def test_a_full_refund_by_default(sandbox: RunningSandbox) -> None:
    intent_id = paid_intent(sandbox)
    status, answer = refund(sandbox, payment_intent=intent_id, **{"metadata[refund]": "r-1"}, reason="duplicate")
    assert status == 200
    assert re.fullmatch(r"re_[A-Za-z0-9]{24}", str(answer["id"]))
    assert {k: v for k, v in answer.items() if k not in ("id", "created", "charge")} == {
        "object": "refund",
        "amount": 15000,
        "currency": "usd",
        "payment_intent": intent_id,
        "status": "succeeded",
        "metadata": {"refund": "r-1"},
        "reason": "duplicate",
    }
    charge_row = get(sandbox, f"/v1/charges/{answer['charge']}")
    assert (charge_row["amount_refunded"], charge_row["refunded"]) == (15000, True)
    assert get(sandbox, f"/v1/refunds/{answer['id']}") == answer
    status, again = refund(sandbox, payment_intent=intent_id)
    assert status == 400
    assert again["error"]["code"] == "charge_already_refunded"
    last = events(sandbox)[-1]["event"]
    assert (last["type"], last["data"]["object"]["amount_refunded"]) == ("charge.refunded", 15000)


def test_partial_refunds_up_to_what_is_left(sandbox: RunningSandbox) -> None:
    intent_id = paid_intent(sandbox)
    assert refund(sandbox, payment_intent=intent_id, amount="5000")[1]["amount"] == 5000
    status, too_much = refund(sandbox, payment_intent=intent_id, amount="10001")
    assert status == 400
    assert too_much["error"] == {
        "type": "invalid_request_error",
        "message": "Refund amount ($100.01) is greater than unrefunded amount on charge ($100.00)",
        "param": "amount",
    }
    status, rest = refund(sandbox, payment_intent=intent_id)
    assert (status, rest["amount"]) == (200, 10000)
    assert event_types(sandbox)[-2:] == ["charge.refunded", "charge.refunded"]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": "100"}, "payment_intent"),
        ({"payment_intent": "pi_nothing"}, "payment_intent"),
        ({"payment_intent": "PAID", "amount": "0"}, "amount"),
        ({"payment_intent": "PAID", "amount": "ten"}, "amount"),
        ({"payment_intent": "PAID", "reason": "changed my mind"}, "reason"),
        ({"payment_intent": "PAID", "colour": "blue"}, "colour"),
    ],
)
def test_refunds_refuse_bad_params(sandbox: RunningSandbox, params: dict[str, str], param: str) -> None:
    intent_id = paid_intent(sandbox)
    status, answer = refund(sandbox, **{k: intent_id if v == "PAID" else v for k, v in params.items()})
    assert status == 400
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["param"] == param


def test_an_unpaid_intent_cannot_be_refunded(sandbox: RunningSandbox) -> None:
    customer, method = saved_card(sandbox, DECLINE_LATER)
    failed = charge(sandbox, customer, method).json()["error"]["payment_intent"]["id"]
    status, answer = refund(sandbox, payment_intent=failed)
    assert status == 400
    assert "does not have a successful charge" in answer["error"]["message"]


# --- Stripe's form encoding, Luhn and money -----------------------------------------------------------------------


def test_bracket_notation_decodes_to_nested_params() -> None:
    pairs = [
        ("line_items[0][price_data][unit_amount]", "1500"),
        ("line_items[0][quantity]", "1"),
        ("line_items[1][quantity]", "2"),
        ("metadata[payment]", "abc"),
        ("expand[]", "customer"),
        ("expand[]", "payment_intent"),
        ("mode", "payment"),
    ]
    assert decode(pairs) == {
        "line_items": {"0": {"price_data": {"unit_amount": "1500"}, "quantity": "1"}, "1": {"quantity": "2"}},
        "metadata": {"payment": "abc"},
        "expand": {"0": "customer", "1": "payment_intent"},
        "mode": "payment",
    }
    for bad in ([("a[b", "1")], [("[a]", "1")], [("a", "1"), ("a[b]", "2")], [("a[b]", "1"), ("a", "2")]):
        with pytest.raises(ValueError, match="Invalid"):
            decode(bad)


def test_luhn_and_money() -> None:
    assert luhn("4242424242424242")
    assert luhn("4000002500003155")
    assert not luhn("4242424242424241")
    assert money(15000, "usd") == "$150.00 USD"
    assert money(123456789, "usd") == "$1,234,567.89 USD"
    assert money(950, "EUR") == "€9.50 EUR"
    assert money(1200, "jpy") == "1,200 JPY"
    assert money(1200, "chf") == "12.00 CHF"
    assert money_short(5, "usd") == "$0.05"
