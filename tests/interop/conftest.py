"""The shared FHIR corpora (../shared/fhir beside the repository): skipped with a reason when absent,
a failure when REQUIRE_SHARED=1 (CI sets it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fhir"


def shared_folder(name: str) -> Path:
    folder = SHARED / name
    if not folder.is_dir():
        reason = f"the shared FHIR corpus {folder} is not here"
        if os.environ.get("REQUIRE_SHARED") == "1":
            pytest.fail(reason + " (REQUIRE_SHARED=1)")
        pytest.skip(reason)
    return folder
