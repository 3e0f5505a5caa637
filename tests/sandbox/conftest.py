"""The sandbox's own tests share one data folder (made once per module) and a fresh sandbox per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fhir_sandbox.server import RunningSandbox, start
from tests.sandbox.test_sandbox import config_for, write_fixtures


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandbox-data")
    write_fixtures(root)
    return root


@pytest.fixture
def sandbox(data_dir: Path) -> Iterator[RunningSandbox]:
    running = start(config_for(data_dir))
    yield running
    running.stop()
