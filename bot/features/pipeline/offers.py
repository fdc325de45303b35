"""/offer: every offer side by side, scored on the four factors that matter beyond pay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import pages
from bot.dates import fmt_when
from bot.db.pipeline_models import Application, Offer, OfferWeights
from bot.errors import UserError
from bot.features.pipeline.handlers import money, offer_summary, own, resolve, verb
from bot.features.pipeline.queries import open_offers, weights_of
from bot.router import Ctx, action, command, form
from bot.text import plural
from bot.types import Button, Field, Form, FormField, Outbound, Reply

# Factor key -> how it reads; the keys match the Offer.score_* and OfferWeights columns.
FACTORS: dict[str, str] = {
    "career": "career fit",
    "culture": "culture",
    "strategy": "strategy and health",
    "manager": "manager and team",
}
# Deadlines further apart than this cannot be decided together without asking for time.
FAR_APART = timedelta(days=3)


@dataclass(frozen=True)
class Scored:
    offer: Offer
    score: float | None  # weighted 1-5, None until all four factors are rated

    @property
    def company(self) -> str:
        return self.offer.application.company


def scores_of(offer: Offer) -> dict[str, int | None]:
    return {f: getattr(offer, f"score_{f}") for f in FACTORS}


def weighted_score(offer: Offer, weights: OfferWeights) -> float | None:
    """The member's weighted average on the four factors, or None if any is unrated."""
    scores = scores_of(offer)
    w = {f: int(getattr(weights, f)) for f in FACTORS}
    if any(v is None for v in scores.values()) or sum(w.values()) == 0:
        return None
    return sum(w[f] * int(scores[f] or 0) for f in FACTORS) / sum(w.values())


def far_apart(offers: list[Offer], gap: timedelta = FAR_APART) -> list[tuple[Offer, Offer]]:
    """(earlier, latest) pairs: each offer whose deadline is more than `gap` before the latest
    deadline; the earlier one should ask for more time."""
    dated = [o for o in offers if o.deadline]
    if len(dated) < 2:
        return []
    latest = max(dated, key=lambda o: o.deadline)  # type: ignore[arg-type,return-value]
    assert latest.deadline is not None
    return [
        (o, latest)
        for o in dated
        if o is not latest and o.deadline is not None and latest.deadline - o.deadline > gap
    ]


def _cash(offer: Offer) -> int | None:
    if offer.base is None:
        return None
    return offer.base + (offer.bonus or 0)


def leader(ranked: list[Scored]) -> tuple[Scored | None, str]:
    """Which offer leads, and a sentence saying why."""
    rated = [s for s in ranked if s.score is not None]
    if rated:
        rated.sort(key=lambda s: s.score or 0, reverse=True)
        top = rated[0]
        if len(rated) == 1:
            why = f"{top.company} is the only offer you have rated ({top.score:.1f} of 5)."
            return top, why + " Rate the others with /offer rate <company>."
        second = rated[1]
        if abs((top.score or 0) - (second.score or 0)) < 0.05:
            return None, (
                f"{top.company} and {second.company} are level on your scores "
                f"({top.score:.1f}); the numbers and the deadlines will have to decide."
            )
        ahead = [
            FACTORS[f]
            for f in FACTORS
            if (scores_of(top.offer)[f] or 0) > (scores_of(second.offer)[f] or 0)
        ]
        why = (
            f"{top.company} leads with {top.score:.1f} of 5 against {second.company}'s "
            f"{second.score:.1f}"
        )
        why += f", ahead on {', '.join(ahead)}." if ahead else "."
        return top, why
    cash = [(s, _cash(s.offer)) for s in ranked if _cash(s.offer) is not None]
    currencies = {s.offer.currency for s, _ in cash}
    if len(cash) >= 2 and len(currencies) == 1:
        cash.sort(key=lambda p: p[1] or 0, reverse=True)
        top = cash[0][0]
        return top, (
            f"On pay alone, {top.company} leads ({money(cash[0][1], top.offer.currency)} base "
            "plus bonus). Pay is one part of it: rate each offer with /offer rate <company>."
        )
    return None, "Rate each offer with /offer rate <company> to see which one leads."


# Offers per page: each is a card of about 300 characters (pay, deadline, the four scores);
# the deadline advice for the offers on the page comes with them (bot/pages.py).
COMPARE_PAGE = 8


def compare_page(ctx: Ctx, page: int) -> Reply:
    """One page of the member's offers side by side; which one leads (of them all) on every
    page, and the deadlines to ask to move next to the offers they are about."""
    offers = open_offers(ctx.session, ctx.member.id)
    if not offers:
        return Reply(
            "You have no open offer yet. When one comes: /pipeline offer <company> "
            "deadline <when> base <amount>."
        )
    # The same order on every press: by deadline (none last), then as received.
    offers.sort(
        key=lambda o: (o.deadline is None, o.deadline or o.received_at, o.received_at, o.id)
    )
    weights = weights_of(ctx.session, ctx.member.id)
    ranked = [Scored(o, weighted_score(o, weights)) for o in offers]
    top, why = leader(ranked)
    advice: dict[int, str] = {}
    for early, late in far_apart(offers):
        assert early.deadline and late.deadline
        gap = (late.deadline - early.deadline).days
        advice[early.id] = (
            f"{early.application.company}'s deadline ({fmt_when(early.deadline, ctx.tz)}) is "
            f"{plural(gap, 'day')} before {late.application.company}'s: ask "
            f"{early.application.company} for more time so you can decide together "
            f"(/letter extension {early.application.company})."
        )
    cards: list[Field] = []
    for s in ranked:
        o = s.offer
        parts = [offer_summary(ctx, o.application)]
        if o.deadline:
            days = (o.deadline - ctx.now).total_seconds() / 86400
            parts.append(f"{days:.0f} days left" if days >= 1 else "less than a day left")
        rated = ", ".join(f"{FACTORS[f]} {v if v else '?'}" for f, v in scores_of(o).items())
        parts.append(f"scores: {rated}")
        parts.append(f"overall {s.score:.1f} of 5" if s.score is not None else "not fully rated")
        marker = " (leads)" if top is s else ""
        cards.append(Field(f"{s.company}{marker}", "\n".join(parts), inline=True))
    sizes = [
        len(c.name) + len(c.value) + len(advice.get(s.offer.id, ""))
        for c, s in zip(cards, ranked, strict=True)
    ]
    split = pages.split(sizes, COMPARE_PAGE)
    page = pages.clamp(page, len(split))
    shown = split[page - 1]
    fields = tuple(cards[i] for i in shown)
    lines = [f"{f.name}: " + f.value.replace("\n", "; ") for f in fields]
    notes = [why, *(advice[ranked[i].offer.id] for i in shown if ranked[i].offer.id in advice)]
    title = f"Your offers: {len(offers)}"
    if len(split) > 1:
        title += f", {pages.of(page, len(split))}"
    w = ", ".join(f"{FACTORS[f]} {getattr(weights, f)}" for f in FACTORS)
    return Reply(
        "\n".join([*lines, *notes]),
        title=title,
        fields=fields,
        lead="\n".join(notes),  # the offers themselves are the fields
        footer=f"Only you can see this. Weights: {w} (change with /offer weights).",
        buttons=pages.buttons("offer.page", ctx.member.id, page, len(split)),
    )


@command("offer compare")
def offer_compare(ctx: Ctx) -> Reply:
    return compare_page(ctx, 1)


@action("offer.page")
def offer_page(ctx: Ctx, value: str) -> list[Outbound]:
    turn = pages.pressed(value, ctx.member.id)
    return [ctx.turn(compare_page(ctx, turn.page))]


# -- rating --------------------------------------------------------------------------------


def _score(value: str, factor: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= 5:
        raise UserError(
            f"The score for {FACTORS[factor]} must be a whole number from 1 to 5 "
            f"(not {value[:10]!r}). Nothing was saved."
        )
    return int(value)


def rate_form(app: Application) -> Form:
    return Form(
        "offer.rate",
        f"Rate {app.company}"[:45],
        tuple(
            FormField(f, f"{FACTORS[f].capitalize()} (1-5)", max_length=1, placeholder="3")
            for f in FACTORS
        ),
        value=str(app.id),
    )


@command("offer rate")
def offer_rate(ctx: Ctx) -> Reply:
    scores = {f: str(_score(ctx.arg(f), f)) for f in FACTORS if ctx.arg(f)}
    app = resolve(ctx, ctx.arg("company"), "rate", scores)
    return _rate(ctx, app, scores)


def _has_offer(app: Application) -> Offer:
    if app.offer is None or app.stage not in ("offer", "accepted"):
        raise UserError(
            f"{app.company} hasn't made you an offer (it is at {app.stage}). "
            f"Record one with /pipeline offer {app.company}."
        )
    return app.offer


@verb("rate")
def _rate(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    offer = _has_offer(app)
    if not args:
        current = ", ".join(f"{FACTORS[f]} {v or '?'}" for f, v in scores_of(offer).items())
        buttons = tuple(
            Button("offer.score", f"{app.id}:{f}:{n}", f"{f} {n}", "secondary")
            for f in FACTORS
            for n in range(1, 6)
        )
        return Reply(
            f"How does {app.company} score, 1 to 5, on career fit, culture, the company's "
            f"strategy and health, and your manager and team? Now: {current}. Press a score "
            f"per row, or type /offer rate {app.company} career 4 culture 3 strategy 5 "
            "manager 4.",
            title=f"Rate {app.company}",
            buttons=buttons,
            form=rate_form(app),
        )
    for f, v in args.items():
        if f in FACTORS:
            setattr(offer, f"score_{f}", _score(v, f))
    offer.updated_at = ctx.now
    return _rated(ctx, app, offer)


def _rated(ctx: Ctx, app: Application, offer: Offer) -> Reply:
    scores = ", ".join(f"{FACTORS[f]} {v or '?'}" for f, v in scores_of(offer).items())
    total = weighted_score(offer, weights_of(ctx.session, ctx.member.id))
    tail = f" Overall {total:.1f} of 5." if total is not None else " Rate the rest to see a total."
    return Reply(f"{app.company}: {scores}.{tail} Compare with /offer.", title="Offer rated")


@action("offer.score")
def offer_score_button(ctx: Ctx, value: str) -> Reply:
    app_id, _, rest = value.partition(":")
    factor, _, n = rest.partition(":")
    app = own(ctx, app_id)
    if factor not in FACTORS:
        return Reply("That button no longer works.")
    offer = _has_offer(app)
    setattr(offer, f"score_{factor}", _score(n, factor))
    offer.updated_at = ctx.now
    return _rated(ctx, app, offer)


@form("offer.rate")
def offer_rate_form(ctx: Ctx, value: str, fields: dict[str, str]) -> Reply:
    app = own(ctx, value)
    return _rate(ctx, app, {f: fields.get(f, "") for f in FACTORS})


# -- weights -------------------------------------------------------------------------------


@command("offer weights")
def offer_weights(ctx: Ctx) -> Reply:
    given: dict[str, int] = {}
    for f in FACTORS:
        v = ctx.arg(f)
        if v:
            if not v.isdigit() or int(v) > 5:
                raise UserError(
                    f"The weight for {FACTORS[f]} must be 0 to 5 (not {v[:10]!r}). "
                    "Nothing was saved."
                )
            given[f] = int(v)
    w = weights_of(ctx.session, ctx.member.id)
    if given:
        for f, n in given.items():
            setattr(w, f, n)
        if sum(int(getattr(w, f)) for f in FACTORS) == 0:
            raise UserError("At least one factor must count for something. Nothing was saved.")
        w.updated_at = ctx.now
        ctx.session.add(w)
    shown = ", ".join(f"{FACTORS[f]} {getattr(w, f)}" for f in FACTORS)
    head = "Weights saved" if given else "Your weights"
    return Reply(
        f"{head}: {shown}. /offer compare uses them; set one with "
        "/offer weights career 3 manager 2.",
        title="Offer weights",
    )


def offer_deadlines(offers: list[Offer], now: datetime) -> list[tuple[Offer, timedelta]]:
    """(offer, time left) for offers with a deadline ahead: for the nudges."""
    return [(o, o.deadline - now) for o in offers if o.deadline and o.deadline > now]


__all__ = ["FACTORS", "far_apart", "leader", "offer_deadlines", "weighted_score"]
