"""Alternatives letters: when an offer lands, one letter per other company in process, telling
them and asking them to speed up; two days later, one reminder of those not marked sent."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session

from bot.db.pipeline_models import Application, Offer
from bot.features.nudges.engine import (
    Nudge,
    Pipeline,
    first_after,
    nudge_buttons,
    offer_received,
    offers_in_play,
    rule,
)
from bot.features.pipeline.queries import in_process_of
from bot.jobs import JobEnv
from bot.types import Button, Reply

REMIND_AFTER = timedelta(days=2)


def _targets(p: Pipeline, offer: Offer) -> list[Application]:
    """The member's other companies in process, still worth writing to."""
    others = in_process_of(p.apps, exclude=offer.application.id)
    return [t for t in others if p.live(t)]


@rule(
    "alternatives",
    "alternatives letters",
    candidates=offers_in_play,
    instants=offer_received,
)
def alternatives(p: Pipeline) -> Iterator[Nudge]:
    for offer in p.offers:
        app, received = offer.application, offer.received_at
        for t in _targets(p, offer):
            subject = f"o{offer.id}-a{t.id}"
            letter = p.letter(
                "alternatives",
                t,
                "alternatives",
                subject,
                f"You have an offer from {app.company}: tell {t.company} and ask them "
                "to speed up. Press Sent once it is out.",
                (Button("nudge.altsent", f"{offer.id}:{t.id}", "Sent", "primary"),),
                offer_app=app,
            )
            yield Nudge(
                "alternatives",
                subject,
                received,
                received + timedelta(days=3),
                letter,
                received.astimezone(p.tz).date(),
            )


def _reminder_instants(session: Session, env: JobEnv, after: datetime) -> Iterable[datetime]:
    return first_after(session, Offer.received_at, after, REMIND_AFTER)


@rule(
    "alternatives-reminder",
    "alternatives reminders",
    candidates=offers_in_play,
    instants=_reminder_instants,
)
def alternatives_reminder(p: Pipeline) -> Iterator[Nudge]:
    for offer in p.offers:
        targets = _targets(p, offer)
        if not targets:
            continue
        received = offer.received_at
        pending = [t for t in targets if ("alternatives", f"o{offer.id}-a{t.id}") not in p.done]
        yield Nudge(
            "alternatives-reminder",
            f"o{offer.id}",
            received + REMIND_AFTER,
            received + timedelta(days=5),
            partial(_reminder, offer, pending) if pending else lambda at: None,
            received.astimezone(p.tz).date(),
        )


def _reminder(offer: Offer, pending: list[Application], at: datetime) -> Reply:
    names = ", ".join(a.company for a in pending)
    return Reply(
        f"Your offer from {offer.application.company} only helps if the others know about it. "
        f"Not marked sent yet: {names}. Type /letter alternatives for the letters.",
        title="Alternatives letters: a reminder",
        buttons=nudge_buttons("alternatives-reminder", f"o{offer.id}"),
    )
