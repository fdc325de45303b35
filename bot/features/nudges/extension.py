"""A request for more time, one per offer, whatever calls for it: an exploding offer, a
deadline well before another offer's, or a deadline on a weekend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from bot.dates import fmt_date
from bot.db.pipeline_models import Offer
from bot.features.nudges.engine import Nudge, Pipeline, offer_received, offers_in_play, rule
from bot.features.pipeline.letters import WEEKEND, proposed_deadline

EXPLODING = timedelta(hours=72)
FAR_APART = timedelta(days=3)


@rule(
    "extension",
    "requests for more time on an offer",
    candidates=offers_in_play,
    instants=offer_received,
)
def extension(p: Pipeline) -> Iterator[Nudge]:
    timed = p.timed
    for offer in p.offers:
        if offer.deadline is not None and offer.deadline > p.now:
            n = _extension(p, offer, timed)
            if n is not None:
                yield n


def _extension(p: Pipeline, offer: Offer, timed: list[Offer]) -> Nudge | None:
    """The strongest reason picks the letter (exploding, then deadlines far apart, then a
    weekend deadline) and the others are mentioned in its text."""
    app, dl, received = offer.application, offer.deadline, offer.received_at
    if dl is None:
        return None
    dl_local = dl.astimezone(p.tz)
    later = [o for o in timed if o.id != offer.id and o.deadline and o.deadline - dl > FAR_APART]
    exploding = dl - received < EXPLODING
    weekend = dl_local.weekday() >= 5
    if not (exploding or later or weekend):
        return None
    monday = fmt_date(proposed_deadline(offer, [], p.now, p.tz, WEEKEND))
    also: list[str] = []
    if exploding:
        letter, variant, fire_at = "exploding", None, received
        intro = (
            f"{app.company} gives you under 72 hours. That is an exploding offer: "
            "politely ask for a real decision window."
        )
    elif later:
        letter, variant = "extension", None
        fire_at = max(received, *(o.received_at for o in later))
        intro = (
            f"{app.company}'s deadline comes well before {later[-1].application.company}'s. "
            f"Ask {app.company} for more time so that your decisions line up."
        )
    else:
        letter, variant, fire_at = "extension", WEEKEND, received
        intro = (
            f"{app.company}'s deadline falls on a {dl_local:%A}. Ask to move it to {monday}, "
            "the next business day, so that you can reach them while you decide."
        )
    if exploding and later:
        also.append(f"its deadline also comes well before {later[-1].application.company}'s")
    if (exploding or later) and weekend:
        also.append(f"it falls on a {dl_local:%A}: whatever date you ask for, make it a weekday")
    if also:
        intro += " Also: " + "; ".join(also) + "."
    make = p.letter(letter, app, "extension", f"o{offer.id}", intro, variant=variant)
    # Keyed by the day the offer came: one letter per offer, even when its reasons change.
    return Nudge("extension", f"o{offer.id}", fire_at, dl, make, received.astimezone(p.tz).date())
