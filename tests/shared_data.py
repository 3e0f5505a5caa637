"""The shared test data (../shared beside the repository): a test that needs it is skipped with a reason
when it is absent, and fails instead when REQUIRE_SHARED=1 (CI sets it, so absence never passes silently)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fhir"


def require_shared(path: Path) -> Path:
    """`path` under the shared folder, or skip (fail under REQUIRE_SHARED=1) saying what is missing."""
    if not path.exists():
        reason = f"the shared test data {path} is not here"
        if os.environ.get("REQUIRE_SHARED") == "1":
            pytest.fail(reason + " (REQUIRE_SHARED=1)")
        pytest.skip(reason)
    return path


def shared_folder(name: str) -> Path:
    return require_shared(SHARED / name)
