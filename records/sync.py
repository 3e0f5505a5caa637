"""The sync engine: bring one connection's records up to date, safely.

- One sync per connection at a time (a lock that a killed worker cannot leave behind).
- For each supported type the server offers: search by patient and
  `_lastUpdated` since the type's cursor, follow `next` links, write each page
  in one statement (ingest.write_page), skip unchanged content by hash.
- The cursor moves only after a type is complete, so a crash mid-type means
  the next run asks again from the old cursor: nothing lost, nothing doubled.
- 401 → refresh once → "needs signing in again" with a notice. 429 and 5xx,
  dropped connections and cut-off bodies → retry with backoff that honours
  Retry-After. Other errors end the run with a plain-words reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import requests
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
from records.ingest import PageResult, record_page, stored_hashes, write_page
from records.models import Connection, ConnectionStatus, ImportRun, RunKind, RunStatus

logger = logging.getLogger(__name__)

# Reference data is not searched by patient; it is fetched by id when the patient's records point at it.
REFERENCE_TYPES = ("Practitioner", "PractitionerRole", "Organization", "Location")
REFERENCE = re.compile(
    rb'"reference"\s*:\s*"(Practitioner|PractitionerRole|Organization|Location)/([A-Za-z0-9\-.]{1,64})"'
)
REFERENCE_BATCH = 50
SUPPORTED_TYPES = (
    "Patient",
    "Observation",
    "DiagnosticReport",
    "MedicationRequest",
    "MedicationStatement",
    "AllergyIntolerance",
    "Condition",
    "Immunization",
    "Encounter",
    "Procedure",
    "DocumentReference",
    "CarePlan",
    "Goal",
    "CareTeam",
    "Coverage",
    "ExplanationOfBenefit",
    "Claim",
    "Appointment",
    "Device",
    "ImagingStudy",
)
FHIR_JSON = "application/fhir+json"


class SyncStoppedError(Exception):
    """The run cannot go on; the message is shown to the person (no health data)."""


class NeedsReauthorizationError(SyncStoppedError):
    pass


class AlreadySyncingError(Exception):
    pass


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


@dataclass
class FhirSession:
    """GETs against one connection's server, refreshing the token once on 401 and retrying transient failures."""

    connection: Connection
    http: requests.Session
    refreshed: bool = False
    tokens_changed: bool = False
    requests_made: int = 0

    def get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self.get_page(url, params)[0]

    def get_page(self, url: str, params: dict[str, str] | None = None) -> tuple[dict[str, Any], bytes]:
        """The parsed answer and its bytes (scanned for references without walking the JSON)."""
        attempts = settings.FHIR_RETRY_ATTEMPTS
        for attempt in range(attempts):
            wait: float | None = None
            try:
                self.requests_made += 1
                response = self.http.get(
                    url,
                    params=params,
                    headers={"Accept": FHIR_JSON, "Authorization": f"Bearer {self.connection.access_token}"},
                )
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
                response = None
            if response is not None:
                if response.status_code == 401:
                    self._refresh()
                    continue
                if response.status_code == 429 or response.status_code >= 500:
                    wait = _retry_after(response)
                elif response.status_code >= 400:
                    raise SyncStoppedError(
                        _("The health system refused a request (HTTP %(status)s).") % {"status": response.status_code}
                    )
                else:
                    try:
                        body = orjson.loads(response.content)
                    except orjson.JSONDecodeError:
                        body = None  # a body cut off in transit: ask again
                    if isinstance(body, dict):
                        return body, response.content
            if attempt + 1 < attempts:
                time.sleep(self._backoff(attempt, wait))
        raise SyncStoppedError(_("The health system kept failing; we will try again later."))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        base = settings.FHIR_RETRY_BASE_SECONDS * (2**attempt)
        chosen = retry_after if retry_after is not None else base + random.uniform(0, base)  # noqa: S311
        return min(chosen, settings.FHIR_RETRY_MAX_WAIT_SECONDS)

    def refresh_now(self) -> None:
        self._refresh()

    def _refresh(self) -> None:
        if self.refreshed or not self.connection.refresh_token:
            raise NeedsReauthorizationError(_("Access has expired; please sign in to the health system again."))
        self.refreshed = True
        try:
            tokens = smart.refresh(
                fhir_base_url=self.connection.health_system.fhir_base_url,
                token_endpoint=self.connection.token_endpoint,
                client_id=self.connection.health_system.client_id,
                refresh_token=self.connection.refresh_token,
            )
        except smart.SmartError as error:
            raise NeedsReauthorizationError(str(error)) from error
        # Kept in memory here (this may run on the prefetch thread); the sync saves them at once (save_tokens).
        self.connection.access_token = tokens.access_token
        self.connection.refresh_token = tokens.refresh_token
        self.connection.token_expires_at = tokens.expires_at
        self.tokens_changed = True

    def save_tokens(self) -> None:
        if self.tokens_changed:
            self.connection.save(update_fields=["access_token", "refresh_token", "token_expires_at"])
            self.tokens_changed = False


# The run ----------------------------------------------------------------------------------------------


def offered_types(session: FhirSession, base: str) -> list[str]:
    """The supported types the server says it can search (all of ours if it says nothing usable).

    A CapabilityStatement can be large and slow; one answer per health system serves for an hour.
    """
    key = "records:offered-types:" + hashlib.sha256(base.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return list(cached)
    capability = session.get(f"{base}/metadata")
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


def _entries(bundle: dict[str, Any]) -> list[Any]:
    return [e.get("resource") for e in bundle.get("entry") or [] if isinstance(e, dict) and "resource" in e]


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def _search_params(connection: Connection, kind: str, full: bool) -> dict[str, str]:
    params = {"_count": str(settings.FHIR_PAGE_SIZE)}
    params.update({"_id": connection.fhir_patient_id} if kind == "Patient" else {"patient": connection.fhir_patient_id})
    cursor = None if full else connection.cursors.get(kind)
    if cursor:
        params["_lastUpdated"] = f"ge{cursor}"
    return params


def _pages(
    session: FhirSession, base: str, kinds: list[str], params_for: Callable[[str], dict[str, str]]
) -> Iterator[tuple[str, dict[str, Any] | None, bytes]]:
    """Every page of every type in order, then (kind, None) when a type is complete.

    The next request is already in flight while a page is being written, so the
    health system's time and ours overlap (one request at a time, as servers expect).
    """
    plan = iter(kinds)
    first = next(plan, None)
    if first is None:
        return
    kind: str = first
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fhir-prefetch") as pool:
        future: Future[tuple[dict[str, Any], bytes]] | None = pool.submit(
            session.get_page, f"{base}/{kind}", params_for(kind)
        )
        while future is not None:
            bundle, body = future.result()
            next_url = _next_link(bundle)
            following: str | None = kind
            if next_url:
                future = pool.submit(session.get_page, next_url, None)
            else:
                following = next(plan, None)
                future = (
                    pool.submit(session.get_page, f"{base}/{following}", params_for(following)) if following else None
                )
            yield kind, bundle, body
            if not next_url:
                yield kind, None, b""
            if following is None:
                return
            kind = following


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
    base = connection.health_system.fhir_base_url.rstrip("/")
    started = timezone.now()
    try:
        expires = connection.token_expires_at
        if expires is not None and expires - started < timedelta(seconds=settings.FHIR_REFRESH_AHEAD_SECONDS):
            session.refresh_now()  # renewed before it lapses, rather than after a 401 mid-run
            session.save_tokens()
        kinds = offered_types(session, base)
        run.progress_total = len(kinds)
        done = 0
        known = stored_hashes(connection.source)
        pending = PageResult()
        referenced: set[tuple[str, str]] = set()
        for kind, bundle, body in _pages(session, base, kinds, lambda kind: _search_params(connection, kind, full)):
            session.save_tokens()
            if bundle is not None:
                referenced.update((k.decode(), i.decode()) for k, i in REFERENCE.findall(body))
                pending.add(write_page(connection.source, _entries(bundle), resolve_conditional=False, known=known))
                continue
            # The type is complete: its counts join the run, and next time only what changed since
            # this run began is asked for.
            done += 1
            connection.cursors[kind] = (started - timedelta(seconds=settings.FHIR_CURSOR_SKEW_SECONDS)).isoformat()
            with transaction.atomic():  # the type's counts, progress and cursor move together
                record_page(run, pending, progress_done=done)  # (also saves progress_total, set above)
                Connection.objects.filter(pk=connection.pk).update(cursors=connection.cursors)
            pending = PageResult()
        # The practitioners, organizations and locations the records point at, by id, in batches.
        missing = sorted(ref for ref in referenced if full or ref not in known)
        for kind in REFERENCE_TYPES:
            ids = [rid for k, rid in missing if k == kind]
            for start in range(0, len(ids), REFERENCE_BATCH):
                batch = ids[start : start + REFERENCE_BATCH]
                bundle = session.get(f"{base}/{kind}", {"_id": ",".join(batch), "_count": str(len(batch))})
                session.save_tokens()
                pending.add(write_page(connection.source, _entries(bundle), resolve_conditional=False, known=known))
        with transaction.atomic():
            record_page(run, pending)
    except NeedsReauthorizationError as error:
        session.save_tokens()
        _needs_reauthorization(connection, str(error))
        return _finish(run, RunStatus.FAILED, str(error))
    except SyncStoppedError as error:
        return _finish(run, RunStatus.FAILED, str(error))
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).update(last_synced_at=timezone.now(), status_detail="")
        return _finish(run, RunStatus.SUCCEEDED, "")


def _finish(run: ImportRun, status: str, error: str) -> ImportRun:
    """Closes the run; its counts are the ones this process kept (it is the run's only writer)."""
    run.status = status
    run.error = error[:1000]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    return run


def _needs_reauthorization(connection: Connection, detail: str) -> None:
    with transaction.atomic():
        updated = Connection.objects.filter(pk=connection.pk, status=ConnectionStatus.ACTIVE).update(
            status=ConnectionStatus.NEEDS_REAUTHORIZATION, status_detail=detail[:300]
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
