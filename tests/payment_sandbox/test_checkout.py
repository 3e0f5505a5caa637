"""payment_sandbox: Checkout Sessions and the hosted payment page, over real HTTP with `requests`. No database."""

from __future__ import annotations

import json
import re
import time
from html import escape
from html.parser import HTMLParser

import pytest
import requests

from payment_sandbox.server import RunningSandbox, start
from tests.payment_sandbox.support import (
    API_KEY,
    AUTHENTICATE,
    CANCEL,
    DECLINE_LATER,
    DECLINED,
    EXPIRY,
    GOOD,
    SECRET,
    authenticate,
    checkout_params,
    client,
    create_checkout,
    event_types,
    events,
    get,
    pay,
)

SESSIONS = "/v1/checkout/sessions"


# --- The API's door ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Bearer sk_test_wrong", f"Basic {API_KEY}", API_KEY, f"Bearer {API_KEY}x"],
    ids=["none", "empty", "wrong", "basic", "no-scheme", "longer"],
)
def test_the_api_refuses_a_missing_or_wrong_key(sandbox: RunningSandbox, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, path in (("POST", SESSIONS), ("GET", f"{SESSIONS}/cs_test_x"), ("POST", "/v1/refunds")):
        response = requests.request(method, f"{sandbox.url}{path}", headers=headers, data=checkout_params())
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert "api key" in error["message"].lower()
        assert API_KEY not in response.text
    assert event_types(sandbox) == []


def test_the_right_key_opens_the_api_and_an_unknown_object_is_404(sandbox: RunningSandbox) -> None:
    response = client(sandbox).get(f"{sandbox.url}{SESSIONS}/cs_test_nothing")
    assert response.status_code == 404
    assert response.json()["error"] | {"doc_url": ""} == {
        "type": "invalid_request_error",
        "code": "resource_missing",
        "message": "No such checkout session: 'cs_test_nothing'",
        "param": "id",
        "doc_url": "",
    }
    assert client(sandbox).get(f"{sandbox.url}/v1/nothing").status_code == 404


# --- Creating a Checkout Session -------------------------------------------------------------------------


def test_a_checkout_session_is_created_in_stripes_shape(sandbox: RunningSandbox) -> None:
    before = int(time.time())
    response = client(sandbox).post(f"{sandbox.url}{SESSIONS}", data=checkout_params())
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    session = response.json()
    assert re.fullmatch(r"cs_test_[A-Za-z0-9]{24}", session["id"])
    assert session["url"] == f"{sandbox.url}/pay/{session['id']}"
    assert before <= session["created"] <= time.time()
    assert session["expires_at"] == session["created"] + 24 * 3600
    assert {k: session[k] for k in session if k not in ("id", "url", "created", "expires_at")} == {
        "object": "checkout.session",
        "amount_subtotal": 15000,
        "amount_total": 15000,
        "cancel_url": CANCEL,
        "client_reference_id": "payment-7",
        "currency": "usd",
        "customer": None,
        "customer_creation": None,
        "customer_email": None,
        "livemode": False,
        "metadata": {"payment": "payment-7"},
        "mode": "payment",
        "payment_intent": None,
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "status": "open",
        "success_url": "http://portal.test/billing/paid/?session={CHECKOUT_SESSION_ID}",
    }
    assert get(sandbox, f"{SESSIONS}/{session['id']}") == session


def test_several_line_items_add_up_and_currency_is_lowercased(sandbox: RunningSandbox) -> None:
    session = create_checkout(
        sandbox,
        **{
            "line_items[0][price_data][currency]": "EUR",
            "line_items[0][quantity]": "2",
            "line_items[1][price_data][currency]": "eur",
            "line_items[1][price_data][unit_amount]": "250",
            "line_items[1][price_data][product_data][name]": "Copies of the record",
            "line_items[1][quantity]": "1",
        },
    )
    assert (session["amount_total"], session["currency"]) == (30250, "eur")
    page = requests.get(session["url"]).text
    assert "€302.50 EUR" in page
    assert "Visit on 3 March, your share, Copies of the record" in page


@pytest.mark.parametrize(
    ("change", "param", "message"),
    [
        ({"mode": None}, "mode", "Missing required param: mode."),
        ({"mode": "subscription"}, "mode", "Invalid mode: subscription"),
        ({"success_url": None}, "success_url", "Missing required param: success_url."),
        ({"success_url": "portal.test/paid"}, "success_url", "Invalid URL"),
        ({"cancel_url": "javascript:alert(1)"}, "cancel_url", "Invalid URL"),
        ({"line_items[0][price_data][currency]": None}, "line_items[0][price_data][currency]", "Missing required"),
        ({"line_items[0][price_data][currency]": "dollars"}, "line_items[0][price_data][currency]", "Invalid"),
        (
            {"line_items[0][price_data][unit_amount]": "15.00"},
            "line_items[0][price_data][unit_amount]",
            "Invalid integer",
        ),
        ({"line_items[0][price_data][unit_amount]": None}, "line_items[0][price_data][unit_amount]", "Missing"),
        ({"line_items[0][price_data][unit_amount]": "-5"}, "line_items[0][price_data][unit_amount]", "at least 0"),
        ({"line_items[0][price_data][unit_amount]": "20"}, "line_items", "Amount must be at least $0.50 usd"),
        (
            {"line_items[0][price_data][product_data][name]": None},
            "line_items[0][price_data][product_data][name]",
            "Missing required param",
        ),
        ({"line_items[0][quantity]": None}, "line_items[0][quantity]", "Missing required param"),
        ({"line_items[0][quantity]": "0"}, "line_items[0][quantity]", "at least 1"),
        ({"line_items[0][price]": "price_123"}, "line_items[0][price]", "Received unknown parameter"),
        ({"colour": "blue"}, "colour", "Received unknown parameter: colour"),
        (
            {"payment_intent_data[setup_future_usage]": "sometimes"},
            "payment_intent_data[setup_future_usage]",
            "Invalid",
        ),
        ({"customer_creation": "never"}, "customer_creation", "Invalid"),
        ({"customer": "cus_nobody"}, "customer", "No such customer: 'cus_nobody'"),
        ({"metadata[payment]": "x" * 501}, "metadata[payment]", "Invalid metadata[payment]"),
        ({"expires_at": str(int(time.time()) + 60)}, "expires_at", "between 30 minutes and 24 hours"),
    ],
)
def test_missing_or_invalid_params_are_refused_naming_the_param(
    sandbox: RunningSandbox, change: dict[str, str | None], param: str, message: str
) -> None:
    response = client(sandbox).post(f"{sandbox.url}{SESSIONS}", data=checkout_params(**change))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert message in error["message"]


def test_no_line_items_a_json_body_or_a_clashing_key_are_refused(sandbox: RunningSandbox) -> None:
    api = client(sandbox)
    no_items = {k: v for k, v in checkout_params().items() if not k.startswith("line_items")}
    answer = api.post(f"{sandbox.url}{SESSIONS}", data=no_items)
    assert (answer.status_code, answer.json()["error"]["param"]) == (400, "line_items")
    answer = api.post(f"{sandbox.url}{SESSIONS}", json={"mode": "payment"})
    assert answer.status_code == 400
    assert "application/x-www-form-urlencoded" in answer.json()["error"]["message"]
    answer = api.post(f"{sandbox.url}{SESSIONS}", data=[*checkout_params().items(), ("metadata", "flat")])
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request_error"


# --- The hosted page ---------------------------------------------------------------------------------------


class PageReader(HTMLParser):
    """The parts of a page the accessibility checks below look at."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag == "label" and found.get("for"):
            self.labels.add(str(found["for"]))

    def inputs(self) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.tags if tag == "input"]


def read_page(html: str) -> PageReader:
    reader = PageReader()
    reader.feed(html)
    return reader


def test_the_hosted_page_is_accessible_and_fetches_nothing(sandbox: RunningSandbox) -> None:
    session = create_checkout(sandbox)
    response = requests.get(session["url"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    html = response.text
    page = read_page(html)
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert "<title>" in html
    assert "Test payments: no real money moves" in html
    assert "Visit on 3 March, your share" in html
    assert "$150.00 USD" in html
    names = {attrs["name"] for attrs in page.inputs()}
    assert names == {"card_number", "expiry", "cvc", "name"}
    assert all(attrs["id"] in page.labels for attrs in page.inputs())
    assert "Expiry date (MM/YY)" in html
    assert [a for t, a in page.tags if t == "form"] == [
        {"method": "post", "action": f"/pay/{session['id']}", "novalidate": None}
    ]
    assert any(t == "button" for t, _ in page.tags)
    assert [a["href"] for t, a in page.tags if t == "a"] == [CANCEL]
    assert "Cancel and go back" in html
    for number in (GOOD, DECLINED, AUTHENTICATE, DECLINE_LATER):
        assert f"<td>{number}</td>" in html
    assert not [t for t, a in page.tags if t in ("script", "link", "img", "iframe") or "src" in a or "style" in a]
    assert "url(" not in html
    assert "@import" not in html


def test_an_unknown_page_is_404(sandbox: RunningSandbox) -> None:
    for method in ("GET", "POST"):
        response = requests.request(method, f"{sandbox.url}/pay/cs_test_nothing")
        assert response.status_code == 404
        assert "There is no payment here" in response.text


# --- Paying ------------------------------------------------------------------------------------------------


def test_paying_with_4242_completes_the_session_and_redirects_with_its_id(sandbox: RunningSandbox) -> None:
    session = create_checkout(sandbox)
    response = pay(session, GOOD)
    assert response.status_code == 303
    assert response.headers["Location"] == f"http://portal.test/billing/paid/?session={session['id']}"

    paid = get(sandbox, f"{SESSIONS}/{session['id']}")
    assert (paid["status"], paid["payment_status"], paid["customer"]) == ("complete", "paid", None)
    assert re.fullmatch(r"pi_[A-Za-z0-9]{24}", paid["payment_intent"])
    intent = get(sandbox, f"/v1/payment_intents/{paid['payment_intent']}")
    assert intent["object"] == "payment_intent"
    assert (intent["status"], intent["amount"], intent["amount_received"]) == ("succeeded", 15000, 15000)
    assert intent["metadata"] == {"payment": "payment-7"}
    assert intent["currency"] == "usd"
    assert intent["customer"] is None
    assert re.fullmatch(r"ch_[A-Za-z0-9]{24}", intent["latest_charge"])
    method = get(sandbox, f"/v1/payment_methods/{intent['payment_method']}")
    assert method["customer"] is None  # not saved: no setup_future_usage
    assert event_types(sandbox) == ["checkout.session.completed", "payment_intent.succeeded"]
    completed, succeeded = (item["event"] for item in events(sandbox))
    assert completed["data"]["object"] == paid
    assert succeeded["data"]["object"] == intent

    # The page now says so, and a second payment is refused without charging.
    again = requests.get(session["url"])
    assert again.status_code == 200
    assert "This payment is complete" in again.text
    assert f'href="http://portal.test/billing/paid/?session={session["id"]}"' in again.text
    refused = pay(session, GOOD)
    assert refused.status_code == 409
    assert "This payment is complete" in refused.text
    assert len(events(sandbox)) == 2


def test_a_saved_card_makes_a_customer_and_keeps_only_brand_last4_and_expiry(sandbox: RunningSandbox) -> None:
    session = create_checkout(sandbox, save_card=True)
    assert pay(session, GOOD, expiry="04 / 2031").status_code == 303
    paid = get(sandbox, f"{SESSIONS}/{session['id']}")
    assert re.fullmatch(r"cus_[A-Za-z0-9]{14}", paid["customer"])
    intent = get(sandbox, f"/v1/payment_intents/{paid['payment_intent']}")
    assert intent["customer"] == paid["customer"]
    assert intent["setup_future_usage"] == "off_session"
    method = get(sandbox, f"/v1/payment_methods/{intent['payment_method']}")
    assert re.fullmatch(r"pm_[A-Za-z0-9]{24}", method["id"])
    assert method["customer"] == paid["customer"]
    assert method["card"] == {"brand": "visa", "last4": "4242", "exp_month": 4, "exp_year": 2031}
    assert method["billing_details"] == {"name": "Alex Rivera"}
    listed = get(sandbox, f"/v1/customers/{paid['customer']}/payment_methods")
    assert [m["id"] for m in listed["data"]] == [method["id"]]
    assert get(sandbox, f"/v1/customers/{paid['customer']}")["name"] == "Alex Rivera"
    expanded = get(sandbox, f"{SESSIONS}/{session['id']}?expand[]=payment_intent&expand[]=customer")
    assert expanded["payment_intent"] == intent
    assert expanded["customer"]["id"] == paid["customer"]


def test_a_declined_card_pays_nothing_and_another_card_then_pays(sandbox: RunningSandbox) -> None:
    session = create_checkout(sandbox)
    declined = pay(session, DECLINED)
    assert declined.status_code == 402
    assert '<div class="alert" role="alert" id="error">Your card was declined. Try another card.</div>' in declined.text
    assert 'aria-invalid="true"' in declined.text
    assert get(sandbox, f"{SESSIONS}/{session['id']}")["status"] == "open"
    assert get(sandbox, f"{SESSIONS}/{session['id']}")["payment_status"] == "unpaid"
    assert events(sandbox) == []

    assert pay(session, GOOD).status_code == 303
    assert get(sandbox, f"{SESSIONS}/{session['id']}")["payment_status"] == "paid"


def test_the_bank_confirms_the_3155_card(sandbox: RunningSandbox) -> None:
    session = create_checkout(sandbox)
    asked = pay(session, AUTHENTICATE)
    assert asked.status_code == 200
    assert "Your bank asks you to confirm this payment" in asked.text
    buttons = [a for t, a in read_page(asked.text).tags if t == "button"]
    assert [(b["name"], b["value"]) for b in buttons] == [("outcome", "complete"), ("outcome", "fail")]
    assert f'action="/pay/{session["id"]}/authenticate"' in asked.text
    assert get(sandbox, f"{SESSIONS}/{session['id']}")["status"] == "open"
    assert events(sandbox) == []

    confirmed = authenticate(session, "complete")
    assert confirmed.status_code == 303
    assert confirmed.headers["Location"].endswith(session["id"])
    assert get(sandbox, f"{SESSIONS}/{session['id']}")["payment_status"] == "paid"
    assert event_types(sandbox) == ["checkout.session.completed", "payment_intent.succeeded"]


def test_the_bank_refuses_the_3155_card_and_the_form_comes_back(sandbox: RunningSandbox) -> None:
    session = create_checkout(sandbox)
    assert pay(session, AUTHENTICATE, name="Maria Lopez").status_code == 200
    refused = authenticate(session, "fail")
    assert refused.status_code == 402
    assert "Your bank did not confirm the payment. Try again or use another card." in refused.text
    assert 'name="card_number" value=""' in refused.text
    assert 'value="Maria Lopez"' in refused.text
    assert get(sandbox, f"{SESSIONS}/{session['id']}")["status"] == "open"
    # The waiting card is gone: answering the bank again without paying again does nothing.
    assert authenticate(session, "complete").status_code == 400
    assert events(sandbox) == []
    # A reload of the bank's page goes back to the form.
    reload = requests.get(f"{session['url']}/authenticate", allow_redirects=False)
    assert (reload.status_code, reload.headers["Location"]) == (303, f"/pay/{session['id']}")
    assert pay(session, GOOD).status_code == 303


@pytest.mark.parametrize(
    ("number", "expiry", "cvc", "status", "message"),
    [
        ("4242 4242 4242 4241", EXPIRY, "123", 400, "Your card number is incorrect."),
        ("4242", EXPIRY, "123", 400, "Your card number is incorrect."),
        ("", EXPIRY, "123", 400, "Your card number is incorrect."),
        ("4242 4242 4242 424x", EXPIRY, "123", 400, "Your card number is incorrect."),
        ("5555 5555 5555 4444", EXPIRY, "123", 402, "This is a test processor: use one of the test cards listed."),
        ("4000-0566-5566-5556", EXPIRY, "123", 402, "This is a test processor: use one of the test cards listed."),
        (GOOD, "01/20", "123", 400, "Your card's expiry date is incorrect."),
        (GOOD, "13/40", "123", 400, "Your card's expiry date is incorrect."),
        (GOOD, "1240", "123", 400, "Your card's expiry date is incorrect."),
        (GOOD, "", "123", 400, "Your card's expiry date is incorrect."),
        (GOOD, EXPIRY, "12", 400, "Your card's security code is incorrect."),
        (GOOD, EXPIRY, "12345", 400, "Your card's security code is incorrect."),
        (GOOD, EXPIRY, "abc", 400, "Your card's security code is incorrect."),
    ],
)
def test_bad_card_details_are_refused_and_nothing_is_paid(
    sandbox: RunningSandbox, number: str, expiry: str, cvc: str, status: int, message: str
) -> None:
    session = create_checkout(sandbox)
    response = pay(session, number, expiry, cvc)
    assert response.status_code == status
    assert f'role="alert" id="error">{escape(message)}</div>' in response.text
    assert get(sandbox, f"{SESSIONS}/{session['id']}")["status"] == "open"
    assert events(sandbox) == []


def test_the_dashes_and_spaces_of_a_card_number_are_ignored(sandbox: RunningSandbox) -> None:
    session = create_checkout(sandbox)
    assert pay(session, "4242-4242-4242-4242").status_code == 303
    session = create_checkout(sandbox)
    assert pay(session, " 4242424242424242 ").status_code == 303


def test_the_current_month_is_still_a_valid_expiry(sandbox: RunningSandbox) -> None:
    today = time.gmtime()
    session = create_checkout(sandbox)
    assert pay(session, GOOD, expiry=f"{today.tm_mon:02d}/{today.tm_year % 100:02d}").status_code == 303


def scrub(text: str) -> str:
    """Without the random ids and the timestamps, where four digits may turn up by chance."""
    return re.sub(r"[0-9]{6,}(\.[0-9]+)?", "", re.sub(r"\b(cs_test|pi|cus|pm|ch|re|evt|req)_[A-Za-z0-9]+", "", text))


def test_card_details_are_never_echoed_kept_or_logged(capfd: pytest.CaptureFixture[str]) -> None:
    """Every answer, every event, the processor's whole state and the request log, searched for the details."""
    typed = [
        ("4000 0566 5566 5556", "11/39", "9876"),  # Luhn-valid, not a test card
        ("4000 0566 5566 5557", "11/38", "8765"),  # fails Luhn
        (DECLINED, "11/37", "7654"),
        (AUTHENTICATE, "11/36", "6543"),  # asks the bank, which refuses
        (GOOD, "11/35", "5432"),  # pays
        (DECLINE_LATER, "11/34", "4321"),  # pays, saved
    ]
    with start(api_key=API_KEY, webhook_secret=SECRET, quiet=False) as sandbox:
        bodies: list[str] = []
        for number, expiry, cvc in typed:
            session = create_checkout(sandbox, save_card=True)
            bodies.append(pay(session, number, expiry, cvc).text)
            if number == AUTHENTICATE:
                bodies.append(authenticate(session, "fail").text)
            bodies.append(requests.get(session["url"]).text)
            bodies.append(json.dumps(get(sandbox, f"{SESSIONS}/{session['id']}")))
        for item in events(sandbox):
            bodies.append(json.dumps(item))
            intent = item["event"]["data"]["object"]
            if intent["object"] == "payment_intent":
                bodies.append(json.dumps(get(sandbox, f"/v1/payment_methods/{intent['payment_method']}")))
        state = repr(vars(sandbox.processor)) + repr(vars(sandbox.processor.outbox))
    log = capfd.readouterr().err
    assert "POST /pay/" in log  # the log was on
    pages = "\n".join(bodies)
    assert pages.count('"type": "payment_intent.succeeded"') == 2  # the events were searched too
    for number, expiry, cvc in typed:
        for text in (pages, state, log):
            assert number.replace(" ", "") not in text
            assert expiry not in text
            assert cvc not in scrub(text)
            assert f'value="{number}"' not in text
        assert number not in state
        assert number not in log
        if number.startswith("4000 0566"):  # not one of the listed test cards: on no page at all
            assert number not in pages
    assert 'value="Alex Rivera"' in pages  # the name is given back


# --- Expiry ------------------------------------------------------------------------------------------------


def test_an_expired_session_takes_no_payment(sandbox: RunningSandbox) -> None:
    session = create_checkout(sandbox)
    api = client(sandbox)
    expired = api.post(f"{sandbox.url}{SESSIONS}/{session['id']}/expire")
    assert expired.status_code == 200
    assert (expired.json()["status"], expired.json()["payment_status"]) == ("expired", "unpaid")
    assert get(sandbox, f"{SESSIONS}/{session['id']}")["status"] == "expired"
    page = requests.get(session["url"])
    assert "This payment page has expired" in page.text
    assert f'href="{CANCEL}"' in page.text
    refused = pay(session, GOOD)
    assert refused.status_code == 409
    assert "expired" in refused.text
    again = api.post(f"{sandbox.url}{SESSIONS}/{session['id']}/expire")
    assert again.status_code == 400
    assert api.post(f"{sandbox.url}{SESSIONS}/cs_test_nothing/expire").status_code == 404
    assert event_types(sandbox) == ["checkout.session.expired"]
    paid = create_checkout(sandbox)
    assert pay(paid, GOOD).status_code == 303
    assert api.post(f"{sandbox.url}{SESSIONS}/{paid['id']}/expire").status_code == 400


def test_a_session_past_its_expires_at_is_expired(sandbox: RunningSandbox) -> None:
    session = create_checkout(sandbox, expires_at=str(int(time.time()) + 1800))
    assert session["expires_at"] == session["created"] + 1800
    sandbox.processor.sessions[session["id"]]["expires_at"] = int(time.time()) - 1  # as if half an hour went by
    assert get(sandbox, f"{SESSIONS}/{session['id']}")["status"] == "expired"
    assert pay(session, GOOD).status_code == 409
