"""One package per capability. A package declares its commands in `commands.py` (a `COMMANDS`
tuple, which `bot/commands.py` joins into the tree) and registers their handlers, button
actions, forms and jobs in its other modules; `load_all` imports every module of every package,
so a new module or a new command needs no list to be edited anywhere else."""

from __future__ import annotations

import pkgutil
from importlib import import_module

# The order help lists the packages' commands in. Adding a capability is adding its name here.
PACKAGES = ("help", "drills", "pipeline", "cohort", "organizer", "settings", "nudges", "home")


def load_all() -> None:
    for package in PACKAGES:
        pkg = import_module(f"bot.features.{package}")
        for info in pkgutil.iter_modules(pkg.__path__):
            import_module(f"bot.features.{package}.{info.name}")
