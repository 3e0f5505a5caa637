"""Events and their delivery: signed exactly as Stripe signs, POSTed in order from one background thread.

Each event's body is serialized once, when it happens, and that same body is sent on every try and
every resend; only the signature's timestamp changes. A receiver that does not answer 2xx (or cannot
be reached) is tried again after each of RETRY_DELAYS; later events wait their turn, so a receiver
sees them in the order they happened. Redirects count as failures, as they do for Stripe.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import queue
import threading
import time
from typing import Any
from urllib.parse import urlsplit

RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # seconds before the 2nd, 3rd, ... try: five tries in under 4 s
TIMEOUT = 10.0  # seconds for one try
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Stripe-Signature` header: HMAC-SHA256 of `"<t>.<body>"`, keyed with the whole secret (whsec_ included)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def post(url: str, secret: str, body: bytes) -> tuple[int | None, str | None]:
    """One try: (HTTP status, None), or (None, why it could not be sent)."""
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "127.0.0.1", parts.port, timeout=TIMEOUT)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": signature(secret, int(time.time()), body),
        "User-Agent": USER_AGENT,
        "Cache-Control": "no-cache",
    }
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", target, body, headers)
        response = connection.getresponse()
        response.read(64 * 1024)
        return response.status, None
    except (OSError, http.client.HTTPException) as error:
        return None, f"{type(error).__name__}: {error}"
    finally:
        connection.close()


class Outbox:
    """Every event that happened, in order, with how its delivery went; a thread delivers them when a URL is set."""

    def __init__(self, url: str | None, secret: str, delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        self.url, self.secret, self.delays = url, secret, delays
        self.lock = threading.Lock()
        self.records: dict[str, dict[str, Any]] = {}  # event id -> {"event", "body", "delivery"}, in order
        self.generation = 0  # bumped by reset(): deliveries queued before it are dropped
        self.queue: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="payment_sandbox-webhooks", daemon=True)
        self.thread.start()

    def publish(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, indent=2).encode()
        with self.lock:
            delivery: dict[str, Any] = {"status": "pending" if self.url else "not_sent", "attempts": 0, "deliveries": 0}
            delivery |= {"last_response_status": None, "last_error": None if self.url else "no webhook URL set"}
            self.records[event["id"]] = {"event": event, "body": body, "delivery": delivery}
            if self.url:
                self.queue.put((self.generation, event["id"]))

    def resend(self, event_id: str) -> str | None:
        """Queue the same event again (same id, same body); None, or why not."""
        with self.lock:
            record = self.records.get(event_id)
            if record is None:
                return f"no event {event_id}"
            if not self.url:
                return "no webhook URL set: start the sandbox with one"
            record["delivery"]["status"] = "pending"
            self.queue.put((self.generation, event_id))
        return None

    def get(self, event_id: str) -> dict[str, Any] | None:
        with self.lock:
            record = self.records.get(event_id)
            return json.loads(record["body"]) if record else None

    def listing(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{"event": json.loads(r["body"]), "delivery": dict(r["delivery"])} for r in self.records.values()]

    def reset(self) -> None:
        with self.lock:
            self.generation += 1
            self.records.clear()

    def close(self) -> None:
        self.stopping.set()
        self.queue.put(None)
        self.thread.join(timeout=5)

    # --- The delivery thread ----------------------------------------------------------------------

    def run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None or self.stopping.is_set():
                return
            generation, event_id = item
            with self.lock:
                record = self.records.get(event_id) if generation == self.generation else None
                body = record["body"] if record else None
            if body is not None and self.url:
                self.deliver(generation, event_id, self.url, body)

    def deliver(self, generation: int, event_id: str, url: str, body: bytes) -> None:
        for delay in (0.0, *self.delays):
            if delay and self.stopping.wait(delay):
                return
            status, error = post(url, self.secret, body)
            delivered = status is not None and 200 <= status < 300
            with self.lock:
                record = self.records.get(event_id) if generation == self.generation else None
                if record is None:
                    return
                delivery = record["delivery"]
                delivery["attempts"] += 1
                delivery["last_response_status"], delivery["last_error"] = status, error
                if delivered:
                    delivery["status"] = "delivered"
                    delivery["deliveries"] += 1
                    return
                if status is not None:
                    delivery["last_error"] = f"the receiver answered {status}"
        with self.lock:
            record = self.records.get(event_id) if generation == self.generation else None
            if record is not None:
                record["delivery"]["status"] = "failed"
