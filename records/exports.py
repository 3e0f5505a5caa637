"""The record as a FHIR Bundle: what an actor may see, for downloads and sharing."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.utils import timezone

from accounts.actors import Actor
from records.selectors import visible_to


def _entry_uuid(source_id: int, resource_type: str, resource_id: str) -> uuid.UUID:
    """A stable id per stored resource: the same id may come from two sources, so the source is part of it."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{source_id}/{resource_type}/{resource_id}")


def record_bundle(actor: Actor, *, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """A Bundle of type collection holding every resource the actor may read, optionally within dates.

    With a date range, only resources whose date falls within it (both days included) are in it.
    """
    rows = visible_to(actor).order_by("effective_at", "pk")
    if start is not None:
        rows = rows.filter(effective_at__date__gte=start)
    if end is not None:
        rows = rows.filter(effective_at__date__lte=end)
    entries = [
        {"fullUrl": f"urn:uuid:{_entry_uuid(row.source_id, row.resource_type, row.resource_id)}", "resource": row.raw}
        for row in rows.only("source_id", "resource_type", "resource_id", "raw")
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timezone.now().isoformat(timespec="seconds"),
        "entry": entries,
    }
