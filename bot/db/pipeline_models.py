"""Pipeline tables: applications, stage history, interviews, offers (issue 4)."""

from __future__ import annotations
