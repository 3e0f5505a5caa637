"""Reading FHIR JSON from disk into plain dicts, and the small amount of date logic search needs.

Nothing here knows about HTTP or tokens: it turns files (Bundles of any type,
single resources, NDJSON) into resources with ids, meta and ordinary
`Type/id` references, the way a real server would hold them after import.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

Resource = dict[str, Any]
Key = tuple[str, str]  # (resourceType, id)

VALID_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
CONDITIONAL_REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)\?identifier=(.+)$")
# Where a resource names its patient. Claim and ExplanationOfBenefit use `patient`, Coverage `beneficiary`.
PATIENT_FIELDS = ("subject", "patient", "beneficiary")


def now_instant() -> str:
    """Now as a FHIR instant with milliseconds, the precision most servers report."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    """A FHIR dateTime or instant as an aware datetime; a value without a zone is read as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def date_range(text: str) -> tuple[datetime, datetime]:
    """The period a search value names, [start, end): a year, month, day, second or finer, by its precision."""
    if re.fullmatch(r"\d{4}", text):
        start = datetime(int(text), 1, 1, tzinfo=UTC)
        return start, start.replace(year=start.year + 1)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        year, month = map(int, text.split("-"))
        return datetime(year, month, 1, tzinfo=UTC), datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    start = parse_instant(text)
    if "T" not in text:
        return start, start + timedelta(days=1)
    fraction = re.search(r"\.(\d+)", text)
    step = timedelta(seconds=10 ** -len(fraction.group(1))) if fraction else timedelta(seconds=1)
    return start, start + max(step, timedelta(microseconds=1))


def date_matcher(value: str) -> Callable[[datetime], bool]:
    """A test for one `_lastUpdated` value such as `ge2024-01-01` (prefixes eq, ge, gt, le, lt)."""
    prefix, text = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
    start, end = date_range(text)
    tests: dict[str, Callable[[datetime], bool]] = {
        "eq": lambda t: start <= t < end,
        "ge": lambda t: t >= start,
        "gt": lambda t: t >= end,
        "le": lambda t: t < end,
        "lt": lambda t: t < start,
    }
    if prefix not in tests:
        raise ValueError(f"unsupported date prefix {prefix!r} (use eq, ge, gt, le or lt)")
    return tests[prefix]


def read_paths(paths: Iterable[Path]) -> Iterator[tuple[Resource, str | None, str]]:
    """Every resource in these files or folders: (resource, fullUrl if it came from a Bundle, file timestamp).

    Folders are read recursively in name order, so ids derived from content are
    stable from one start to the next. JSON documents without a resourceType are
    skipped (a config file may sit next to the data).
    """
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".json", ".ndjson"))
        else:
            files = [path]
        for file in files:
            stamp = datetime.fromtimestamp(file.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            text = file.read_text("utf-8")
            documents = (
                [json.loads(line) for line in text.splitlines() if line.strip()]
                if file.suffix == ".ndjson"
                else [json.loads(text)]
            )
            for document in documents:
                for resource, full_url in unpack(document):
                    yield resource, full_url, stamp


def unpack(document: Any) -> Iterator[tuple[Resource, str | None]]:
    """The resources of a Bundle (any type), or the document itself if it is a single resource."""
    if not isinstance(document, dict) or "resourceType" not in document:
        return
    if document["resourceType"] != "Bundle":
        yield document, None
        return
    for entry in document.get("entry", []):
        resource = entry.get("resource")
        if (
            isinstance(resource, dict)
            and "resourceType" in resource
            and entry.get("search", {}).get("mode") != "outcome"
        ):
            yield resource, entry.get("fullUrl")


def stable_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def prepare(items: Iterable[tuple[Resource, str | None, str]]) -> list[Resource]:
    """Give each resource an id and meta, and turn `urn:uuid:` references into `Type/id`.

    A resource keeps its own id; without one it takes the uuid of its fullUrl, or
    a hash of its content. meta.lastUpdated defaults to the given timestamp.
    """
    aliases: dict[str, str] = {}
    resources = []
    for resource, full_url, stamp in items:
        temporary = full_url if full_url and full_url.startswith("urn:") else None
        if not resource.get("id"):
            tail = temporary.rsplit(":", 1)[-1] if temporary else ""
            resource["id"] = (
                tail if VALID_ID.fullmatch(tail) else stable_id(temporary or json.dumps(resource, sort_keys=True))
            )
        if temporary:
            aliases[temporary] = f"{resource['resourceType']}/{resource['id']}"
        meta = resource.setdefault("meta", {})
        meta.setdefault("lastUpdated", stamp)
        meta.setdefault("versionId", "1")
        resources.append(resource)
    for resource in resources:
        for holder in references(resource):
            holder["reference"] = aliases.get(holder["reference"], holder["reference"])
    return resources


def references(node: Any) -> Iterator[dict[str, Any]]:
    """Every Reference-shaped dict (one with a string `reference`) anywhere inside a resource."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node
        for value in node.values():
            if isinstance(value, dict | list):
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def resolve_conditional(resources: Iterable[Resource], index: dict[tuple[str, str], str]) -> None:
    """Rewrite `Practitioner?identifier=system|value` references to `Practitioner/id` where the target is known.

    Synthea's newer bundles point at shared reference data this way; the index maps
    (type, "system|value") to an id.
    """
    for resource in resources:
        for holder in references(resource):
            match = CONDITIONAL_REFERENCE.match(holder["reference"])
            if match and (found := index.get((match[1], unquote(match[2])))):
                holder["reference"] = f"{match[1]}/{found}"


def identifier_keys(resource: Resource) -> Iterator[tuple[str, str]]:
    """(type, "system|value") for each identifier, the key conditional references look up."""
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("value"):
            yield resource["resourceType"], f"{identifier.get('system', '')}|{identifier['value']}"


def reference_key(reference: str) -> Key | None:
    """(type, id) of a literal reference, relative or absolute; None for contained or conditional ones."""
    parts = reference.split("/_history/")[0].split("/")
    if len(parts) < 2 or "?" in reference or reference.startswith("#"):
        return None
    return parts[-2], parts[-1]


def patient_of(resource: Resource) -> str | None:
    """The id of the patient a resource belongs to, or None for shared reference data."""
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    for field in PATIENT_FIELDS:
        value = resource.get(field)
        if isinstance(value, list):  # e.g. Account.subject
            value = value[0] if value else None
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            match = PATIENT_REFERENCE.search(value["reference"])
            if match:
                return match[1]
    return None
