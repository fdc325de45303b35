"""Which cohort an organizer's view is about: their own, and only theirs."""

from __future__ import annotations

from bot.cohorts import CohortInfo, info_of, require_cohort
from bot.errors import NotAllowed
from bot.router import Ctx
from bot.text import as_id


def organizer_cohort(ctx: Ctx, cohort_id: str | None = None) -> CohortInfo:
    """The cohort the member organizes: with several in a workspace, the one they set up or
    joined. Buttons are checked here too (the router checks only commands): a forwarded
    button never shows one cohort's members to another cohort's organizer."""
    if not ctx.member.is_admin:
        raise NotAllowed("Only the cohort's organizers can see that.")
    cohort = require_cohort(ctx.session, ctx.member)
    if cohort_id is not None and as_id(cohort_id) != cohort.id:
        raise NotAllowed("That view belongs to another cohort's organizers.")
    return info_of(ctx.session, cohort)
