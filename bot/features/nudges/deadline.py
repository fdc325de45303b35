"""Offer deadline reminders: about 3 days and 1 day before, and the morning of."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.dates import fmt_when
from bot.db.models import MemberSettings
from bot.db.pipeline_models import Application, Offer
from bot.features.nudges.engine import (
    Nudge,
    Pipeline,
    nudge_buttons,
    offers_in_play,
    rule,
    sensible,
)
from bot.jobs import JobEnv
from bot.types import Reply

BEFORE = (("3d", timedelta(days=3)), ("1d", timedelta(days=1)))
MORNING = time(8, 0)


def _morning_of(deadline: datetime, tz: ZoneInfo) -> datetime:
    return datetime.combine(deadline.astimezone(tz).date(), MORNING, tzinfo=tz)


def _instants(session: Session, env: JobEnv, after: datetime) -> Iterable[datetime]:
    # The latest instant of a deadline is the morning of its day, less than a day after it.
    for deadline, zone in session.execute(
        select(Offer.deadline, MemberSettings.timezone)
        .join(MemberSettings, MemberSettings.member_id == Offer.member_id)
        .where(Offer.deadline > after - timedelta(days=1))
    ):
        if deadline is None:  # excluded above; for the type checker
            continue
        morning = _morning_of(deadline, ZoneInfo(zone))
        yield from (deadline - timedelta(days=3), deadline - timedelta(days=1), morning, deadline)


def _superseded(n: Nudge, due: list[Nudge], now: datetime) -> bool:
    """A snoozed deadline reminder is not sent again once a later one for the same offer is
    due (the 3-day one on the eve of the deadline, say): that one says it better."""
    offer = n.subject.split("-")[0]
    return any(
        o.kind == "deadline" and o.subject.split("-")[0] == offer and n.fire_at < o.fire_at <= now
        for o in due
    )


@rule(
    "deadline",
    "offer deadline reminders",
    candidates=offers_in_play,
    instants=_instants,
    superseded=_superseded,
)
def deadline(p: Pipeline) -> Iterator[Nudge]:
    tz = p.tz
    for offer in p.offers:
        dl, received = offer.deadline, offer.received_at
        if dl is None or dl <= p.now:
            continue
        dl_local = dl.astimezone(tz)
        morning = _morning_of(dl, tz)
        has_morning = received < morning < dl
        for label, before in BEFORE:
            # An evening deadline's "1 day" reminder, moved out of the night, lands on the
            # deadline's own morning: the morning-of reminder says it, once.
            same_day = sensible(dl - before, tz).astimezone(tz).date() >= dl_local.date()
            if dl - received > before and not (has_morning and same_day):
                yield Nudge(
                    "deadline",
                    f"o{offer.id}-{label}",
                    dl - before,
                    dl,
                    partial(_reply, offer.application, offer, label, tz),
                    dl_local.date(),
                )
        if has_morning:
            yield Nudge(
                "deadline",
                f"o{offer.id}-day",
                morning,
                dl,
                partial(_reply, offer.application, offer, "day", tz),
                dl_local.date(),
            )


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _reply(app: Application, offer: Offer, label: str, tz: ZoneInfo, at: datetime) -> Reply:
    """A deadline reminder as of `at`, when it is sent: a snoozed one that comes back a day
    later counts the days left from then, not from when it was first due."""
    assert offer.deadline is not None
    when = fmt_when(offer.deadline, tz)
    left = (offer.deadline.astimezone(tz).date() - at.astimezone(tz).date()).days
    if label == "day" or left <= 0:
        return Reply(
            f"Today is the day: your offer from {app.company} expires {when}. Never accept "
            "on the spot; if you need more time, ask before the deadline, with a reason "
            "and a business day.",
            title="Offer deadline today",
            buttons=nudge_buttons("deadline", f"o{offer.id}-{label}"),
        )
    return Reply(
        f"Your offer from {app.company} expires {when}. Decide, or ask for more "
        f"time now: /letter extension {app.company}",
        title=f"Offer deadline in {_days(left)}",
        buttons=nudge_buttons("deadline", f"o{offer.id}-{label}"),
    )
