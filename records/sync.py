"""The sync engine: bring one connection's records up to date, safely, from a server we do not trust.

- One sync per connection at a time (a lock that a killed worker cannot leave behind).
- The types asked for are the supported ones that the granted scope covers and the server offers. For each:
  search by patient and `_lastUpdated` since the type's cursor, follow `next` links, keep only the person's
  own resources of that type, write each page in one statement (ingest.write_page), skip unchanged content
  by hash.
- The cursor moves only after a type is complete, so a crash mid-type means the next run asks again from
  the old cursor: nothing lost, nothing doubled.
- A type the server refuses (403, 404) is "not shared" by this health system: noted on the connection and
  skipped, while the other types go on. A type whose answers cannot be used safely (a `next` link to another
  origin, a repeated link, too many pages, a page too large, a request too slow) stops with an issue on the run.
- 401 → refresh (as often as the token in use is older than the latest refresh, up to a cap, and ahead of
  expiry) → "needs signing in again" with a notice. 429 and 5xx, dropped connections and cut-off bodies →
  retry with backoff that honours Retry-After. Other errors end the run with a plain-words reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import orjson
import requests
import urllib3
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions.audit import record_audit_event
from accounts.audit_labels import AuditAction
from accounts.notifications import send_notice
from records import smart
from records.ingest import PageResult, Problem, json_values_bound, record_page, stored_hashes, write_page
from records.kinds import resource_type_label
from records.models import Connection, ConnectionStatus, ImportRun, RunKind, RunStatus

T = TypeVar("T")
logger = logging.getLogger(__name__)

# Reference data is not searched by patient; it is fetched by id when the patient's records point at it.
REFERENCE_TYPES = ("Practitioner", "PractitionerRole", "Organization", "Location", "Medication")
REFERENCE = re.compile(
    rb'"reference"\s*:\s*"(Practitioner|PractitionerRole|Organization|Location|Medication)/([A-Za-z0-9\-.]{1,64})"'
)
REFERENCE_BATCH = 50
# The patient's own types, and where each names its patient (what the server's `patient` search matches).
# Keep docs/decisions.md ("Which US Core types are synced") in step with this list.
PATIENT_PATHS: dict[str, tuple[str, ...]] = {
    "Patient": (),  # the patient themself: its id is the connection's patient
    "Observation": ("subject",),
    "DiagnosticReport": ("subject",),
    "MedicationRequest": ("subject",),
    "MedicationStatement": ("subject",),
    "MedicationDispense": ("subject",),  # what the pharmacy handed over: when a medicine runs out (refills)
    "AllergyIntolerance": ("patient",),
    "Condition": ("subject",),
    "Immunization": ("patient",),
    "Encounter": ("subject",),
    "Procedure": ("subject",),
    "DocumentReference": ("subject",),
    "CarePlan": ("subject",),
    "Goal": ("subject",),
    "CareTeam": ("subject",),
    "Coverage": ("beneficiary",),
    "ExplanationOfBenefit": ("patient",),
    "Claim": ("patient",),
    "Appointment": ("participant", "actor"),  # any participant's actor
    "Device": ("patient",),
    "ImagingStudy": ("subject",),
    "Provenance": ("target",),  # any target: the `patient` search matches targets that are the patient
}
SUPPORTED_TYPES = tuple(PATIENT_PATHS)
FHIR_JSON = "application/fhir+json"
NOT_SHARED_STATUSES = (403, 404)  # the server will not share this type (Medplum's AccessPolicy answers 403)
WRITE_SLICE = 1000  # resources written per statement: a very large page is written in slices
READ_PIECE = 64 * 1024


class SyncStoppedError(Exception):
    """The run cannot go on; the message is shown to the person (no health data)."""


class NeedsReauthorizationError(SyncStoppedError):
    def __init__(self, message: str, *, refusal: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal or {}


class AlreadySyncingError(Exception):
    pass


class TypeRefusedError(Exception):
    """The server answered a type's request with a 4xx (not 401 or 429)."""

    def __init__(self, status: int) -> None:
        super().__init__(_("The health system refused a request (HTTP %(status)s).") % {"status": status})
        self.status = status


class PageRefusedError(Exception):
    """An answer that cannot be used safely (too large, too slow, a redirect); the message says why in plain words."""


# The lock ----------------------------------------------------------------------------------------------

LOCK_NAMESPACE = 7_140  # advisory locks of the record sync


_HELD_HERE: set[int] = set()  # advisory locks are re-entrant within one session; syncs must not be


@contextlib.contextmanager
def connection_lock(connection_id: int) -> Iterator[None]:
    """One sync per connection, across every worker process.

    Postgres: a session advisory lock, released even if the worker is killed
    (its database session ends with it). SQLite (the demo): a lease on the row
    that expires if its holder dies.
    """
    if connection_id in _HELD_HERE:
        raise AlreadySyncingError
    _HELD_HERE.add(connection_id)
    try:
        with _database_lock(connection_id):
            yield
    finally:
        _HELD_HERE.discard(connection_id)


@contextlib.contextmanager
def _database_lock(connection_id: int) -> Iterator[None]:
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, connection_id])
            if not cursor.fetchone()[0]:
                raise AlreadySyncingError
        try:
            yield
        finally:
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, connection_id])
        return
    now = timezone.now()
    lease = now + timedelta(seconds=settings.RECORDS_SYNC_LEASE_SECONDS)
    free = Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now)
    taken = Connection.objects.filter(free, pk=connection_id).update(sync_lease_until=lease)
    if not taken:
        raise AlreadySyncingError
    try:
        yield
    finally:
        Connection.objects.filter(pk=connection_id).update(sync_lease_until=None)


# Scopes ------------------------------------------------------------------------------------------------

# SMART v1 (`patient/Observation.read`, `patient/*.*`) and v2 (`patient/Observation.rs`, `patient/*.cruds`,
# optionally narrowed by a query, `patient/Observation.rs?category=laboratory`).
RESOURCE_SCOPE = re.compile(
    r"(?:patient|user)/(?P<type>\*|[A-Z][A-Za-z]{1,63})\.(?P<access>read|write|\*|[cruds]+)(?:\?\S*)?"
)


def granted_types(scope: str) -> frozenset[str] | None:
    """The types a granted scope lets us search; None for every type (a blank scope: as asked, RFC 6749).

    A v1 scope must allow reading (`read` or `*`), a v2 one searching (an `s`): every fetch here is a search.
    """
    if not scope.strip():
        return None
    types: set[str] = set()
    for match in map(RESOURCE_SCOPE.fullmatch, scope.split()):
        if match is None:
            continue
        access = match["access"]
        if access in ("read", "*") or (access != "write" and "s" in access):
            if match["type"] == "*":
                return None
            types.add(match["type"])
    return frozenset(types)


# HTTP with retries -------------------------------------------------------------------------------------


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _too_large() -> PageRefusedError:
    megabytes = settings.FHIR_MAX_PAGE_BYTES // (1024 * 1024)
    return PageRefusedError(
        _("The health system sent a page larger than %(size)s MB; it was not read.") % {"size": megabytes}
    )


def _read_body(response: requests.Response, deadline: float) -> bytearray:
    """The body, read as it arrives, within the page size limit and the request's deadline.

    `read1` returns whatever has arrived (at least a byte), so a server sending one byte at a time still
    meets the deadline check; decoded (gzip) bytes count against the limit, so a compressed bomb stops too.
    """
    limit = settings.FHIR_MAX_PAGE_BYTES
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large()
    body = bytearray()
    while True:
        if time.monotonic() > deadline:
            raise PageRefusedError(_("The health system took too long to send a page; it was not used."))
        piece = response.raw.read1(READ_PIECE, decode_content=True)  # requests leaves decoding to its readers
        if not piece:
            return body
        body += piece
        if len(body) > limit:
            raise _too_large()


def _parse(body: bytearray) -> dict[str, Any] | None:
    """The page as a JSON object, or None when it is not one (cut off in transit, perhaps: asked again)."""
    if json_values_bound(body) > settings.FHIR_MAX_PAGE_VALUES:
        raise PageRefusedError(
            _("The health system sent a page with more than %(count)s values; it was not read.")
            % {"count": settings.FHIR_MAX_PAGE_VALUES}
        )
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


@dataclass
class FhirSession:
    """GETs against one connection's server: token renewal, retries of transient failures, and limits."""

    connection: Connection
    http: requests.Session
    tokens_changed: bool = False
    requests_made: int = 0
    refreshes: int = 0  # renewals in this run
    generation: int = 0  # which renewal the token in use came from (0: the one the run began with)
    proven: bool = True  # the token in use has been accepted at least once (or is the one the run began with)
    lifetime: float | None = None  # seconds the token in use was issued for, when we renewed it
    closed: bool = False  # the run is over: a request still in flight must not renew tokens nobody saves

    def get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self.get_page(url, params)[0]

    def get_page(self, url: str, params: dict[str, str] | None = None) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The parsed answer and the reference data it points at (found in its bytes, without walking the JSON).

        Raises TypeRefusedError on a 4xx other than 401 and 429, PageRefusedError on an answer that cannot be
        used safely, NeedsReauthorizationError and SyncStoppedError when the run cannot go on.
        """
        attempts = settings.FHIR_RETRY_ATTEMPTS
        for attempt in range(attempts):
            wait: float | None = None
            self._renew_if_expiring()
            generation = self.generation
            response: requests.Response | None = None
            body: bytearray | None = None
            try:
                self.requests_made += 1
                started = time.monotonic()
                response = self.http.get(
                    url,
                    params=params,
                    headers={"Accept": FHIR_JSON, "Authorization": f"Bearer {self.connection.access_token}"},
                    stream=True,
                    allow_redirects=False,  # a redirect could lead anywhere; the token stays on the FHIR base
                )
                try:
                    if response.status_code == 200:
                        body = _read_body(response, started + settings.FHIR_REQUEST_DEADLINE_SECONDS)
                finally:
                    response.close()
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
                response = None
            except (urllib3.exceptions.HTTPError, OSError):  # cut off, or timed out, while the body was read
                response = None
            if response is not None:
                status = response.status_code
                if status == 401:
                    self._after_unauthorized(generation)
                    continue
                if status == 429 or status >= 500:
                    wait = _retry_after(response)
                elif 300 <= status < 400:
                    raise PageRefusedError(_("The health system redirected a request elsewhere; it was not followed."))
                elif status >= 400:
                    self._accepted(generation, status in NOT_SHARED_STATUSES)  # refused the type, not the token
                    raise TypeRefusedError(status)
                elif body is not None:
                    parsed = _parse(body)
                    if parsed is not None:
                        self._accepted(generation, parsed.get("resourceType") == "Bundle")
                        references = [(k.decode(), i.decode()) for k, i in REFERENCE.findall(body)]
                        return parsed, references
            if attempt + 1 < attempts:
                time.sleep(self._backoff(attempt, wait))
        raise SyncStoppedError(_("The health system kept failing; we will try again later."))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        base = settings.FHIR_RETRY_BASE_SECONDS * (2**attempt)
        chosen = retry_after if retry_after is not None else base + random.uniform(0, base)  # noqa: S311
        return min(chosen, settings.FHIR_RETRY_MAX_WAIT_SECONDS)

    # Tokens -------------------------------------------------------------------------------------

    def _accepted(self, generation: int, accepted: bool) -> None:
        """The token in use works, if a request that needs one succeeded (metadata, open to all, proves nothing)."""
        if accepted and generation == self.generation:
            self.proven = True

    def _after_unauthorized(self, generation: int) -> None:
        """A 401: renew, unless the token refused is one just renewed that never worked (then signing in helps)."""
        if generation != self.generation:
            return  # renewed meanwhile: the next attempt carries the newer token
        if not self.proven:
            raise NeedsReauthorizationError(_("Access has expired; please sign in to the health system again."))
        self._renew()

    def _renew_if_expiring(self) -> None:
        """Renew ahead of expiry: within FHIR_REFRESH_AHEAD_SECONDS, or a quarter of a short token's life."""
        expires = self.connection.token_expires_at
        if (
            expires is None
            or not self.connection.refresh_token
            or self.refreshes >= settings.FHIR_MAX_REFRESHES_PER_RUN
        ):
            return
        ahead = float(settings.FHIR_REFRESH_AHEAD_SECONDS)
        if self.lifetime is not None:
            ahead = min(ahead, self.lifetime / 4)
        if (expires - timezone.now()).total_seconds() < ahead:
            self._renew()

    def _renew(self) -> None:
        if not self.connection.refresh_token:
            raise NeedsReauthorizationError(_("Access has expired; please sign in to the health system again."))
        if self.closed:
            raise SyncStoppedError(_("The sync was stopped."))
        if self.refreshes >= settings.FHIR_MAX_REFRESHES_PER_RUN:
            # Not the person's doing: the refresh token still works, so the next run carries on.
            raise SyncStoppedError(
                _("Our access to the health system ran out too often during this update; the next update carries on.")
            )
        self.refreshes += 1
        try:
            tokens = smart.refresh(
                fhir_base_url=self.connection.health_system.fhir_base_url,
                token_endpoint=self.connection.token_endpoint,
                client_id=self.connection.health_system.client_id,
                refresh_token=self.connection.refresh_token,
                system=self.connection.health_system,
            )
        except smart.TemporaryError as error:
            raise SyncStoppedError(str(error)) from error
        except smart.SmartError as error:
            raise NeedsReauthorizationError(str(error), refusal=smart.refusal_fields(error)) from error
        if tokens.patient_id and tokens.patient_id != self.connection.fhir_patient_id:
            # A renewal that speaks for someone else: nothing of it is kept or used.
            raise NeedsReauthorizationError(
                _("The health system renewed access for another person; please sign in to it again.")
            )
        # Kept in memory here (this may run on the prefetch thread); the sync saves them at once (save_tokens).
        self.connection.access_token = tokens.access_token
        self.connection.refresh_token = tokens.refresh_token or self.connection.refresh_token
        self.connection.token_expires_at = tokens.expires_at
        if tokens.scope:
            self.connection.scope = tokens.scope  # a renewal may narrow what is shared (next run's types)
        if tokens.access_until is not None:
            self.connection.access_granted_until = tokens.access_until
        self.lifetime = (tokens.expires_at - timezone.now()).total_seconds() if tokens.expires_at else None
        self.generation += 1
        self.proven = False
        self.tokens_changed = True

    def save_tokens(self) -> None:
        """Stores renewed tokens, but never onto a connection disconnected (or signed out) meanwhile."""
        if self.tokens_changed:
            Connection.objects.filter(pk=self.connection.pk, status=ConnectionStatus.ACTIVE).update(
                access_token=self.connection.access_token,
                refresh_token=self.connection.refresh_token,
                token_expires_at=self.connection.token_expires_at,
                scope=self.connection.scope,
                access_granted_until=self.connection.access_granted_until,
            )
            self.tokens_changed = False


# Pages --------------------------------------------------------------------------------------------------


def offered_types(session: FhirSession, base: str) -> list[str]:
    """The supported types the server says it can search (all of ours if it says nothing usable).

    A CapabilityStatement can be large and slow; one answer per health system serves for an hour.
    """
    key = "records:offered-types:" + hashlib.sha256(base.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return list(cached)
    try:
        capability = session.get(f"{base}/metadata")
    except (TypeRefusedError, PageRefusedError):
        return list(SUPPORTED_TYPES)  # no usable statement: ask for every type, refusals are handled per type
    offered = {
        str(resource.get("type"))
        for rest in capability.get("rest") or []
        if isinstance(rest, dict)
        for resource in rest.get("resource") or []
        if isinstance(resource, dict)
    }
    kinds = [kind for kind in SUPPORTED_TYPES if kind in offered] or list(SUPPORTED_TYPES)
    cache.set(key, kinds, timeout=3600)
    return kinds


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def safe_next_url(base: str, link: str) -> str | None:
    """The `next` link as an absolute URL when it stays on the FHIR base (same origin, under its path), else None.

    A relative link is resolved against the base. Anything else (another host, port or scheme, `file:`,
    `data:`, credentials in the URL, control characters, garbage) is refused: the token goes only to the base.
    """
    if not link or len(link) > 4000 or any(ord(c) < 33 or ord(c) == 127 for c in link):
        return None
    try:
        url = urljoin(base + "/", link)
        parts = urlsplit(url)
        origin = _origin(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.username is not None or parts.password is not None:
        return None
    base_path = urlsplit(base).path.rstrip("/")
    path = parts.path
    if origin != _origin(base) or not (path == base_path or path.startswith(base_path + "/")):
        return None
    if any(segment in (".", "..") for segment in path.split("/")):
        return None  # `/fhir/../other` would leave the base once the client tidies the path
    return url


@dataclass
class TypePage:
    kind: str
    bundle: dict[str, Any]
    references: list[tuple[str, str]]


@dataclass
class TypeEnd:
    """A type is over: complete, not shared (`refused`: the HTTP status) or stopped (`problem`, plain words)."""

    kind: str
    refused: int | None = None
    problem: str = ""


def _next_step(base: str, bundle: dict[str, Any], seen: set[str], pages: int) -> tuple[str | None, str]:
    """The next page's URL, or None with the reason the type cannot go on ("" when it is simply complete)."""
    link = _next_link(bundle)
    if link is None:
        return None, ""
    url = safe_next_url(base, link)
    if url is None:
        return None, _("The health system's link to the next page pointed somewhere else; it was not followed.")
    if url in seen:
        return None, _("The health system's link to the next page led back to a page already read.")
    if pages >= settings.FHIR_MAX_PAGES_PER_TYPE:
        return None, _(
            "The health system sent more than %(count)s pages of one kind of record; the rest were not read."
        ) % {"count": settings.FHIR_MAX_PAGES_PER_TYPE}
    seen.add(url)
    return url, ""


def _pages(
    session: FhirSession, base: str, kinds: list[str], params_for: Callable[[str], dict[str, str]]
) -> Iterator[TypePage | TypeEnd]:
    """Every page of every type in order, each type closed by a TypeEnd.

    The next request is already in flight while a page is being written, so the health system's time and
    ours overlap (one request at a time, as servers expect).
    """
    plan = iter(kinds)
    kind = next(plan, None)
    if kind is None:
        return
    finished = False
    future: Future[tuple[dict[str, Any], list[tuple[str, str]]]] = _prefetch(
        session.get_page, f"{base}/{kind}", params_for(kind)
    )
    try:
        seen: set[str] = set()
        pages = 0
        while True:
            page: TypePage | None = None
            end: TypeEnd | None = None
            try:
                bundle, references = future.result()
            except TypeRefusedError as error:
                not_shared = pages == 0 and error.status in NOT_SHARED_STATUSES
                end = TypeEnd(kind, refused=error.status) if not_shared else TypeEnd(kind, problem=str(error))
            except PageRefusedError as error:
                end = TypeEnd(kind, problem=str(error))
            else:
                pages += 1
                page = TypePage(kind, bundle, references)
                next_url, problem = _next_step(base, bundle, seen, pages)
                if next_url is not None:
                    future = _prefetch(session.get_page, next_url, None)
                else:
                    end = TypeEnd(kind, problem=problem)
            following: str | None = None
            if end is not None:
                following = next(plan, None)
                if following is not None:
                    future = _prefetch(session.get_page, f"{base}/{following}", params_for(following))
            if page is not None:
                yield page
            if end is not None:
                yield end
                if following is None:
                    finished = True
                    return
                kind, seen, pages = following, set(), 0
    finally:
        session.closed = not finished
        # Cut short (an error, the task's time limit, the worker stopping): a request still in flight is
        # left to its daemon thread, which nothing waits for (not even the interpreter's exit).
        future.cancel()


def _prefetch(fetch: Callable[..., T], *args: Any) -> Future[T]:
    """Runs one fetch on a daemon thread (a pool's threads are joined at exit: a stopping worker would wait)."""
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fetch(*args))
        except BaseException as error:  # noqa: BLE001  (handed to the reader of the future, as a pool does)
            future.set_exception(error)

    threading.Thread(target=run, name="fhir-prefetch", daemon=True).start()
    return future


# What to keep ---------------------------------------------------------------------------------------------


def _names_patient(value: Any, patient: str, base: str) -> bool:
    """Whether a Reference (or a list of them) is to `Patient/<patient>`: relative, or absolute on the base."""
    references = value if isinstance(value, list) else [value]
    for reference in references:
        text = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(text, str):
            continue
        if text.startswith(base + "/"):
            text = text[len(base) + 1 :]
        if text.split("/_history/", 1)[0] == f"Patient/{patient}":
            return True
    return False


def belongs_to(resource: dict[str, Any], patient: str, base: str) -> bool:
    """Whether a resource of a supported type is the connection's patient's (see PATIENT_PATHS)."""
    kind = resource.get("resourceType")
    if kind == "Patient":
        return resource.get("id") == patient
    path = PATIENT_PATHS.get(str(kind))
    if not path:
        return False
    value = resource.get(path[0])
    if len(path) == 2:  # a list of elements each holding a reference (Appointment.participant.actor)
        value = [item.get(path[1]) for item in value if isinstance(item, dict)] if isinstance(value, list) else []
    return _names_patient(value, patient, base)


def _left_out(resource: dict[str, Any], message: str) -> Problem:
    kind, rid = resource.get("resourceType"), resource.get("id")
    return Problem(message, str(kind)[:64] if kind else "", str(rid)[:64] if rid else "")


def select_resources(
    bundle: dict[str, Any], kind: str, *, patient: str, base: str, ids: set[str] | None = None
) -> tuple[list[Any], list[Problem]]:
    """The entries to write (of `kind`, the person's, or with one of `ids` for reference data) and the rest as issues.

    An entry of search.mode "outcome" is the server's note about the search, not a result: skipped silently.
    Anything that is not even a resource goes to write_page, which records it as it does for files.
    """
    kept: list[Any] = []
    problems: list[Problem] = []
    for entry in bundle.get("entry") or []:
        if not isinstance(entry, dict) or "resource" not in entry:
            continue
        search = entry.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue
        resource = entry["resource"]
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            kept.append(resource)  # write_page records it as not a resource
        elif resource["resourceType"] != kind:
            problems.append(_left_out(resource, "A resource of another type than asked for; left out."))
        elif ids is not None:
            if resource.get("id") in ids:
                kept.append(resource)
            else:
                problems.append(_left_out(resource, "A resource that was not asked for; left out."))
        elif belongs_to(resource, patient, base):
            kept.append(resource)
        else:
            problems.append(_left_out(resource, "A resource that is not this person's; left out."))
    return kept, problems


# The run ----------------------------------------------------------------------------------------------


def _search_params(connection: Connection, kind: str, full: bool) -> dict[str, str]:
    params = {"_count": str(settings.FHIR_PAGE_SIZE)}
    params.update({"_id": connection.fhir_patient_id} if kind == "Patient" else {"patient": connection.fhir_patient_id})
    cursor = None if full else connection.cursors.get(kind)
    if cursor:
        params["_lastUpdated"] = f"ge{cursor}"
    return params


@dataclass
class _Writer:
    """Writes kept resources in slices and gathers the counts and issues of the type under way."""

    connection: Connection
    known: dict[tuple[str, str], str]
    pending: PageResult = field(default_factory=PageResult)

    def write(self, resources: list[Any], problems: list[Problem]) -> None:
        if problems:
            self.pending.add(PageResult(problems=problems))
            self.pending.counts.failed += len(problems)
        for start in range(0, len(resources), WRITE_SLICE):
            chunk = resources[start : start + WRITE_SLICE]
            self.pending.add(write_page(self.connection.source, chunk, resolve_conditional=False, known=self.known))

    def take(self) -> PageResult:
        taken, self.pending = self.pending, PageResult()
        return taken


def sync_connection(connection_id: int, *, full: bool = False) -> ImportRun | None:
    """Runs one sync now; returns None when another sync of the same connection is under way."""
    try:
        with connection_lock(connection_id):
            return _sync(connection_id, full=full)
    except AlreadySyncingError:
        logger.info("Connection %s is already syncing; this run steps aside.", connection_id)
        return None


def _sync(connection_id: int, *, full: bool) -> ImportRun:
    connection = Connection.objects.select_related("health_system", "source").get(pk=connection_id)
    # A run still "running" here was cut short (its worker died): say so before starting anew.
    ImportRun.objects.filter(source=connection.source, kind=RunKind.SYNC, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED, error=_("Interrupted; the next run carried on."), finished_at=timezone.now()
    )
    run = ImportRun.objects.create(source=connection.source, kind=RunKind.SYNC)
    if connection.status != ConnectionStatus.ACTIVE:
        return _finish(run, RunStatus.FAILED, _("The connection is not active."))
    session = FhirSession(connection=connection, http=smart.TimeoutSession())
    try:
        stopped = _run(run, connection, session, full=full)
    except NeedsReauthorizationError as error:
        session.save_tokens()
        _needs_reauthorization(connection, str(error), error.refusal)
        return _finish(run, RunStatus.FAILED, str(error))
    except SyncStoppedError as error:
        session.save_tokens()
        return _finish(run, RunStatus.FAILED, str(error))
    except SoftTimeLimitExceeded:
        return _finish(run, RunStatus.FAILED, _("The sync took too long and was stopped; the next one carries on."))
    except Exception as error:  # noqa: BLE001 (a run must never stay "running"; the type alone is logged, no data)
        logger.error("Sync of connection %s stopped by %s", connection_id, type(error).__name__)
        return _finish(run, RunStatus.FAILED, _("Something went wrong during the sync; we will try again later."))
    if stopped:
        return _finish(
            run,
            RunStatus.FAILED,
            _("Some kinds of records could not be brought in (%(kinds)s); the rest were.")
            % {"kinds": ", ".join(resource_type_label(kind).lower() for kind in stopped)},
        )
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).update(last_synced_at=timezone.now(), status_detail="")
        return _finish(run, RunStatus.SUCCEEDED, "")


def _run(run: ImportRun, connection: Connection, session: FhirSession, *, full: bool) -> list[str]:
    """The sync proper; returns the types that stopped with a problem (their issues are on the run)."""
    base = connection.health_system.fhir_base_url.rstrip("/")
    patient = connection.fhir_patient_id
    started = timezone.now()
    allowed = granted_types(connection.scope)
    offered = offered_types(session, base)
    session.save_tokens()
    kinds = [kind for kind in offered if allowed is None or kind in allowed]
    not_shared: dict[str, dict[str, Any]] = dict(connection.types_not_shared or {})
    for kind in SUPPORTED_TYPES + REFERENCE_TYPES:
        if allowed is not None and kind not in allowed:
            not_shared[kind] = {"reason": "scope", "status": None, "at": started.isoformat()}
        elif not_shared.get(kind, {}).get("reason") == "scope":
            del not_shared[kind]  # the scope covers it now
    Connection.objects.filter(pk=connection.pk).update(types_not_shared=not_shared)
    run.progress_total = len(kinds)
    done = 0
    stopped: list[str] = []
    writer = _Writer(connection, stored_hashes(connection.source))
    referenced: set[tuple[str, str]] = set()
    for event in _pages(session, base, kinds, lambda kind: _search_params(connection, kind, full)):
        session.save_tokens()
        if isinstance(event, TypePage):
            kept, problems = select_resources(event.bundle, event.kind, patient=patient, base=base)
            # References from what is kept only: a stranger's record must not bring its practitioners in.
            referenced.update(event.references if not problems else _references_of(kept))
            writer.write(kept, problems)
            continue
        # The type is over: its counts join the run and (when complete) next time only what changed
        # since this run began is asked for.
        done += 1
        if event.refused is not None:
            not_shared[event.kind] = {"reason": "refused", "status": event.refused, "at": timezone.now().isoformat()}
        elif event.problem:
            stopped.append(event.kind)
            writer.pending.problems.append(Problem(event.problem, event.kind))
        else:
            not_shared.pop(event.kind, None)
            connection.cursors[event.kind] = (
                started - timedelta(seconds=settings.FHIR_CURSOR_SKEW_SECONDS)
            ).isoformat()
        with transaction.atomic():  # the type's counts, progress and cursor move together
            record_page(run, writer.take(), progress_done=done)  # (also saves progress_total, set above)
            Connection.objects.filter(pk=connection.pk).update(cursors=connection.cursors, types_not_shared=not_shared)
    # The practitioners, organizations, locations and medications the records point at, by id, in batches.
    missing = sorted(ref for ref in referenced if full or ref not in writer.known)
    for kind in REFERENCE_TYPES:
        ids = [rid for k, rid in missing if k == kind]
        if not ids or (allowed is not None and kind not in allowed):
            continue
        problem = _fetch_references(session, writer, base, kind, ids, not_shared)
        if problem:
            stopped.append(kind)
            writer.pending.problems.append(Problem(problem, kind))
    with transaction.atomic():
        record_page(run, writer.take())
        Connection.objects.filter(pk=connection.pk).update(types_not_shared=not_shared)
    return stopped


def _fetch_references(
    session: FhirSession, writer: _Writer, base: str, kind: str, ids: list[str], not_shared: dict[str, dict[str, Any]]
) -> str:
    """Fetches reference data by id; returns the problem that stopped it ("" when none)."""
    for start in range(0, len(ids), REFERENCE_BATCH):
        batch = ids[start : start + REFERENCE_BATCH]
        try:
            bundle = session.get(f"{base}/{kind}", {"_id": ",".join(batch), "_count": str(len(batch))})
        except TypeRefusedError as error:
            if error.status in NOT_SHARED_STATUSES:
                not_shared[kind] = {"reason": "refused", "status": error.status, "at": timezone.now().isoformat()}
                return ""
            return str(error)
        except PageRefusedError as error:
            return str(error)
        session.save_tokens()
        kept, problems = select_resources(bundle, kind, patient="", base=base, ids=set(batch))
        writer.write(kept, problems)
    not_shared.pop(kind, None)
    return ""


def _references_of(resources: list[Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for resource in resources:
        with contextlib.suppress(TypeError):
            found.extend((k.decode(), i.decode()) for k, i in REFERENCE.findall(orjson.dumps(resource)))
    return found


def _finish(run: ImportRun, status: str, error: str) -> ImportRun:
    """Closes the run; its counts are the ones this process kept (it is the run's only writer)."""
    run.status = status
    run.error = error[:1000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    return run


def _needs_reauthorization(connection: Connection, detail: str, refusal: dict[str, str]) -> None:
    with transaction.atomic():
        updated = Connection.objects.filter(pk=connection.pk, status=ConnectionStatus.ACTIVE).update(
            status=ConnectionStatus.NEEDS_REAUTHORIZATION, status_detail=detail[:300], **refusal
        )
        if not updated:
            return
        record_audit_event(
            action=AuditAction.RECORDS_NEEDS_REAUTHORIZATION,
            user=None,
            subject=connection.source.patient,
            basis="system",
            object_type="connection",
            object_id=connection.pk,
        )
        person = connection.connected_by
        if person is not None:
            send_notice(
                to=person.email,
                subject=_("A connected health system needs you"),
                body=_(
                    "One of the health systems connected to the Family Health Portal needs you to sign in "
                    "again so that records keep arriving. Log in to see which one."
                ),
            )
