"""Discord adapter (discord.py): app commands from the core's tree, Embeds + persistent Views.

Submodules are imported where used, so that `cohortbot --help` does not load discord.py."""
