"""Shared test configuration: Hypothesis profiles.

``default`` is quick enough for every run on a laptop; ``ci`` runs many more
examples and longer stateful sequences. Choose with the environment variable
``ISSUECORE_HYPOTHESIS_PROFILE`` (``.ci/run`` sets ``ci``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=100, stateful_step_count=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=250,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("ISSUECORE_HYPOTHESIS_PROFILE", "default"))
