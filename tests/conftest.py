"""Shared test configuration: Hypothesis profiles.

``default`` is quick enough for every run on a laptop; ``ci`` runs many more
examples and longer stateful sequences; ``mutation`` runs few, for each mutant
of a mutation run. Choose with the environment variable
``ISSUECORE_HYPOTHESIS_PROFILE`` (``.ci/run`` sets ``ci``, ``tools/mutation.py``
sets ``mutation``).
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
# Mutation runs (tools/mutation.py) test each mutant with the tests that reach it;
# boundaries are stated by explicit examples, so few random ones are needed there.
settings.register_profile("mutation", max_examples=20, stateful_step_count=20, deadline=None)
settings.load_profile(os.environ.get("ISSUECORE_HYPOTHESIS_PROFILE", "default"))
