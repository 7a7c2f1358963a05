"""Hypothesis profiles for loopsync's property tests.

``ci`` (the default) is derandomized and small, so every run checks the same
examples; ``stress`` (``nox -s stress``) explores many more. The profile is chosen by
the ``HYPOTHESIS_PROFILE`` environment variable.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None)
settings.register_profile("stress", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
