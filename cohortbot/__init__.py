"""The composition root: the command line that builds the core and starts an adapter. It is the
only package that knows both `bot` (the neutral core) and `adapters` (the platforms)."""
