"""Slack: a slack-bolt app on the neutral core (see bolt_app), Block Kit rendering (render),
delivery (deliver) and the app manifest generated from the command tree (manifest).

The names below are imported on first use, so that reading the Slack settings (as `cohortbot
doctor` does) or rendering does not load slack-bolt and the whole app with it."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.slack.bolt_app import SlackBot, build_slack
    from adapters.slack.deliver import SlackAdapter, SlackHandle

__all__ = ["SlackAdapter", "SlackBot", "SlackHandle", "build_slack"]

_SUBMODULE = {
    "SlackBot": "bolt_app",
    "build_slack": "bolt_app",
    "SlackAdapter": "deliver",
    "SlackHandle": "deliver",
}


def __getattr__(name: str) -> object:
    # Unknown names must raise AttributeError: `from adapters.slack import render` relies on it
    # to fall back to importing the submodule.
    if name not in _SUBMODULE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_SUBMODULE[name]}"), name)
    globals()[name] = value
    return value
