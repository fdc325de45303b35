"""Every declared command has a handler and every handler a command; every button and form a
reply can carry has its handler, and every button and form handler is reachable from a reply.

A command left without its handler still parses, so the flows notice only where one of them
happens to use it; this compares the sets themselves. Buttons and forms are found where the
code builds them (`Button("action", ...)`, `Form("action", ...)`), read from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot import commands, features, router

ROOT = Path(__file__).resolve().parents[1]
# Built by the Slack adapter rather than by a reply: the App Home tab opens with this action.
ADAPTER_ACTIONS = {"home.show"}


@pytest.fixture(scope="module", autouse=True)
def loaded() -> None:
    features.load_all()


# Calls that build buttons for the action they are given first: `pages.buttons("x.page", ...)`.
BUTTON_MAKERS = {("pages", "buttons")}


def _called(node: ast.Call, kind: str) -> bool:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id == kind
    if kind == "Button" and isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        return (f.value.id, f.attr) in BUTTON_MAKERS
    return False


def _literal_first_args(kind: str) -> set[str]:
    """The string each `kind(...)` call under bot/ starts with (its action name)."""
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and _called(node, kind)):
                continue
            first = node.args[0] if node.args else None
            for kw in node.keywords:
                if kw.arg == "action":
                    first = kw.value
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def test_every_declared_command_has_a_handler_and_every_handler_a_command() -> None:
    declared = set(commands.all_paths())
    handled = router.registered_paths()
    assert not declared - handled, f"declared without a handler: {sorted(declared - handled)}"
    assert not handled - declared, f"handled but never declared: {sorted(handled - declared)}"
    assert len(declared) == len(commands.all_paths()), "a command path is declared twice"


def test_every_button_has_a_handler_and_every_action_a_button() -> None:
    built = _literal_first_args("Button")
    handled = router.registered_actions()
    assert built, "no Button(...) found under bot/: the scan is broken"
    assert not built - handled, f"buttons nobody handles: {sorted(built - handled)}"
    unused = handled - built - ADAPTER_ACTIONS
    assert not unused, f"action handlers no reply's button reaches: {sorted(unused)}"


def test_every_form_has_a_handler_and_every_form_handler_a_form() -> None:
    built = _literal_first_args("Form")
    handled = set(router._FORMS)  # no public listing of forms yet; the registry itself
    assert built, "no Form(...) found under bot/: the scan is broken"
    assert built == handled, f"forms without handler: {sorted(built - handled)}; " + (
        f"handlers without form: {sorted(handled - built)}"
    )
