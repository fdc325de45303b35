"""Slack: a slack-bolt app on the neutral core (see bolt_app), Block Kit rendering (render),
delivery (deliver) and the app manifest generated from the command tree (manifest)."""

from adapters.slack.bolt_app import SlackBot, build_slack
from adapters.slack.deliver import SlackAdapter, SlackHandle

__all__ = ["SlackAdapter", "SlackBot", "SlackHandle", "build_slack"]
