"""Every third-party module the wheel's code imports comes from a distribution that pyproject's
[project] dependencies name. The wheel test (tests/test_packaging.py) runs the installed wheel
beside exactly what those requirements bring in, which shows they suffice for what it runs;
this reads every import of every shipped module, run or not, and asks that each be declared
in its own right, not reached through another package that may drop it."""

from __future__ import annotations

import ast
import functools
import importlib.metadata as md
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent

# What the wheel ships as code: its packages, and the migrations it carries as data and runs.
SHIPPED = ("bot", "adapters", "cohortbot", "migrations")
FIRST_PARTY = {"bot", "adapters", "cohortbot"}


def _imports() -> dict[str, list[str]]:
    """Top-level module -> where it is imported (path:line), for every absolute import."""
    found: dict[str, list[str]] = {}
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.setdefault(name.partition(".")[0], []).append(where)
    return found


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {canonicalize_name(Requirement(line).name) for line in project["dependencies"]}


@functools.cache
def _third_party() -> dict[str, list[str]]:
    return {
        module: where
        for module, where in _imports().items()
        if module not in sys.stdlib_module_names and module not in FIRST_PARTY
    }


def test_the_scan_sees_the_shipped_imports() -> None:
    # A scan that found nothing would pass the test below whatever pyproject said.
    third_party = _third_party()
    assert {"sqlalchemy", "alembic", "pydantic", "yaml", "slack_bolt", "discord"} <= set(
        third_party
    )
    assert any(w.startswith("migrations/versions/") for w in third_party["alembic"])


def test_every_third_party_import_is_a_declared_dependency() -> None:
    declared = _declared()
    providers = md.packages_distributions()
    third_party = _third_party()
    undeclared = []
    for module, where in sorted(third_party.items()):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & declared:
            undeclared.append(
                f"{module} ({', '.join(sorted(dists)) or 'no distribution'}): "
                f"{', '.join(where[:3])}"
            )
    assert not undeclared, "imported but not in [project] dependencies:\n" + "\n".join(undeclared)
