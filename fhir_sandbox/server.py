"""The HTTP side: routing requests to systems, injecting faults, and running the server in a thread.

URL layout, per system (PREFIX from the config):

    /PREFIX/fhir                              FHIR base (paging cursors: ?_getpages=...)
    /PREFIX/fhir/metadata                     CapabilityStatement
    /PREFIX/fhir/.well-known/smart-configuration
    /PREFIX/fhir/{type}, /{type}/{id}, /Patient/{id}/$everything
    /PREFIX/auth/authorize, /PREFIX/auth/token, /PREFIX/auth/revoke, /PREFIX/auth/jwks
    /PREFIX/_sandbox/{switches,touch,resources,token,stats}   test controls
    /                                         JSON list of the systems (a readiness probe)
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

from fhir_sandbox import data, documents
from fhir_sandbox.system import FhirError, OAuthError, System

FHIR_JSON = "application/fhir+json"
HTML = "text/html; charset=utf-8"
MAX_BODY = 64 * 1024 * 1024
DISCOVERY = ("metadata", ".well-known/smart-configuration")
REFUSALS = {
    "status_5xx_every": (503, "transient", "simulated outage"),
    "status_429_every": (429, "throttled", "slow down"),
}
SANDBOX_ACTIONS = ("switches", "touch", "resources", "token", "stats")
OAUTH_ERRORS_URI = "https://www.rfc-editor.org/rfc/rfc6749#section-5.2"  # the error_uri of every OAuth error answer


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    quiet = True
    systems: dict[str, System]


class Handler(BaseHTTPRequestHandler):
    """One request: find the system, then the area (fhir, auth, _sandbox) and answer."""

    server: SandboxServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do; every answer carries Content-Length
    server_version = "fhir_sandbox/1.0"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm holds the second
        # until the client's delayed ACK (about 40 ms on every small answer of a kept-alive connection).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)

    def dispatch(self, method: str) -> None:
        try:
            self.route(method)
        except Exception:  # noqa: BLE001 (a development server answers 500 and says why, rather than hanging up)
            sys.stderr.write(traceback.format_exc())
            self.send(500, documents.outcome("fatal", "exception", traceback.format_exc(limit=1)), FHIR_JSON)

    def route(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(min(length, MAX_BODY)) if length else b""
        system = self.server.systems.get(parts[0]) if parts else None
        area, rest = (parts[1], parts[2:]) if len(parts) > 1 else ("", [])
        if not parts:
            self.send(200, {"fhir_sandbox": True, "systems": [self.describe(s) for s in self.server.systems.values()]})
        elif system is not None and area == "fhir":
            self.fhir(system, method, rest, query)
        elif system is not None and area == "auth" and rest == ["authorize"] and method in ("GET", "POST"):
            self.authorize(system, method, query)
        elif system is not None and area == "auth" and rest == ["token"] and method == "POST":
            self.token(system)
        elif system is not None and area == "auth" and rest == ["revoke"] and method == "POST":
            self.token(system, "revoke")
        elif system is not None and area == "auth" and rest == ["jwks"] and method == "GET":
            system.count("jwks")
            self.send(200, system.jwks(), "application/jwk-set+json")
        elif system is not None and area == "_sandbox" and len(rest) == 1:
            self.sandbox(system, method, rest[0])
        else:
            self.send(404, {"error": "not found", "systems": sorted(self.server.systems)})

    # --- Helpers ---------------------------------------------------------------

    def root(self, system: System) -> str:
        """This system's absolute URL as the client reached it (from the Host header)."""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}/{system.prefix}"

    def describe(self, system: System) -> dict[str, str]:
        root = self.root(system)
        endpoints = {"fhir_base": f"{root}/fhir", "authorize": f"{root}/auth/authorize", "token": f"{root}/auth/token"}
        return {"prefix": system.prefix, "name": system.name, **endpoints}

    def send(
        self, status: int, payload: Any, kind: str = "application/json", headers: Any = None, truncate: bool = False
    ) -> None:
        """Answer; payload is JSON unless bytes or str. `truncate`: half the body under the full length, then close."""
        text = payload if isinstance(payload, bytes | str) else json.dumps(payload)
        body = text.encode() if isinstance(text, str) else text
        self.send_response(status)
        for name, value in {"Content-Type": kind, "Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body[: len(body) // 2] if truncate else body)
        if truncate:
            self.hang_up()

    def hang_up(self) -> None:
        """Close the socket now, mid-conversation, the way a crashed proxy or server would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True).items()}

    # --- FHIR ------------------------------------------------------------------

    def fhir(self, system: System, method: str, rest: list[str], query: dict[str, list[str]]) -> None:
        """Latency delays every FHIR answer; the other faults act only on data requests (everything but discovery)."""
        root, path = self.root(system), "/".join(rest)
        self.searched_kind = ""  # set by a search or page answer, for the hostile switches (one handler, many requests)
        time.sleep(system.latency())
        if path in DISCOVERY and method == "GET":
            system.count(path.rsplit("/", 1)[-1])
            if path == "metadata":
                self.send(200, documents.capability(system, root), FHIR_JSON)
                return
            self.send(200, documents.smart_configuration(root, system))
            return
        route = self.fhir_route(rest, query)
        system.count(route)
        fault = system.next_fault()
        if fault == "drop_connection_every":
            self.hang_up()
            return
        if fault in REFUSALS:
            status, code, text = REFUSALS[fault]
            retry = {"Retry-After": str(system.switches.get("retry_after_seconds", 1))} if status == 429 else {}
            self.send(status, documents.outcome("error", code, f"fhir_sandbox: {text}"), FHIR_JSON, retry)
            return
        headers: dict[str, str] = {}
        try:
            if method != "GET":
                raise FhirError(405, "not-supported", "FHIR here is read-only; use /_sandbox/resources to add data")
            grant = system.grant_for(self.headers.get("Authorization"))
            status, payload = 200, self.fhir_answer(system, route, rest, query, grant)
        except FhirError as error:
            status, headers = error.status, error.headers
            payload = documents.outcome("error", error.code, error.message)
        if status == 200 and isinstance(payload, bytes) and self.hostile_body(system, payload, grant):
            return
        self.send(status, payload, FHIR_JSON, headers, truncate=fault == "truncate_body_every")

    @staticmethod
    def fhir_route(rest: list[str], query: dict[str, list[str]]) -> str:
        if not rest:
            return "page" if "_getpages" in query else "base"
        if len(rest) == 1:
            return "search"
        if len(rest) == 2:
            return "read"
        return "everything" if len(rest) == 3 and rest[0] == "Patient" and rest[2] == "$everything" else "unknown"

    def fhir_answer(
        self, system: System, route: str, rest: list[str], query: dict[str, list[str]], grant: Any
    ) -> dict[str, Any] | bytes:
        base = f"{self.root(system)}/fhir"
        if route == "read":
            return system.read(rest[0], rest[1], grant)
        if route == "page":
            cursor = query["_getpages"][-1]
            offset, count = query.get("_getpagesoffset", ["0"])[-1], system.count_param(query)
            if not offset.isdigit():
                raise FhirError(400, "invalid", "_getpagesoffset must be a whole number")
            found, total = system.page(cursor, int(offset), count, grant)
            self_url = f"{base}?{urlsplit(self.path).query}"
            self.searched_kind = system.search_kind(cursor)
            next_url = self.next_url(base, cursor, int(offset) + count, count, total)
            next_url = self.hostile_next(system, base, cursor, int(offset) + count, count, self_url, next_url)
            return documents.searchset(base, found, total, self_url, next_url)
        if route in ("search", "everything"):
            count = system.count_param(query)
            if route == "search":
                if not rest[0][:1].isupper() or not rest[0].isalpha():
                    raise FhirError(404, "not-supported", f"{rest[0]} is not a resource type")
                found, applied = system.search(rest[0], query, grant)
                path = rest[0]
            else:
                found, applied = system.everything(rest[1], query, grant)
                path = f"Patient/{rest[1]}/$everything"
            self.searched_kind = rest[0] if route == "search" else ""
            cursor = system.remember(found, grant, self.searched_kind)
            self_url = f"{base}/{path}?{urlencode([*applied, ('_count', str(count))])}"
            next_url = self.next_url(base, cursor, count, count, len(found))
            next_url = self.hostile_next(system, base, cursor, count, count, self_url, next_url)
            answer = documents.searchset(base, found[:count], len(found), self_url, next_url)
            if system.hostile(self.searched_kind) and system.switches.get("inject_foreign"):
                answer = documents.with_foreign_entries(answer, base, grant.patient or "unknown")
            return answer
        raise FhirError(
            404 if route == "unknown" else 400,
            "not-supported",
            "fhir_sandbox supports read, type search and Patient/$everything",
        )

    @staticmethod
    def next_url(base: str, cursor: str, offset: int, count: int, total: int) -> str | None:
        if count == 0 or offset >= total:
            return None
        return f"{base}?{urlencode({'_getpages': cursor, '_getpagesoffset': offset, '_count': count})}"

    # --- Hostile answers (README, "Hostile switches") ----------------------------------------

    @staticmethod
    def hostile_next(
        system: System, base: str, cursor: str, offset: int, count: int, self_url: str, next_url: str | None
    ) -> str | None:
        """The `next` link, replaced by `next_link_url`, or pointing at the page itself or on forever."""
        if not system.hostile(system.search_kind(cursor)):
            return next_url
        if system.switches.get("next_link_url"):
            return str(system.switches["next_link_url"])
        if system.switches.get("next_link") == "self":
            return self_url
        if system.switches.get("next_link") == "endless":
            return f"{base}?{urlencode({'_getpages': cursor, '_getpagesoffset': offset, '_count': count})}"
        return next_url

    def hostile_body(self, system: System, payload: bytes, grant: Any) -> bool:
        """Answer a search with a generated page (huge or with many entries) or drip it; False: answer normally."""
        if not system.hostile(self.searched_kind):
            return False
        megabytes, entries = system.switches.get("huge_body_mb", 0), system.switches.get("big_page_entries", 0)
        if megabytes or entries:
            pieces = documents.generated_searchset(
                self.searched_kind, grant.patient or "unknown", entries=entries, size=megabytes * 1024 * 1024
            )
            self.send_chunked(pieces)
            return True
        if system.switches.get("drip_body_ms"):
            self.drip(payload, system.switches["drip_body_ms"] / 1000)
            return True
        return False

    def send_chunked(self, pieces: Any) -> None:
        """A 200 FHIR answer in chunked transfer encoding, written as it is generated (never held whole)."""
        self.send_response(200)
        self.send_header("Content-Type", FHIR_JSON)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for piece in pieces:
                if piece:
                    self.wfile.write(b"%X\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client stopped reading (as it should, past its limit)
            self.close_connection = True

    def drip(self, payload: bytes, interval: float) -> None:
        """The full Content-Length up front, then one byte every `interval` seconds until the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", FHIR_JSON)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            for index in range(len(payload)):
                self.wfile.write(payload[index : index + 1])
                time.sleep(interval)
        except OSError:
            self.close_connection = True

    # --- SMART / OAuth -------------------------------------------------------------

    def authorize(self, system: System, method: str, query: dict[str, list[str]]) -> None:
        system.count("authorize")
        params = {k: v[-1] for k, v in query.items()}
        problem = system.check_authorize(params, f"{self.root(system)}/fhir")
        if problem:
            self.send(400, documents.error_page(system, problem), HTML)
            return
        page = documents.consent_page(system, params["client_id"], params["scope"], self.path)
        if method == "GET":
            self.send(200, page, HTML)
            return
        form = self.form()
        if form.get("decision") == "deny":
            answer = {"error": "access_denied", "state": params["state"]}
        elif any(p["id"] == form.get("patient") for p in system.patients()):
            answer = {"code": system.issue_code(params, form["patient"]), "state": params["state"]}
        else:
            page = documents.consent_page(
                system, params["client_id"], params["scope"], self.path, "Choose a patient first."
            )
            self.send(400, page, HTML)
            return
        target = urlsplit(params["redirect_uri"])
        location = urlunsplit(target._replace(query="&".join(filter(None, [target.query, urlencode(answer)]))))
        self.send(303, b"", "text/plain", {"Location": location})

    def token(self, system: System, action: str = "token") -> None:
        """The token endpoint, or (`action="revoke"`) the revocation endpoint, which proves the client the same way."""
        system.count(action)
        basic = None
        scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                user, _, password = base64.b64decode(credentials).decode().partition(":")
                basic = (unquote_plus(user), unquote_plus(password))  # RFC 6749 2.3.1: form-encoded, then joined
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        root = self.root(system)
        token_url = f"{root}/auth/token"
        try:
            if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                raise OAuthError("invalid_request", f"the {action} endpoint takes application/x-www-form-urlencoded")
            if action == "revoke":
                system.revoke(self.form(), basic, audiences=(token_url, f"{root}/auth/revoke"))
                self.send(200, b"", "text/plain", headers=no_store)
                return
            answer = system.token(self.form(), basic, issuer=f"{root}/fhir", token_url=token_url)
            self.send(200, answer, headers=no_store)
        except OAuthError as error:
            if error.status == 401:
                no_store["WWW-Authenticate"] = 'Basic realm="fhir_sandbox"'
            answer = {"error": error.error, "error_description": error.description, "error_uri": OAUTH_ERRORS_URI}
            self.send(error.status, answer, headers=no_store)

    # --- Test controls -----------------------------------------------------------------

    def sandbox(self, system: System, method: str, action: str) -> None:
        """Run-time controls for tests and demos; never counted as FHIR requests, never faulted."""
        system.count(f"_sandbox/{action}")
        if action not in SANDBOX_ACTIONS:
            self.send(404, {"error": f"no _sandbox/{action}; try one of {', '.join(SANDBOX_ACTIONS)}"})
            return
        try:
            request = json.loads(self.body or b"{}")
            if not isinstance(request, dict):
                raise ValueError("send a JSON object")
            if action == "stats" and method == "GET":
                answer = system.stats()
            elif action == "switches" and method in ("GET", "POST"):
                answer = system.set_switches(request if method == "POST" else {})
            elif method != "POST":
                raise ValueError(f"use POST for _sandbox/{action}")
            elif action == "touch":
                answer = system.touch(request)
            elif action == "resources":
                stamp = data.now_instant()
                answer = {"stored": system.add(((r, u, stamp) for r, u in data.unpack(request)), bump=True)}
            else:
                answer = system.mint(request)
        except (ValueError, TypeError, KeyError) as error:
            self.send(400, {"error": str(error)})
        else:
            self.send(200, answer)


class RunningSandbox:
    """A sandbox serving in a background thread: `.url`, `.fhir_base(prefix)`, `.switches(prefix, ...)`, `.stop()`."""

    def __init__(self, server: SandboxServer, thread: threading.Thread) -> None:
        self.server, self.thread = server, thread
        host, port = server.socket.getsockname()[:2]
        self.url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"  # noqa: S104 (a comparison)

    @property
    def systems(self) -> dict[str, System]:
        return self.server.systems

    def fhir_base(self, prefix: str) -> str:
        return f"{self.url}/{prefix}/fhir"

    def switches(self, prefix: str, **values: Any) -> dict[str, Any]:
        """Set fault switches on one system, e.g. `.switches("riverside", status_429_every=3)`; returns those now on."""
        return self.server.systems[prefix].set_switches(values)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def load_config(config: dict[str, Any] | str | Path) -> dict[str, System]:
    """Systems from a config dict or JSON file; data paths are relative to the file (or to the current directory)."""
    if isinstance(config, dict):
        base_dir, settings = Path.cwd(), config
    else:
        base_dir, settings = Path(config).resolve().parent, json.loads(Path(config).read_text("utf-8"))
    systems: dict[str, System] = {}
    for item in settings.get("systems", []):
        system = System(item, base_dir)
        if system.prefix in systems:
            raise ValueError(f"two systems share the prefix {system.prefix!r}")
        systems[system.prefix] = system
    if not systems:
        raise ValueError('the config has no systems: {"systems": [{"prefix": ..., ...}]}')
    return systems


def start(
    config: dict[str, Any] | str | Path, host: str = "127.0.0.1", port: int = 0, quiet: bool = True
) -> RunningSandbox:
    """Load the config and serve it in a daemon thread; the socket is listening when this returns."""
    systems = load_config(config)
    server = SandboxServer((host, port), Handler)
    server.systems, server.quiet = systems, quiet
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fhir_sandbox", daemon=True
    )
    thread.start()
    return RunningSandbox(server, thread)
