"""Re-deriving stored projections from the raw JSON, after the projector changed.

Rows carry the PROJECTION_VERSION that projected them; a newer projector
(projections.PROJECTION_VERSION raised) leaves the older rows to this pass:
`python manage.py reproject` or the records.reproject task. Batches go by id
(keyset pagination, so each batch is one index range however large the
table), and each batch is one transaction that locks its rows, so that a sync
writing the same rows meanwhile waits rather than having its fresh projection
overwritten by one derived from the JSON it replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.db import transaction

from records.ingest import PROJECTION_FIELDS, projection_fields
from records.models import FhirResource
from records.projections import PROJECTION_VERSION, project

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500


@dataclass
class ReprojectCounts:
    examined: int = 0
    updated: int = 0  # the projection or its version changed
    unchanged: int = 0  # looked at (with --all) and already what the projector gives
    failed: int = 0  # the projector could not read the raw JSON; the row keeps its old projection

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def reproject(
    *,
    all_rows: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[ReprojectCounts], None] | None = None,
) -> ReprojectCounts:
    """Re-projects rows older than PROJECTION_VERSION (every row with `all_rows`), `batch_size` at a time."""
    counts = ReprojectCounts()
    rows = FhirResource.objects.order_by("pk").only("pk", "raw", *PROJECTION_FIELDS)
    if not all_rows:
        rows = rows.filter(projection_version__lt=PROJECTION_VERSION)
    after = 0
    while True:
        with transaction.atomic():
            batch = list(rows.select_for_update().filter(pk__gt=after)[: max(1, batch_size)])
            if not batch:
                break
            after = batch[-1].pk
            changed = [row for row in batch if _reprojected(row, counts)]
            if changed:
                FhirResource.objects.bulk_update(changed, PROJECTION_FIELDS)
        if on_batch is not None:
            on_batch(counts)
    return counts


def _reprojected(row: FhirResource, counts: ReprojectCounts) -> bool:
    """Sets the row's projection from its raw JSON; whether anything changed."""
    counts.examined += 1
    try:
        fields = projection_fields(project(row.raw))
    except Exception as error:  # noqa: BLE001  (as at ingest: a resource the projector cannot read is skipped)
        logger.warning("Resource row %s could not be re-projected: %s", row.pk, type(error).__name__)
        counts.failed += 1
        return False
    if all(getattr(row, name) == value for name, value in fields.items()):
        counts.unchanged += 1
        return False
    for name, value in fields.items():
        setattr(row, name, value)
    counts.updated += 1
    return True
