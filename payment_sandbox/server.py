"""The HTTP side: Stripe's API (a subset), the hosted payment page, test controls, and running it all in a thread.

URL layout:

    /v1/checkout/sessions                      POST create;  /v1/checkout/sessions/{id}  GET
    /v1/checkout/sessions/{id}/expire          POST
    /v1/payment_intents                        POST (charge a saved card off-session); /{id} GET
    /v1/refunds                                POST; /v1/refunds/{id} GET
    /v1/customers/{id}, /v1/customers/{id}/payment_methods, /v1/payment_methods/{id}, /v1/charges/{id},
    /v1/events/{id}                            GET;  /v1/payment_methods/{id}/detach  POST
    /pay/{session id}                          the hosted page: GET the form, POST the card
    /pay/{session id}/authenticate             POST outcome=complete|fail (the bank's check)
    /_sandbox/events                           GET every event with its delivery (loopback only)
    /_sandbox/events/{id}/resend               POST: deliver that event again, same id
    /_sandbox/reset                            POST: forget everything
    /                                          JSON: a readiness probe

Everything under /v1 needs `Authorization: Bearer <api key>`; POSTs there take form-encoded bodies in
Stripe's bracket notation and honour `Idempotency-Key`.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from payment_sandbox import pages
from payment_sandbox.encoding import decode
from payment_sandbox.processor import API_VERSION, ApiError, PageResult, Processor, encode
from payment_sandbox.webhooks import Outbox

HTML = "text/html; charset=utf-8"
JSON = "application/json"
MAX_BODY = 1024 * 1024
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
READS = {"customers", "payment_methods", "charges", "refunds"}


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    quiet = True
    api_key: str
    webhook_url: str | None
    processor: Processor


class Handler(BaseHTTPRequestHandler):
    """One request: the API (/v1), the hosted page (/pay), or the test controls (/_sandbox)."""

    server: SandboxServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do; every answer carries Content-Length
    server_version = "payment_sandbox/1.0"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm holds the second until
        # the client's delayed ACK (about 40 ms on every small answer of a kept-alive connection).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)

    def dispatch(self, method: str) -> None:
        try:
            self.route(method)
        except Exception as error:  # noqa: BLE001 (a development server answers 500 and says why, rather than hanging up)
            # The frames and the kind of error, never its message: it might quote a form field (a card number).
            sys.stderr.write("".join(traceback.format_tb(error.__traceback__)) + type(error).__name__ + "\n")
            self.send(500, {"error": {"type": "api_error", "message": f"payment_sandbox: {type(error).__name__}"}})

    def route(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self.send(413, {"error": {"type": "invalid_request_error", "message": "The request body is too large."}})
            return
        self.body = self.rfile.read(length) if length else b""
        self.query = url.query
        if not parts:
            self.send(200, {"payment_sandbox": True, "api_base": self.base(), "webhook_url": self.server.webhook_url})
        elif parts[0] == "v1":
            self.api(method, parts[1:], url.path)
        elif parts[0] == "pay" and len(parts) in (2, 3):
            self.hosted(method, parts[1], parts[2:])
        elif parts[0] == "_sandbox":
            self.sandbox(method, parts[1:])
        else:
            self.send(404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized URL: {url.path}"}})

    # --- Helpers ---------------------------------------------------------------------------------

    def base(self) -> str:
        """This sandbox's absolute URL as the client reached it (from the Host header)."""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}"

    def send(self, status: int, payload: Any, kind: str = JSON, headers: dict[str, str] | None = None) -> None:
        """Answer; payload is JSON unless bytes or str."""
        text = payload if isinstance(payload, bytes | str) else encode(payload)
        body = text.encode() if isinstance(text, str) else text
        self.send_response(status)
        for name, value in {"Content-Type": kind, "Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)

    def form_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)

    # --- The API ---------------------------------------------------------------------------------

    def api(self, method: str, parts: list[str], path: str) -> None:
        headers = {"Stripe-Version": API_VERSION, "Cache-Control": "no-cache, no-store"}
        api_key = self.api_key()
        if api_key is None:
            return
        key = self.headers.get("Idempotency-Key")
        try:
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if method == "POST" and self.body and kind != "application/x-www-form-urlencoded":
                message = "Send request bodies as application/x-www-form-urlencoded (Stripe's bracket notation)."
                raise ApiError(400, message)
            try:
                pairs = self.form_pairs() if method == "POST" else parse_qsl(self.query, keep_blank_values=True)
                params = decode(pairs)
            except (UnicodeDecodeError, ValueError) as error:
                raise ApiError(400, str(error) if isinstance(error, ValueError) else "Send UTF-8.") from None
            handler = self.api_handler(method, parts, params, path)
        except ApiError as error:
            self.send(error.status, error.body(), headers=headers)
            return
        processor = self.server.processor
        if method != "POST":
            try:
                with processor.lock:
                    status, body = 200, encode(handler())
            except ApiError as error:
                status, body = error.status, encode(error.body())
            self.send(status, body, headers=headers)
            return
        fingerprint = json.dumps([method, path, sorted(pairs)])
        status, body, replayed = processor.idempotent(api_key, key, fingerprint, handler)
        if key is not None:
            headers["Idempotency-Key"] = key
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        self.send(status, body, headers=headers)

    def api_key(self) -> str | None:
        """The caller's API key, or None once a 401 has been sent."""
        scheme, _, given = (self.headers.get("Authorization") or "").partition(" ")
        given = given.strip()
        if scheme.lower() == "bearer" and given and hmac.compare_digest(given.encode(), self.server.api_key.encode()):
            return given
        if scheme.lower() == "bearer" and given:
            message = f"Invalid API Key provided: {given[:8]}{'*' * 4}{given[-4:]}"
        else:
            message = (
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
            )
        body = {"error": {"type": "invalid_request_error", "message": message}}
        self.send(401, body, headers={"WWW-Authenticate": 'Bearer realm="payment_sandbox"'})
        return None

    def api_handler(self, method: str, parts: list[str], params: dict[str, Any], path: str) -> Any:
        """The call that answers this request (run later, under the processor's lock), or ApiError (404)."""
        processor = self.server.processor
        route = (method, *parts)
        match route:
            case ("POST", "checkout", "sessions"):
                base = self.base()
                return lambda: processor.create_session(params, base)
            case ("GET", "checkout", "sessions", session_id):
                return lambda: processor.session(session_id, params)
            case ("POST", "checkout", "sessions", session_id, "expire"):
                return lambda: processor.expire_session(session_id)
            case ("POST", "payment_intents"):
                return lambda: processor.create_payment_intent(params)
            case ("GET", "payment_intents", intent_id):
                return lambda: processor.payment_intent(intent_id, params)
            case ("POST", "refunds"):
                return lambda: processor.create_refund(params)
            case ("GET", "customers", customer_id, "payment_methods"):
                return lambda: processor.customer_methods(customer_id)
            case ("POST", "payment_methods", method_id, "detach"):
                return lambda: processor.detach(method_id)
            case ("GET", "events", event_id):
                return lambda: self.event(event_id)
            case ("GET", kind, object_id) if kind in READS:
                return lambda: processor.read(kind, object_id)
        message = f"Unrecognized request URL ({method}: {path}). payment_sandbox serves a small part of Stripe's API."
        raise ApiError(404, message)

    def event(self, event_id: str) -> dict[str, Any]:
        found = self.server.processor.outbox.get(event_id)
        if found is None:
            raise ApiError(404, f"No such event: '{event_id}'", param="id", code="resource_missing")
        return found

    # --- The hosted page -------------------------------------------------------------------------

    def hosted(self, method: str, session_id: str, rest: list[str]) -> None:
        processor = self.server.processor
        if rest not in ([], ["authenticate"]) or method not in ("GET", "POST"):
            self.page(PageResult("missing", 404))
            return
        if method == "GET":
            # The bank's page is only ever reached by a POST; a GET (a reload) goes back to the form.
            result = processor.page(session_id)
            if rest and result.kind == "form":
                self.send(303, b"", "text/plain", {"Location": f"/pay/{session_id}"})
                return
            self.page(result)
            return
        try:
            form = dict(self.form_pairs())
        except UnicodeDecodeError:
            form = {}
        if rest:
            result = processor.authenticate(session_id, form.get("outcome", ""))
        else:
            result = processor.pay(session_id, form)
        del form  # the card's details go no further than this request
        self.page(result)

    def page(self, result: PageResult) -> None:
        session = result.session or {}
        if result.kind == "paid":
            self.send(303, b"", "text/plain", {"Location": result.redirect or "/", "Cache-Control": "no-store"})
            return
        html = {
            "form": lambda: pages.checkout(session, result.message, result.field, result.name),
            "authenticate": lambda: pages.authenticate(session),
            "complete": lambda: pages.complete(session),
            "expired": lambda: pages.expired(session),
        }.get(result.kind, pages.missing)()
        self.send(result.status, html, HTML, PAGE_HEADERS)

    # --- Test controls ---------------------------------------------------------------------------

    def sandbox(self, method: str, parts: list[str]) -> None:
        """Controls for tests and demos: loopback callers only, no API key."""
        if not ipaddress.ip_address(self.client_address[0]).is_loopback:
            self.send(403, {"error": "the _sandbox controls answer loopback callers only"})
            return
        processor = self.server.processor
        match (method, *parts):
            case ("GET", "events"):
                self.send(200, processor.outbox.listing())
            case ("POST", "events", event_id, "resend"):
                problem = processor.outbox.resend(event_id)
                if problem is None:
                    self.send(202, {"resent": event_id})
                else:
                    self.send(404 if problem.startswith("no event") else 409, {"error": problem})
            case ("POST", "reset"):
                processor.reset()
                self.send(200, {"reset": True})
            case _:
                self.send(404, {"error": "try GET events, POST events/{id}/resend or POST reset"})


class RunningSandbox:
    """A sandbox serving in a background thread: `.url`, `.api_key`, `.webhook_url`, `.webhook_secret`, `.events()`,
    `.reset()`, `.stop()`."""

    def __init__(self, server: SandboxServer, thread: threading.Thread, webhook_secret: str) -> None:
        self.server, self.thread = server, thread
        host, port = server.socket.getsockname()[:2]
        self.url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"  # noqa: S104 (a comparison)
        self.api_key, self.webhook_url, self.webhook_secret = server.api_key, server.webhook_url, webhook_secret

    @property
    def processor(self) -> Processor:
        return self.server.processor

    def events(self) -> list[dict[str, Any]]:
        """Every event so far, in order: `{"event": {...}, "delivery": {"status", "attempts", ...}}`."""
        return self.server.processor.outbox.listing()

    def reset(self) -> None:
        self.server.processor.reset()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.server.processor.outbox.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str = "sk_test_sandbox",
    webhook_url: str | None = None,
    webhook_secret: str = "whsec_test",  # noqa: S107 (a test secret, public by design)
    quiet: bool = True,
) -> RunningSandbox:
    """Serve in a daemon thread; the socket is listening when this returns."""
    if not api_key:
        raise ValueError("an API key is needed (any non-empty string)")
    if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
        raise ValueError(f"the webhook URL must start with http:// or https://, not {webhook_url!r}")
    server = SandboxServer((host, port), Handler)
    server.api_key, server.webhook_url, server.quiet = api_key, webhook_url, quiet
    server.processor = Processor(Outbox(webhook_url, webhook_secret))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="payment_sandbox", daemon=True
    )
    thread.start()
    return RunningSandbox(server, thread, webhook_secret)
