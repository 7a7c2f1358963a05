"""Testing support: the pytest plugin and (soon) the virtual clock.

The pytest plugin lives in :mod:`loopcore.testing.pytest_plugin`; it is declared as
an entry point but stays inactive until a project opts in (``loopcore_mode =
"auto"`` in its pytest configuration, or ``@pytest.mark.loopcore`` on a test).
"""

from __future__ import annotations

__all__: list[str] = []
