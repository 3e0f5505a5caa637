"""Import runs for tests that need one to exist (the authorization matrix)."""

from __future__ import annotations

from typing import Any

from accounts.models.audit import Basis
from records.actions import upload_source
from records.models import ImportRun, RunKind, RunStatus
from tests.conftest import World


def alex_upload_run(world: World) -> dict[str, Any]:
    """URL kwargs of a file Alex added to his own record (finished): his to see, nobody else's."""
    run = ImportRun.objects.create(
        source=upload_source(patient=world.patient_record),
        kind=RunKind.UPLOAD,
        status=RunStatus.SUCCEEDED,
        requested_by=world.user("patient"),
        basis=Basis.SELF,
    )
    return {"run_id": run.pk}
