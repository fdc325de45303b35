"""Data layer: typed models, engine and session handling, migrations."""
