"""payment_sandbox: webhooks signed as Stripe signs them, in order, retried, resent; the test controls; the process.

A tiny HTTP server in the test (tests/payment_sandbox/support.py, Receiver) plays the portal's webhook
endpoint and records what arrives. No database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from payment_sandbox.server import RunningSandbox, start
from payment_sandbox.webhooks import signature
from tests.payment_sandbox.support import (
    API_KEY,
    DECLINE_LATER,
    GOOD,
    SECRET,
    Receiver,
    charge,
    client,
    create_checkout,
    events,
    get,
    pay,
    saved_card,
    verify,
)

REPO = Path(__file__).resolve().parents[2]


def wait_until_delivered(sandbox: RunningSandbox, count: int, timeout: float = 10.0) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = events(sandbox)
        if len(found) >= count and all(item["delivery"]["status"] == "delivered" for item in found):
            return found
        time.sleep(0.02)
    raise AssertionError(events(sandbox))


def test_events_are_signed_as_stripe_signs_and_arrive_in_order(hooked: RunningSandbox, receiver: Receiver) -> None:
    session = create_checkout(hooked)
    assert pay(session, GOOD).status_code == 303
    first, second = receiver.wait_for(2)
    paid = get(hooked, f"/v1/checkout/sessions/{session['id']}")
    intent = get(hooked, f"/v1/payment_intents/{paid['payment_intent']}")
    for delivery in (first, second):
        assert delivery.path == "/billing/webhooks/payments/"
        assert delivery.headers["content-type"] == "application/json; charset=utf-8"
        header = delivery.headers["stripe-signature"]
        assert re.fullmatch(r"t=[0-9]+,v1=[0-9a-f]{64}", header)
        assert verify(SECRET, header, delivery.body)
        assert not verify("whsec_other", header, delivery.body)
        assert not verify(SECRET, header, delivery.body + b" ")
        event = delivery.event
        assert re.fullmatch(r"evt_[A-Za-z0-9]{24}", event["id"])
        assert {k: event[k] for k in ("object", "api_version", "livemode")} == {
            "object": "event",
            "api_version": "2024-06-20",
            "livemode": False,
        }
        assert abs(event["created"] - time.time()) < 60
    assert (first.event["type"], first.event["data"]["object"]) == ("checkout.session.completed", paid)
    assert (second.event["type"], second.event["data"]["object"]) == ("payment_intent.succeeded", intent)
    assert first.event["data"]["object"]["metadata"] == {"payment": "payment-7"}
    assert second.event["data"]["object"]["metadata"] == {"payment": "payment-7"}
    delivered = wait_until_delivered(hooked, 2)
    assert [item["event"]["id"] for item in delivered] == [first.event["id"], second.event["id"]]
    assert delivered[0]["delivery"] | {"last_error": None} == {
        "status": "delivered",
        "attempts": 1,
        "deliveries": 1,
        "last_response_status": 200,
        "last_error": None,
    }
    # The API can read an event back, as handlers that re-fetch events do.
    assert get(hooked, f"/v1/events/{first.event['id']}") == first.event


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # Stripe's documented scheme, worked by hand: HMAC-SHA256(secret, "1700000000." + body), hex.
    mac = hmac.new(b"whsec_test", b'1700000000.{"id": "evt_1"}', hashlib.sha256).hexdigest()
    assert signature("whsec_test", 1700000000, b'{"id": "evt_1"}') == f"t=1700000000,v1={mac}"


def test_events_of_off_session_charges_and_refunds_follow_in_order(hooked: RunningSandbox, receiver: Receiver) -> None:
    good_customer, good_method = saved_card(hooked, GOOD)
    bad_customer, bad_method = saved_card(hooked, DECLINE_LATER)
    paid = charge(hooked, good_customer, good_method).json()
    assert charge(hooked, bad_customer, bad_method).status_code == 402
    assert client(hooked).post(f"{hooked.url}/v1/refunds", data={"payment_intent": paid["id"]}).status_code == 200
    received = receiver.wait_for(7)
    assert [d.event["type"] for d in received] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "checkout.session.completed",
        "payment_intent.succeeded",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
    ]
    assert all(verify(SECRET, d.headers["stripe-signature"], d.body) for d in received)
    assert received[4].event["data"]["object"]["id"] == paid["id"]
    assert received[5].event["data"]["object"]["last_payment_error"]["code"] == "card_declined"
    assert received[6].event["data"]["object"]["amount_refunded"] == 5000


def test_a_receiver_that_fails_is_tried_again_and_later_events_wait(hooked: RunningSandbox, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]  # the first two tries fail
    session = create_checkout(hooked)
    assert pay(session, GOOD).status_code == 303
    received = receiver.wait_for(4)
    assert [d.event["type"] for d in received] == [
        "checkout.session.completed",
        "checkout.session.completed",
        "checkout.session.completed",
        "payment_intent.succeeded",
    ]
    assert len({d.body for d in received[:3]}) == 1  # the same event, the same body, each try
    assert all(verify(SECRET, d.headers["stripe-signature"], d.body) for d in received)
    first, second = wait_until_delivered(hooked, 2)
    assert (first["delivery"]["attempts"], first["delivery"]["deliveries"]) == (3, 1)
    assert second["delivery"]["attempts"] == 1


def test_a_receiver_that_never_answers_2xx_is_given_up_on(receiver: Receiver) -> None:
    receiver.statuses = [500] * 20
    with start(api_key=API_KEY, webhook_url=receiver.url, webhook_secret=SECRET) as sandbox:
        sandbox.processor.outbox.delays = (0.01, 0.01)
        session = create_checkout(sandbox)
        assert pay(session, GOOD).status_code == 303
        receiver.wait_for(6)
        deadline = time.monotonic() + 5
        while any(item["delivery"]["status"] == "pending" for item in events(sandbox)):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        for item in events(sandbox):
            delivery = item["delivery"]
            assert (delivery["status"], delivery["attempts"], delivery["last_response_status"]) == ("failed", 3, 500)
            assert delivery["last_error"] == "the receiver answered 500"


def test_an_unreachable_receiver_is_a_failed_delivery() -> None:
    with start(api_key=API_KEY, webhook_url="http://127.0.0.1:9/hooks/", webhook_secret=SECRET) as sandbox:
        sandbox.processor.outbox.delays = ()
        assert pay(create_checkout(sandbox), GOOD).status_code == 303
        deadline = time.monotonic() + 5
        while any(item["delivery"]["status"] == "pending" for item in events(sandbox)):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert all(item["delivery"]["status"] == "failed" for item in events(sandbox))
        assert "ConnectionRefusedError" in events(sandbox)[0]["delivery"]["last_error"]


def test_webhooks_never_hold_up_the_request_that_caused_them(hooked: RunningSandbox, receiver: Receiver) -> None:
    receiver.delay = 0.6
    session = create_checkout(hooked)
    began = time.monotonic()
    assert pay(session, GOOD).status_code == 303
    assert time.monotonic() - began < 0.4
    assert receiver.wait_for(2)


def test_an_event_is_resent_with_the_same_id_through_the_control_endpoint(
    hooked: RunningSandbox, receiver: Receiver
) -> None:
    assert pay(create_checkout(hooked), GOOD).status_code == 303
    first, _ = receiver.wait_for(2)
    response = requests.post(f"{hooked.url}/_sandbox/events/{first.event['id']}/resend")
    assert response.status_code == 202
    replayed = receiver.wait_for(3)[2]
    assert replayed.event["id"] == first.event["id"]
    assert replayed.body == first.body
    assert verify(SECRET, replayed.headers["stripe-signature"], replayed.body)
    assert wait_until_delivered(hooked, 2)[0]["delivery"]["deliveries"] == 2
    assert requests.post(f"{hooked.url}/_sandbox/events/evt_nothing/resend").status_code == 404


def test_without_a_webhook_url_events_are_only_kept(sandbox: RunningSandbox) -> None:
    assert pay(create_checkout(sandbox), GOOD).status_code == 303
    kept = events(sandbox)
    assert [item["event"]["type"] for item in kept] == ["checkout.session.completed", "payment_intent.succeeded"]
    assert all(item["delivery"]["status"] == "not_sent" for item in kept)
    assert kept == sandbox.events()
    resend = requests.post(f"{sandbox.url}/_sandbox/events/{kept[0]['event']['id']}/resend")
    assert resend.status_code == 409
    assert "no webhook URL" in resend.json()["error"]


def test_the_controls_need_no_key_and_reset_forgets_everything(sandbox: RunningSandbox) -> None:
    session = create_checkout(sandbox)
    assert pay(session, GOOD).status_code == 303
    assert len(events(sandbox)) == 2
    assert requests.post(f"{sandbox.url}/_sandbox/reset").json() == {"reset": True}
    assert events(sandbox) == []
    assert client(sandbox).get(f"{sandbox.url}/v1/checkout/sessions/{session['id']}").status_code == 404
    assert requests.get(session["url"]).status_code == 404
    assert requests.get(f"{sandbox.url}/_sandbox/nothing").status_code == 404
    probe = requests.get(f"{sandbox.url}/")
    assert probe.json() == {"payment_sandbox": True, "api_base": sandbox.url, "webhook_url": None}


def test_the_process_serves_until_sigterm() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "payment_sandbox",
            "--port",
            "0",
            "--api-key",
            "sk_test_process",
            "--webhook-url",
            "http://127.0.0.1:9/billing/webhooks/payments/",
            "--webhook-secret",
            "whsec_process",
            "--quiet",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("payment_sandbox listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert requests.get(f"{url}/").json()["webhook_url"] == "http://127.0.0.1:9/billing/webhooks/payments/"
        headers = {"Authorization": "Bearer sk_test_process"}
        assert requests.get(f"{url}/v1/checkout/sessions/cs_test_x", headers=headers).status_code == 404
        assert requests.get(f"{url}/v1/checkout/sessions/cs_test_x").status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_the_process_refuses_a_bad_webhook_url() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "payment_sandbox", "--port", "0", "--webhook-url", "ftp://nowhere"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "cannot start" in result.stderr
