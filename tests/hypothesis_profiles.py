"""Hypothesis settings for the property tests: "ci" for CI, "dev" everywhere else.

HYPOTHESIS_PROFILE picks one (.ci/run sets "ci"). Without it, a run that Hypothesis recognises as CI
(the CI variable and the like) gets "ci" too, and any other run gets "dev".
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from hypothesis import settings

# Hypothesis loads its "ci" profile by itself when it sees a CI environment; remember that before we load ours.
_SEEN_AS_CI = settings.get_current_profile_name() == "ci"

# Hypothesis' own "ci" profile (derandomized, no deadline, no example database, failure blobs printed,
# the too-slow health check off), with a fixed number of examples: the same 200 cases on every run.
settings.register_profile("ci", settings.get_profile("ci"), max_examples=200)
# The default number of random examples, with the database in .hypothesis/ (ignored by git) replaying
# earlier failures. No deadline in either: the shared 2-core machine is too noisy for per-example timing.
# Its parent is named: without one, a profile inherits whatever profile is loaded at the time.
settings.register_profile("dev", settings.get_profile("default"), deadline=None)


def load_profile(environ: Mapping[str, str] = os.environ) -> str:
    """Load the profile the environment asks for; return its name. An unknown name is an error."""
    name = environ.get("HYPOTHESIS_PROFILE") or ("ci" if _SEEN_AS_CI else "dev")
    settings.load_profile(name)
    return name
