"""Adapters that connect the neutral core to a console, Slack or Discord."""
