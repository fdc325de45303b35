"""One module per capability; importing this package registers every command handler."""

from importlib import import_module

FEATURES = (
    "help",
    "settings",
    "drills",
    "ask",
    "pipeline",
    "letters",
    "offers",
    "daily",
    "leaderboard",
    "plan",
    "pairing",
    "cohort",
    "nudges",
    "home",
)


def load_all() -> None:
    for name in FEATURES:
        import_module(f"bot.features.{name}")
