"""The shape the code keeps: no import cycle, a core that knows no platform, and feature
packages that depend on each other one way only. Read from the import graph (grimp, which
import-linter is built on), function-level imports included."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import grimp
import pytest

PLATFORM_PACKAGES = ("adapters", "slack_bolt", "slack_sdk", "discord")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        "bot",
        "adapters",
        "cohortbot",
        include_external_packages=True,
        exclude_type_checking_imports=True,
    )


def cycles(nodes: Iterable[str], edges: Callable[[str], set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def ours(graph: grimp.ImportGraph) -> set[str]:
    return {m for m in graph.modules if m.split(".")[0] in ("bot", "adapters", "cohortbot")}


def test_no_module_import_cycle(graph: grimp.ImportGraph) -> None:
    mods = ours(graph)

    def edges(m: str) -> set[str]:
        return graph.find_modules_directly_imported_by(m) & mods

    assert cycles(mods, edges) == []


def test_feature_packages_depend_on_each_other_one_way(graph: grimp.ImportGraph) -> None:
    def package(m: str) -> str:
        parts = m.split(".")
        return ".".join(parts[:3]) if parts[:2] == ["bot", "features"] and len(parts) > 2 else ""

    features = {package(m) for m in ours(graph)} - {""}

    def edges(p: str) -> set[str]:
        out: set[str] = set()
        for m in ours(graph):
            if package(m) == p:
                out |= {package(t) for t in graph.find_modules_directly_imported_by(m)}
        return (out & features) - {p}

    assert cycles(features, edges) == []


def test_the_core_imports_no_platform(graph: grimp.ImportGraph) -> None:
    core = {m for m in graph.modules if m == "bot" or m.startswith("bot.")}
    leaks = sorted(
        f"{m} imports {t}"
        for m in core
        for t in graph.find_modules_directly_imported_by(m)
        if t.split(".")[0] in PLATFORM_PACKAGES
    )
    assert leaks == []


def test_the_check_sees_a_cycle_and_a_leak() -> None:
    """The checks above can fail: a two-module cycle and a chain are told apart."""
    two = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert cycles(two, lambda m: two[m]) == [["a", "b"]]
    chain = {"a": {"b"}, "b": {"c"}, "c": set()}
    assert cycles(chain, lambda m: chain[m]) == []
