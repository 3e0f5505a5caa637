"""The property tests run under a named Hypothesis profile: "ci" reproducible, "dev" random."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings
from hypothesis.errors import InvalidArgument

from tests.hypothesis_profiles import load_profile


@pytest.fixture(autouse=True)
def _restore_profile() -> Iterator[None]:
    before = settings.get_current_profile_name()
    yield
    settings.load_profile(before)


def test_ci_profile_is_reproducible_and_fixed_in_size() -> None:
    assert load_profile({"HYPOTHESIS_PROFILE": "ci"}) == "ci"
    assert settings.default is not None
    assert settings.default.derandomize
    assert settings.default.max_examples == 200
    assert settings.default.deadline is None
    assert settings.default.database is None
    assert settings.default.print_blob


def test_dev_profile_is_random_without_a_deadline() -> None:
    assert load_profile({"HYPOTHESIS_PROFILE": "dev"}) == "dev"
    assert settings.default is not None
    assert not settings.default.derandomize
    assert settings.default.max_examples == 100
    assert settings.default.deadline is None


def test_an_unknown_profile_is_an_error() -> None:
    with pytest.raises(InvalidArgument):
        load_profile({"HYPOTHESIS_PROFILE": "fast"})


def test_the_run_uses_the_profile_the_environment_names() -> None:
    # conftest loaded it: .ci/run sets HYPOTHESIS_PROFILE=ci; unset, it is "dev" (or "ci" where Hypothesis sees CI).
    asked = os.environ.get("HYPOTHESIS_PROFILE")
    assert settings.get_current_profile_name() in ({asked} if asked else {"ci", "dev"})
