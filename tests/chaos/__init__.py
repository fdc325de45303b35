"""Issue 15's chaos test: three `cohortbot serve` replicas against the platforms' fakes and a
PostgreSQL proxy, with SIGKILLs, database cuts and platform faults (see harness.py)."""
