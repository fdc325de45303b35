"""The buttons every nudge carries (Done, Snooze 1 day, Stop these) and those of the letter
nudges (Sent, Sent and close)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.dates import fmt_when
from bot.db.pipeline_models import Offer
from bot.db.schedule_models import NudgeState, NudgeStop, OutboxMessage
from bot.errors import UserError
from bot.features.nudges.engine import OLD_EXTENSION_KINDS, SNOOZED, canonical, rule_of, sensible
from bot.features.pipeline.queries import drop_pending, move_stage, owned_application
from bot.router import Ctx, action
from bot.text import as_id
from bot.types import Outbound, Reply

OUT_OF_DATE = "That button is out of date; nothing changed."


def _state(ctx: Ctx, kind: str, subject: str) -> NudgeState:
    st = ctx.session.scalar(
        select(NudgeState).where(
            NudgeState.member_id == ctx.member.id,
            NudgeState.kind == kind,
            NudgeState.subject == subject,
        )
    )
    if st is None:
        st = NudgeState(
            member_id=ctx.member.id, kind=kind, subject=subject, done=False, updated_at=ctx.now
        )
        ctx.session.add(st)
    st.updated_at = ctx.now
    return st


def _split(value: str) -> tuple[str, str]:
    kind, _, subject = value.partition(":")
    if rule_of(kind) is None or not subject:
        raise UserError(OUT_OF_DATE)
    return kind, subject


def _queued(ctx: Ctx, kinds: tuple[str, ...], subject: str | None = None) -> list[int]:
    """The member's pending outbox rows of these kinds (about `subject`, snoozed copies
    included, when given)."""
    stmt = select(OutboxMessage.id).where(
        OutboxMessage.member_id == ctx.member.id,
        OutboxMessage.status == "pending",
        OutboxMessage.kind.in_(kinds),
    )
    if subject is not None:
        stmt = stmt.where(OutboxMessage.subject.in_((subject, f"{subject}-{SNOOZED}")))
    return list(ctx.session.scalars(stmt))


@action("nudge.done")
def nudge_done(ctx: Ctx, value: str) -> list[Outbound]:
    kind, subject = canonical(*_split(value))
    st = _state(ctx, kind, subject)
    st.done, st.snoozed_until = True, None
    drop_pending(ctx.session, _queued(ctx, (kind,), subject), "marked done")
    return [ctx.in_place(Reply("Marked done. I won't remind you about this one again."))]


@action("nudge.snooze")
def nudge_snooze(ctx: Ctx, value: str) -> list[Outbound]:
    sent_kind, sent_subject = _split(value)
    kind, subject = canonical(sent_kind, sent_subject)
    # The nudge must have been sent to this member (rows are keyed by member: no forging).
    sent = ctx.session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.member_id == ctx.member.id,
            OutboxMessage.kind.in_((sent_kind, kind)),
            OutboxMessage.subject.in_(
                (sent_subject, f"{sent_subject}-{SNOOZED}", subject, f"{subject}-{SNOOZED}")
            ),
        )
        .limit(1)
    )
    if sent is None:
        raise UserError("I can't find that nudge any more; nothing changed.")
    again = sensible(ctx.now + timedelta(days=1), ctx.tz)
    # The nudges job brings it back when the snooze ends, rebuilt for that moment (days left
    # counted then), and only if it still applies; no copy of it stays queued meanwhile.
    _state(ctx, kind, subject).snoozed_until = again
    drop_pending(ctx.session, _queued(ctx, (kind,), subject), "snoozed")
    back = fmt_when(again, ctx.tz)
    return [ctx.in_place(Reply(f"Snoozed: I'll bring it back {back}, if it still applies."))]


@action("nudge.stop")
def nudge_stop(ctx: Ctx, value: str) -> list[Outbound]:
    stopped = rule_of(value)
    if stopped is None:
        raise UserError(OUT_OF_DATE)
    kind = stopped.kind
    if ctx.session.get(NudgeStop, (ctx.member.id, kind)) is None:
        ctx.session.add(NudgeStop(member_id=ctx.member.id, kind=kind, created_at=ctx.now))
    # What is already queued stops too, not only what the job would queue next.
    kinds = (kind, *OLD_EXTENSION_KINDS) if kind == "extension" else (kind,)
    drop_pending(ctx.session, _queued(ctx, kinds), "stopped by the member")
    return [ctx.in_place(Reply(f"Stopped: no more {stopped.label}."))]


@action("nudge.altsent")
def alternatives_sent(ctx: Ctx, value: str) -> list[Outbound]:
    offer_id, _, app_id = value.partition(":")
    app = owned_application(ctx.session, ctx.member.id, aid) if (aid := as_id(app_id)) else None
    offer = ctx.session.get(Offer, oid) if (oid := as_id(offer_id)) else None
    if app is None or offer is None or offer.member_id != ctx.member.id:
        raise UserError("That button isn't for you, or that application is gone. Nothing changed.")
    _state(ctx, "alternatives", f"o{offer.id}-a{app.id}").done = True
    return [ctx.in_place(Reply(f"Noted: the alternatives letter to {app.company} is sent."))]


@action("nudge.declined")
def decline_sent(ctx: Ctx, value: str) -> list[Outbound]:
    app = owned_application(ctx.session, ctx.member.id, aid) if (aid := as_id(value)) else None
    if app is None:
        raise UserError("That button isn't for you, or that application is gone. Nothing changed.")
    if app.stage in ("applied", "screen", "interview", "onsite", "wishlist"):
        move_stage(app, "withdrawn", ctx.now)
    elif app.stage == "offer":
        move_stage(app, "declined", ctx.now)
    closed = Reply(f"Closed {app.company} ({app.stage}). One less thing to track.")
    return [ctx.in_place(closed)]
