"""The chaos test takes minutes: it runs when chosen (`-m chaos`, as .ci/run does, or
COHORTBOT_CHAOS=1), not in every local run of the suite."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = "chaos" in (config.getoption("-m") or "") or os.environ.get("COHORTBOT_CHAOS")
    if chosen:
        return
    skip = pytest.mark.skip(reason="the chaos test runs with -m chaos (or COHORTBOT_CHAOS=1)")
    for item in items:
        if item.get_closest_marker("chaos"):
            item.add_marker(skip)
