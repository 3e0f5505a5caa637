"""The record pipeline's shared half: from FHIR JSON to stored rows.

Both a sync page and an uploaded file arrive here as resources; each page is
classified against what the source already holds (by content hash) and
written in one statement (insert, or update on conflict of source, type and
id). A malformed resource is recorded as an issue and skipped.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import orjson
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from records.models import FhirResource, ImportIssue, ImportRun, RecordSource, ResourceIdentifier
from records.projections import PROJECTION_VERSION, Projection, parse_instant, project

RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
RESOURCE_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
PAGE_SIZE = 500
# Reference data whose identifiers conditional references ("Practitioner?identifier=…") may point at.
IDENTIFIED_TYPES = frozenset(
    {"Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "Medication", "Coverage"}
)
_NAMESPACE = uuid.UUID("0f5b8a8e-6f7e-4d3a-9f51-4c1b2c3d4e5f")


class FileRejectedError(ValueError):
    """The file as a whole is not FHIR JSON; the message says why in plain words."""


class NestedTooDeeplyError(ValueError):
    """A resource nests deeper than MAX_NESTING; it is skipped, never stored."""


@dataclass
class Problem:
    message: str
    resource_type: str = ""
    resource_id: str = ""


@dataclass
class Counts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0

    def add(self, other: Counts) -> None:
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.failed += other.failed

    @property
    def total(self) -> int:
        return self.new + self.changed + self.unchanged + self.failed


# Reading files ------------------------------------------------------------------------------------------

# How deep objects and arrays may nest, counting every one (a Bundle, its entry list, an entry and its
# resource are four). The deepest file in the HL7 examples and the Synthea corpora nests 21 levels; a
# file far deeper is an attack on the parser (json recurses once per level), not a health record.
MAX_NESTING = 64

_ALL_BUT_QUOTES_AND_BRACKETS = bytes(range(256)).translate(None, b'"[]{}')
_STRING = re.compile(rb'"[^"]*"')
_LEVEL_CHANGE = [0] * 256
for _opening in b"[{":
    _LEVEL_CHANGE[_opening] = 1
for _closing in b"]}":
    _LEVEL_CHANGE[_closing] = -1


def nesting_depth(data: bytes) -> int:
    """How deep the JSON text's objects and arrays nest, found without parsing (and so without recursion).

    Escaped backslashes, then escaped quotes, are dropped (left to right, as a parser reads them), so the
    quotes left are the strings' own; everything but quotes and brackets goes, then the strings (brackets
    inside them do not count). The deepest point of the running count of openings minus closings is the
    deepest any parser recurses before it finishes, or stops at an error. It all runs in C (a 19 MB
    file: about 0.35 s).
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = data.translate(None, _ALL_BUT_QUOTES_AND_BRACKETS)
    # A few megabytes at a time, each cut after a string closes: re.sub holds a piece per string it removes
    # (300 MB for a 25 MB file at once), so it only ever sees one slice.
    level = deepest = start = 0
    while start < len(kept):
        end = min(start + _SLICE, len(kept))
        if kept.count(b'"', start, end) % 2:  # inside a string: cut after it closes (or at the very end)
            closing = kept.find(b'"', end)
            end = len(kept) if closing == -1 else closing + 1
        brackets = _STRING.sub(b"", kept[start:end]).translate(None, b'"')  # an unclosed string's tail counts
        level, deepest = _walk(brackets, level, deepest)
        start = end
    return deepest


_SLICE = 256 * 1024  # bytes of brackets and quotes re.sub sees at once


def _walk(brackets: bytes, level: int, deepest: int) -> tuple[int, int]:
    """The running level through a run of brackets: where it ends, and the deepest it has been."""
    if not brackets:
        return level, deepest
    deepest = max(deepest, max(accumulate(map(_LEVEL_CHANGE.__getitem__, brackets), initial=level)))
    return level + brackets.count(b"[") + brackets.count(b"{") - brackets.count(b"]") - brackets.count(b"}"), deepest


_ALL_BUT_QUOTES_COMMAS_OPENINGS = bytes(range(256)).translate(None, b'",[{')


def json_values_bound(data: bytes | bytearray) -> int:
    """The commas and openings of arrays and objects in the JSON text: about how many values parsing it makes.

    Every value but the first of an array or object follows a comma, and every array and object opens with a
    bracket. Counting them all is a pass in C (memchr speed); only when that count is large are the ones
    inside strings (a note's commas) left out, as nesting_depth does. What orjson builds takes about the
    text's length plus 40 to 190 bytes per item counted here (measured), so a page's bytes and this count
    together bound the memory its parsing takes.
    """
    rough = data.count(b",") + data.count(b"[") + data.count(b"{")
    if rough < 100_000:
        return rough
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = data.translate(None, _ALL_BUT_QUOTES_COMMAS_OPENINGS)
    # The strings' lengths summed one match at a time: re.sub would hold a piece per string (300 MB for 25 MB).
    inside = sum(match.end() - match.start() for match in _STRING.finditer(kept))
    return len(kept) - inside - kept.count(b'"') % 2  # an unclosed quote left over is not a value


def _check_nesting(data: bytes, *, line: int | None = None) -> None:
    if nesting_depth(data) > MAX_NESTING:
        if line is not None:
            raise FileRejectedError(
                _("Line %(line)s of the file nests more than %(limit)s levels deep, which no health record needs.")
                % {"line": line, "limit": MAX_NESTING}
            )
        raise FileRejectedError(
            _("The file nests more than %(limit)s levels deep, which no health record needs.") % {"limit": MAX_NESTING}
        )


def parse_fhir_file(data: bytes, *, name: str = "") -> tuple[list[Any], list[Problem]]:
    """The file's JSON documents: one for a resource or Bundle, one per line for NDJSON.

    Raises FileRejectedError, with the reason in plain words, when the file as a whole is not FHIR JSON.
    Nothing reads the JSON before its nesting is checked.
    """
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRejectedError(_("The file is not text in UTF-8, so it cannot be FHIR JSON.")) from error
    stripped = data.removeprefix(codecs.BOM_UTF8).strip()
    if not stripped:
        raise FileRejectedError(_("The file is empty."))
    if name.lower().endswith((".ndjson", ".jsonl")) or _looks_like_ndjson(stripped):
        return _read_ndjson(stripped)
    _check_nesting(stripped)
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError as error:
        raise FileRejectedError(
            _("The file is not valid JSON (line %(line)s, column %(column)s: %(reason)s).")
            % {"line": error.lineno, "column": error.colno, "reason": error.msg}
        ) from error
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise FileRejectedError(_("The file is JSON but not a FHIR resource or Bundle (no resourceType)."))
    return [document], []


def read_fhir_file(data: bytes, *, name: str = "") -> tuple[list[Any], list[Problem]]:
    """Resources from a JSON resource, a Bundle of any type, or NDJSON (one resource per line)."""
    documents, problems = parse_fhir_file(data, name=name)
    resources: list[Any] = []
    for document in documents:
        if isinstance(document, dict) and document.get("resourceType") == "Bundle":
            inner, inner_problems = flatten_bundle(document)
            resources.extend(inner)
            problems.extend(inner_problems)
        else:
            resources.append(document)
    return resources, problems


def _looks_like_ndjson(data: bytes) -> bool:
    first_line, _newline, rest = data.partition(b"\n")
    if not rest.strip() or not first_line.strip().startswith(b"{"):
        return False
    _check_nesting(first_line)  # deeper than allowed either way: as a line, or as the start of a document
    try:
        json.loads(first_line)
    except json.JSONDecodeError:
        return False
    return True


def _read_ndjson(data: bytes) -> tuple[list[Any], list[Problem]]:
    documents: list[Any] = []
    problems: list[Problem] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        _check_nesting(line, line=number)
        try:
            documents.append(json.loads(line))
        except json.JSONDecodeError as error:
            problems.append(Problem(f"Line {number} is not valid JSON ({error.msg})."))
    if not documents:
        raise FileRejectedError(_("No line of the file is JSON, so it cannot be FHIR NDJSON."))
    return documents, problems


# Bundles: full URLs, urn:uuid and conditional references ---------------------------------------------------


def _id_from_full_url(full_url: str) -> str:
    tail = full_url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    if RESOURCE_ID.match(tail):
        return tail
    return str(uuid.uuid5(_NAMESPACE, full_url))


def flatten_bundle(bundle: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The resources of a Bundle with every in-bundle reference rewritten to `Type/id`."""
    resources: list[dict[str, Any]] = []
    problems: list[Problem] = []
    full_urls: dict[str, str] = {}
    for position, entry in enumerate(_entries(bundle), start=1):
        resource = entry.get("resource")
        if resource is None:
            continue  # a request-only entry (e.g. a GET in a batch) carries no data
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            problems.append(Problem(f"Entry {position} of the Bundle is not a FHIR resource."))
            continue
        full_url = entry.get("fullUrl")
        if not resource.get("id") and isinstance(full_url, str):
            resource["id"] = _id_from_full_url(full_url)
        if isinstance(full_url, str) and resource.get("id"):
            full_urls[full_url] = f"{resource['resourceType']}/{resource['id']}"
        resources.append(resource)
    if full_urls:
        for resource in resources:
            _rewrite_references(resource, full_urls)
    return resources, problems


def _entries(bundle: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in bundle.get("entry") or []:
        if isinstance(entry, dict):
            yield entry


def _containers(root: Any) -> Iterator[dict[str, Any]]:
    """Every object within `root`, itself included, walked with a list rather than by recursion."""
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            yield node
            pending.extend(value for value in node.values() if isinstance(value, dict | list))
        elif isinstance(node, list):
            pending.extend(value for value in node if isinstance(value, dict | list))


def _rewrite_references(root: Any, mapping: dict[str, str]) -> None:
    for node in _containers(root):
        reference = node.get("reference")
        if isinstance(reference, str) and reference in mapping:
            node["reference"] = mapping[reference]


def _identifier_keys(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
            yield str(identifier.get("system") or ""), identifier["value"][:200]


_CONDITIONAL = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)\?identifier=(?:(?P<system>[^|&]*)\|)?(?P<value>[^&]+)$")


def _conditional_references(root: Any) -> Iterator[dict[str, Any]]:
    for node in _containers(root):
        reference = node.get("reference")
        if isinstance(reference, str) and "?identifier=" in reference:
            yield node


def resolve_conditional_references(source: RecordSource, resources: list[dict[str, Any]]) -> None:
    """`Practitioner?identifier=sys|val` becomes `Practitioner/id`, from this page or what the source holds."""
    pending: list[tuple[dict[str, Any], str, str, str]] = []
    for resource in resources:
        for node in _conditional_references(resource):
            match = _CONDITIONAL.match(node["reference"])
            if match:
                pending.append((node, match["type"], match["system"] or "", match["value"]))
    if not pending:
        return
    known: dict[tuple[str, str, str], str] = {}
    for resource in resources:
        if resource.get("resourceType") in IDENTIFIED_TYPES and resource.get("id"):
            for system, value in _identifier_keys(resource):
                known[(resource["resourceType"], system, value)] = str(resource["id"])
    missing = {(kind, value) for _, kind, system, value in pending if (kind, system, value) not in known}
    if missing:
        stored = ResourceIdentifier.objects.filter(
            source=source,
            resource_type__in={kind for kind, _ in missing},
            value__in={value for _, value in missing},
        ).values_list("resource_type", "system", "value", "resource_id")
        for kind, system, value, resource_id in stored:
            known.setdefault((kind, system, value), resource_id)
    for node, kind, system, value in pending:
        found = known.get((kind, system, value))
        if found is None and not system:
            found = next((rid for (k, _s, v), rid in known.items() if k == kind and v == value), None)
        if found is not None:
            node["reference"] = f"{kind}/{found}"


# Writing pages --------------------------------------------------------------------------------------------


_CONTAINERS = (dict, list)  # a tuple: isinstance checks it faster than `dict | list`, on every node


def nests_deeper_than(value: dict[str, Any] | list[Any], limit: int = MAX_NESTING) -> bool:
    """Whether a parsed JSON object or array nests deeper than `limit`: level by level, without recursion."""
    level: list[Any] = [value]
    depth = 1
    while level:
        if depth > limit:
            return True
        below: list[Any] = []
        for node in level:
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, _CONTAINERS):
                    below.append(child)
        level = below
        depth += 1
    return False


def content_hash(resource: dict[str, Any]) -> str:
    """The hash of what the resource says: meta.versionId and meta.lastUpdated do not count.

    orjson with sorted keys gives the canonical bytes several times faster than the json module,
    which matters on the ingest path (every resource of every page is hashed).
    Raises NestedTooDeeplyError for a resource deeper than MAX_NESTING that orjson declined
    (it stops at 255 levels; the json module would recurse until the interpreter gives up).
    """
    meta = resource.get("meta")
    if isinstance(meta, dict) and ("lastUpdated" in meta or "versionId" in meta):
        resource = {**resource, "meta": {k: v for k, v in meta.items() if k not in ("lastUpdated", "versionId")}}
    try:
        canonical = orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits, nesting beyond 255 levels, and other rarities orjson declines
        if nests_deeper_than(resource):
            raise NestedTooDeeplyError from None
        canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(canonical).hexdigest()


def _validate(resource: Any) -> Problem | None:
    if not isinstance(resource, dict):
        return Problem("An item is not a JSON object.")
    kind, resource_id = resource.get("resourceType"), resource.get("id")
    if not isinstance(kind, str) or not RESOURCE_TYPE.match(kind):
        return Problem("A resource has no valid resourceType.", str(kind)[:64] if kind else "")
    if not isinstance(resource_id, str) or not RESOURCE_ID.match(resource_id):
        return Problem("A resource has a missing or invalid id.", kind, str(resource_id)[:64] if resource_id else "")
    return None


# The projection: what reprojection re-derives from the raw JSON.
PROJECTION_FIELDS = [
    "kind",
    "effective_at",
    "code_system",
    "code",
    "display",
    "status",
    "value_number",
    "value_text",
    "unit",
    "ref_low",
    "ref_high",
    "ref_text",
    "abnormal",
    "sensitivity",
    "sensitive_category",
    "details",
    "projection_version",
]
# What a changed resource updates: its content and its projection.
UPDATE_FIELDS = ["patient", "content_hash", "version_id", "last_updated", "raw", *PROJECTION_FIELDS, "changed_at"]


def projection_fields(projection: Projection) -> dict[str, Any]:
    """The row's projection columns (cut to their lengths), stamped with the projector's version."""
    return {
        "kind": projection.kind,
        "effective_at": projection.effective_at,
        "code_system": projection.code_system[:200],
        "code": projection.code[:100],
        "display": projection.display[:500],
        "status": projection.status[:64],
        "value_number": projection.value_number,
        "value_text": projection.value_text,
        "unit": projection.unit[:64],
        "ref_low": projection.ref_low,
        "ref_high": projection.ref_high,
        "ref_text": projection.ref_text[:200],
        "abnormal": projection.abnormal,
        "sensitivity": projection.sensitivity,
        "sensitive_category": projection.sensitive_category,
        "details": projection.details,
        "projection_version": PROJECTION_VERSION,
    }


@dataclass
class PageResult:
    counts: Counts = field(default_factory=Counts)
    problems: list[Problem] = field(default_factory=list)

    def add(self, other: PageResult) -> None:
        self.counts.add(other.counts)
        self.problems.extend(other.problems)


def stored_hashes(source: RecordSource) -> dict[tuple[str, str], str]:
    """Every stored hash of one source: one query for a whole sync's pages."""
    return {
        (kind, rid): digest
        for kind, rid, digest in FhirResource.objects.filter(source=source).values_list(
            "resource_type", "resource_id", "content_hash"
        )
    }


def write_page(
    source: RecordSource,
    resources: Iterable[Any],
    *,
    resolve_conditional: bool = True,
    known: dict[tuple[str, str], str] | None = None,
) -> PageResult:
    """Classify one page against the source's stored hashes and write the new and changed rows at once.

    `known`: the stored hashes when the caller already holds them (see stored_hashes); kept up to date here.
    """
    result = PageResult()
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in resources:
        problem = _validate(resource)
        if problem is not None:
            result.problems.append(problem)
            result.counts.failed += 1
            continue
        latest[(resource["resourceType"], resource["id"])] = resource  # a repeated resource: the last one wins
    if not latest:
        return result
    if resolve_conditional:  # files may carry them; a FHIR server's search answers never do
        resolve_conditional_references(source, list(latest.values()))
    stored = (
        known
        if known is not None
        else {
            (kind, rid): digest
            for kind, rid, digest in FhirResource.objects.filter(
                source=source,
                resource_type__in={kind for kind, _ in latest},
                resource_id__in={rid for _, rid in latest},
            ).values_list("resource_type", "resource_id", "content_hash")
        }
    )
    now = timezone.now()
    rows: list[FhirResource] = []
    identifiers: list[ResourceIdentifier] = []
    for (kind, rid), resource in latest.items():
        try:
            digest = content_hash(resource)
        except NestedTooDeeplyError:
            result.problems.append(Problem(f"The resource nests more than {MAX_NESTING} levels deep.", kind, rid))
            result.counts.failed += 1
            continue
        previous = stored.get((kind, rid))
        if previous == digest:
            result.counts.unchanged += 1
            continue
        # Whatever is stored is read back, re-projected and exported later: nothing deeper than files may be.
        if nests_deeper_than(resource):
            result.problems.append(Problem(f"The resource nests more than {MAX_NESTING} levels deep.", kind, rid))
            result.counts.failed += 1
            continue
        try:
            projection = project(resource)
        except SoftTimeLimitExceeded:
            raise  # the task's time is up: that is the run's to handle, not this resource's
        except Exception as error:  # noqa: BLE001  (a resource the projector cannot read is skipped, not fatal)
            result.problems.append(Problem(f"The resource could not be read ({type(error).__name__}).", kind, rid))
            result.counts.failed += 1
            continue
        meta: dict[str, Any] = resource["meta"] if isinstance(resource.get("meta"), dict) else {}
        rows.append(
            FhirResource(
                source=source,
                patient_id=source.patient_id,
                resource_type=kind,
                resource_id=rid,
                content_hash=digest,
                version_id=str(meta.get("versionId") or "")[:64],
                last_updated=parse_instant(meta.get("lastUpdated")),
                raw=resource,
                **projection_fields(projection),
                first_seen_at=now,
                changed_at=now,
            )
        )
        if kind in IDENTIFIED_TYPES:
            identifiers.extend(
                ResourceIdentifier(source=source, resource_type=kind, system=system[:200], value=value, resource_id=rid)
                for system, value in _identifier_keys(resource)
            )
        if previous is None:
            result.counts.new += 1
        else:
            result.counts.changed += 1
    if rows:
        with transaction.atomic():
            FhirResource.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["source", "resource_type", "resource_id"],
                update_fields=UPDATE_FIELDS,
            )
            if identifiers:
                ResourceIdentifier.objects.bulk_create(identifiers, ignore_conflicts=True)
        if known is not None:
            known.update({(row.resource_type, row.resource_id): row.content_hash for row in rows})
    return result


def chunks(items: list[Any], size: int = PAGE_SIZE) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def record_page(run: ImportRun, page: PageResult, *, progress_done: int | None = None) -> None:
    """Adds a page's counts and problems to its run (progress while the run goes on)."""
    with transaction.atomic(savepoint=False):
        if page.problems:
            ImportIssue.objects.bulk_create(
                ImportIssue(run=run, resource_type=p.resource_type, resource_id=p.resource_id, message=p.message[:500])
                for p in page.problems
            )
        run.new += page.counts.new
        run.changed += page.counts.changed
        run.unchanged += page.counts.unchanged
        run.failed += page.counts.failed
        fields = ["new", "changed", "unchanged", "failed"]
        if progress_done is not None:
            run.progress_done = progress_done
            fields += ["progress_done", "progress_total"]
        run.save(update_fields=fields)


def delete_source_records(source: RecordSource) -> int:
    """Deletes every resource a source brought in (a disconnect that asks for it); returns how many."""
    deleted, _by_model = FhirResource.objects.filter(source=source).delete()
    return deleted
