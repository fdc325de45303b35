"""/letter: the right letter for the moment, filled in from the member's pipeline.

Templates live in content/letters.yaml. Anything the pipeline cannot fill shows as [a hint in
brackets], so a letter is never sent with a silent gap.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import pages
from bot.content import LETTER_KINDS, LETTER_PLACEHOLDERS, Content, Letter
from bot.dates import fmt_date, fmt_when
from bot.db.models import Member
from bot.db.pipeline_models import Application, Offer
from bot.errors import UserError
from bot.features.pipeline.handlers import COMPANY_LIMIT, money, own, resolve, verb
from bot.features.pipeline.queries import (
    find_company,
    in_process_applications,
    last_interview,
    open_offers,
    open_offers_of,
    stale_applications,
)
from bot.router import Ctx, action, command
from bot.text import clean
from bot.types import Button, Field, Outbound, Reply

# Placeholder shown when the pipeline has no value for it.
BLANKS: dict[str, str] = {
    "name": "[your name]",
    "company": "[company]",
    "role": "[role]",
    "offer_company": "[the company that made the offer]",
    "offer_deadline": "[their deadline]",
    "interview_date": "[the interview date]",
    "proposed_deadline": "[a later business day]",
}
LATE_STAGES = ("onsite", "offer", "accepted")


class _Blanks(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return BLANKS.get(key, f"[{key}]")


# The letter for a deadline that falls on a weekend: no "other conversations" to invent, just a
# business day to answer on. It lives here, not in content/letters.yaml, because the content
# schema (bot/content.py) allows only early/late variants; an organizer's "extension:weekend"
# in the content, once the schema takes it, wins over this one.
WEEKEND = "weekend"
WEEKEND_LETTER = Letter(
    kind="extension",
    title="Move a weekend deadline to a business day",
    when="An offer's deadline falls on a Saturday or Sunday, when nobody at the company answers.",
    how=(
        "Send by email to the recruiter who made the offer, well before the weekend. Propose the "
        "next business day and keep it light: this is about being able to reach them with a last "
        "question, not about more time to shop around."
    ),
    subject="The {role} offer: the deadline on a weekend",
    body=(
        "Hi,\n\n"
        "Thank you again for the offer for the {role} role; I am excited about it and giving it "
        "the attention it deserves.\n\n"
        "I noticed that the deadline, {offer_deadline}, falls on a weekend, when I would not be "
        "able to reach you if a last question came up. Would it be possible to make it "
        "{proposed_deadline} instead, the next business day? You will have my answer that day.\n\n"
        "Thanks for understanding,\n"
        "{name}"
    ),
)


def find_letter(content: Content, kind: str, variant: str | None = None) -> Letter:
    """The template for `kind` (and `variant` where the kind has early/late versions)."""
    if kind == "extension" and variant == WEEKEND:
        return content.letters.get(f"{kind}:{variant}", WEEKEND_LETTER)
    letter = content.letters.get(f"{kind}:{variant}" if variant else kind)
    if letter is None and variant is None:
        letter = content.letters.get(f"{kind}:early")
    if letter is None:
        raise UserError(f"There is no {kind} letter in the content.")
    return letter


def render_letter(
    content: Content, kind: str, variant: str | None, values: Mapping[str, str | None]
) -> tuple[str, str]:
    """(subject, body) of a letter with `values` filled in; missing or empty ones become a
    [hint in brackets]. Values are inserted as given: no template syntax inside them runs."""
    letter = find_letter(content, kind, variant)
    filled = _Blanks({k: v for k, v in values.items() if v and k in LETTER_PLACEHOLDERS})
    fmt = string.Formatter()
    return fmt.vformat(letter.subject, (), filled), fmt.vformat(letter.body, (), filled)


_Day = TypeVar("_Day", date, datetime)


def business_day(at: _Day) -> _Day:
    """`at`, moved forward past a weekend to the Monday (unchanged on a weekday)."""
    while at.weekday() >= 5:
        at += timedelta(days=1)
    return at


def proposed_deadline(
    offer: Offer, others: list[Offer], now: datetime, tz: ZoneInfo, variant: str | None = None
) -> date:
    """The business day to ask for, in the member's zone (a UTC weekday can be a local
    Saturday). A weekend deadline moves to the next business day after it; otherwise the
    latest other deadline if that is later, else a week after the current deadline (or after
    now, for an offer without one)."""
    base = offer.deadline or now
    if variant == WEEKEND:
        return business_day(base.astimezone(tz).date())
    later = [o.deadline for o in others if o.deadline and o.deadline > base]
    target = max(later) if later else base + timedelta(days=7)
    return business_day(target.astimezone(tz).date())


# The confirm letter's lines that an offer recorded in the pipeline can fill, by label.
CONFIRM_LINES: dict[str, str] = {
    "Base salary": "base",
    "Bonus": "bonus",
    "Equity and vesting": "equity",
    "Start date": "start_date",
}


def offer_figures(offer: Offer) -> dict[str, str]:
    """The offer's numbers as the member gave them, for the lines of a confirm letter."""
    figures: dict[str, str] = {}
    if offer.base is not None:
        figures["base"] = money(offer.base, offer.currency)
    if offer.bonus is not None:
        figures["bonus"] = money(offer.bonus, offer.currency)
    if offer.equity:
        figures["equity"] = offer.equity
    if offer.start_date is not None:
        figures["start_date"] = fmt_date(offer.start_date)
    return figures


def fill_lines(body: str, figures: Mapping[str, str]) -> str:
    """Complete the empty "- Label:" lines of a letter with what the pipeline knows. The
    letter's placeholders cannot name these (bot/content.py fixes the set), and a line left
    empty is still the member's to fill, which the letter asks for anyway."""
    out = []
    for line in body.split("\n"):
        label = line.strip().removeprefix("- ").removesuffix(":")
        key = CONFIRM_LINES.get(label)
        if (
            line.strip().startswith("- ")
            and line.rstrip().endswith(":")
            and key is not None
            and key in figures
        ):
            line = f"{line.rstrip()} {figures[key]}"
        out.append(line)
    return "\n".join(out)


@dataclass(frozen=True)
class Writer:
    """What filling a letter reads: the member (name, zone), their pipeline and the time. A
    command has it from its request; the nudge job, which has no request, builds it."""

    session: Session
    content: Content
    member: Member
    now: datetime
    apps: list[Application] | None = None  # the member's pipeline, when already loaded

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.member.settings.timezone)

    @cached_property
    def open_offers(self) -> list[Offer]:
        # Read once per writer: every alternatives letter proposes a deadline against the
        # other offers, and a letter each, reading the whole pipeline again, made turning a
        # page of 30 letters read it 30 times.
        if self.apps is not None:
            return open_offers_of(self.apps)
        return open_offers(self.session, self.member.id)


def writer(ctx: Ctx) -> Writer:
    return Writer(ctx.session, ctx.content, ctx.member, ctx.now)


def letter_values(
    ctx: Ctx | Writer,
    app: Application | None,
    offer_app: Application | None = None,
    *,
    company: str | None = None,
    variant: str | None = None,
) -> dict[str, str | None]:
    """Everything a template may refer to, from the pipeline, in the member's zone."""
    w = ctx if isinstance(ctx, Writer) else writer(ctx)
    values: dict[str, str | None] = {"name": w.member.display_name, "company": company}
    if app is not None:
        values["company"] = app.company
        values["role"] = app.role
        interview = last_interview(app, w.now)
        if interview is not None:
            values["interview_date"] = fmt_date(interview.at.astimezone(w.tz).date())
    offer_app = offer_app or (app if app is not None and app.offer is not None else None)
    if offer_app is not None and offer_app.offer is not None:
        offer = offer_app.offer
        values["offer_company"] = offer_app.company
        if offer.deadline:
            values["offer_deadline"] = fmt_when(offer.deadline, w.tz)
        others = [o for o in w.open_offers if o.id != offer.id]
        proposed = proposed_deadline(offer, others, w.now, w.tz, variant)
        values["proposed_deadline"] = fmt_date(proposed)
    return values


def letter_reply(
    ctx: Ctx | Writer,
    kind: str,
    variant: str | None,
    app: Application | None,
    offer_app: Application | None = None,
    *,
    company: str | None = None,
) -> Reply:
    w = ctx if isinstance(ctx, Writer) else writer(ctx)
    letter = find_letter(w.content, kind, variant)
    values = letter_values(w, app, offer_app, company=company, variant=variant)
    subject, body = render_letter(w.content, kind, variant, values)
    if kind == "confirm" and app is not None and app.offer is not None:
        body = fill_lines(body, offer_figures(app.offer))
    to = f" to {values['company']}" if values.get("company") else ""
    text = f"Subject: {subject}\n\n{body}"
    if "[" in subject + body:
        text += "\n\n(Fill in the parts in [brackets] before you send it.)"
    buttons: tuple[Button, ...] = ()
    if kind == "thank-you" and app is not None:
        interview = last_interview(app, w.now)
        if interview is not None and not interview.thank_you_sent:
            buttons = (Button("pipeline.thanked", str(interview.id), "Mark as sent", "success"),)
    return Reply(
        text,
        title=f"{letter.title}{to}",
        fields=(Field("When", letter.when, inline=False), Field("How", letter.how, inline=False)),
        buttons=buttons,
        footer="Only you can see this. Edit it freely: it should sound like you.",
    )


def _need_one(apps: list[Application], message: str) -> Application:
    if not apps:
        raise UserError(message)
    return apps[0]


def _default_app(ctx: Ctx, kind: str) -> Application:
    mid = ctx.member.id
    if kind in ("thank-you", "feedback"):
        past = [
            (i.at, i.application)
            for a in in_process_applications(ctx.session, mid)
            + [o.application for o in open_offers(ctx.session, mid)]
            for i in a.interviews
            if i.at <= ctx.now
        ]
        apps = [a for _, a in sorted(past, key=lambda p: p[0], reverse=True)]
        return _need_one(
            apps, "No interview has happened yet. Record one with /pipeline interview."
        )
    if kind in ("extension", "exploding", "confirm"):
        offers = open_offers(ctx.session, mid)
        return _need_one(
            [o.application for o in offers],
            "You have no open offer yet. Record one with /pipeline offer <company>.",
        )
    if kind == "follow-up":
        stale = stale_applications(ctx.session, mid, ctx.now, ctx.settings.stale_days)
        return _need_one(
            stale or in_process_applications(ctx.session, mid),
            "You have no application waiting for news. "
            "Name a company: /letter follow-up <company>.",
        )
    raise AssertionError(kind)


@dataclass(frozen=True)
class Letters:
    """The letters one command writes (one per company, or a letter's versions), and what
    they are together, said on each of their pages."""

    replies: list[Reply]
    about: str = ""


def alternatives(ctx: Ctx, chosen: Application | None) -> Letters:
    """One letter per company still in process, each naming the offer that sets the pace:
    the named offer, else the one with the earliest deadline."""
    w = writer(ctx)
    offers = w.open_offers
    if chosen is not None and chosen.offer is not None and chosen.stage == "offer":
        offer_app = chosen
        targets = in_process_applications(ctx.session, ctx.member.id, exclude=chosen.id)
    else:
        if not offers:
            raise UserError(
                "This letter is for when you hold an offer. Record it first with "
                "/pipeline offer <company> deadline <when>."
            )
        offer_app = offers[0].application
        targets = (
            [chosen] if chosen is not None else in_process_applications(ctx.session, ctx.member.id)
        )
    if not targets:
        raise UserError(
            f"You have an offer from {offer_app.company}, but no other company in process to "
            "write to. Add them with /pipeline add."
        )
    about = f"You hold an offer from {offer_app.company}." + (
        f" A letter for each of the {len(targets)} other companies in your pipeline: send "
        "them all, even to the ones that went quiet."
        if len(targets) > 1
        else ""
    )
    letters = [letter_reply(w, "alternatives", None, a, offer_app) for a in targets]
    return Letters(letters, about)


def decline(ctx: Ctx, chosen: Application | None) -> Letters:
    if chosen is not None:
        return Letters([letter_reply(ctx, "decline", None, chosen)])
    # Everyone still considering the member; the accepted offer is no longer "open".
    w = writer(ctx)
    targets = in_process_applications(ctx.session, ctx.member.id) + [
        o.application for o in w.open_offers
    ]
    if not targets:
        raise UserError("No company is still waiting on you. Name one: /letter decline <company>.")
    about = "A letter for each company still waiting on you."
    return Letters([letter_reply(w, "decline", None, a) for a in targets], about)


def build(ctx: Ctx, kind: str, app: Application | None) -> Letters:
    if kind == "alternatives":
        return alternatives(ctx, app)
    if kind == "decline":
        return decline(ctx, app)
    if kind in ("salary-expectations", "where-else"):
        if app is None:
            versions = [letter_reply(ctx, kind, v, None) for v in ("early", "late")]
            return Letters(versions, "One for early in a process, one for near its end.")
        variant = "late" if app.stage in LATE_STAGES else "early"
        return Letters([letter_reply(ctx, kind, variant, app)])
    if kind == "motivation":
        return Letters([letter_reply(ctx, kind, None, app)])
    if app is None:
        app = _default_app(ctx, kind)
    if kind in ("extension", "exploding", "confirm") and app.offer is None:
        raise UserError(
            f"{app.company} hasn't made you an offer yet (it is at {app.stage}). "
            f"Record one with /pipeline offer {app.company}."
        )
    return Letters([letter_reply(ctx, kind, None, app)])


def letter_page(ctx: Ctx, letters: Letters, page: int, state: str) -> Reply:
    """Several letters as one message, a letter a page (its text whole, to copy), with the
    company named in its title and "k of n"; `state` (kind and company) rebuilds the same
    letters when a page button is pressed."""
    count = len(letters.replies)
    page = pages.clamp(page, count)
    letter = letters.replies[page - 1]
    if count == 1:
        if not letters.about:
            return letter
        return replace(letter, footer=f"{letters.about} {letter.footer or ''}".strip())
    nav = pages.buttons("letter.page", ctx.member.id, page, count, state)
    title = f"{page} of {count}: {letter.title or ''}"
    if len(title) > pages.TITLE_CHARS:
        # The company, at its longest, stays whole; the kind is the command's own.
        title = f"{page} of {count}: to {title.rpartition(' to ')[2]}"
    return replace(
        letter,
        title=title,
        footer=f"Letter {page} of {count}. {letters.about} {letter.footer or ''}".strip(),
        buttons=(*letter.buttons, *nav),
    )


def _state(kind: str, app: Application | None) -> str:
    return f"{kind}:{app.id if app is not None else ''}"


@command("letter")
def letter_command(ctx: Ctx) -> Reply:
    kind = ctx.arg("kind")
    name = ctx.arg("company")
    if name and kind == "motivation":
        # Cold outreach usually goes to a company not in the pipeline yet: take the name typed.
        typed = clean(name, what="company name", limit=COMPANY_LIMIT)
        app = find_company(ctx.session, ctx.member.id, typed).app
        return letter_reply(ctx, kind, None, app, company=typed)
    app = resolve(ctx, name, "letter", {"kind": kind}) if name else None
    return letter_page(ctx, build(ctx, kind, app), 1, _state(kind, app))


@action("letter.page")
def letter_turn(ctx: Ctx, value: str) -> list[Outbound]:
    turn = pages.pressed(value, ctx.member.id)
    kind, _, app_id = turn.rest.partition(":")
    if kind not in LETTER_KINDS:
        return [ctx.private(Reply("That button no longer works."))]
    app = own(ctx, app_id) if app_id else None
    return [ctx.turn(letter_page(ctx, build(ctx, kind, app), turn.page, turn.rest))]


@verb("letter")
def _letter_verb(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    kind = args.get("kind", "")
    return letter_page(ctx, build(ctx, kind, app), 1, _state(kind, app))


__all__ = [
    "BLANKS",
    "WEEKEND",
    "WEEKEND_LETTER",
    "Writer",
    "business_day",
    "find_letter",
    "letter_reply",
    "letter_values",
    "proposed_deadline",
    "render_letter",
]
