"""/drill: ask, answer, feedback, self-rating, spaced repetition, points and streaks."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from bot.content import TRACKS, Content, Drill, Framework
from bot.db.drill_models import Card, PracticeState, Review
from bot.errors import UserError
from bot.features.drills.feedback import (
    checklist_coverage,
    grade_number,
    length_note,
    structure_check,
    suggestion,
)
from bot.features.drills.practice import (
    POINTS_REVEALED,
    POINTS_WRITTEN,
    RATING_LABELS,
    RATINGS,
    Alive,
    Want,
    current_state,
    freezes_text,
    last_daily_drill,
    member_tracks,
    next_picks,
    practice_state,
    review,
    streak_skips,
)
from bot.router import Ctx, action, command, form, too_long
from bot.text import clean, clip, plural
from bot.types import ANSWER_LIMIT as PLATFORM_ANSWER_LIMIT
from bot.types import Button, Field, Form, FormField, Outbound, Reply

# The platforms' own longest input (Discord modals; Slack's form stops at 3,000): an answer the
# member could type is never refused here.
ANSWER_LIMIT = PLATFORM_ANSWER_LIMIT


def drill_reply(drill: Drill, *, intro: str | None = None, due: bool = False) -> Reply:
    """The prompt with its buttons; the drill id rides in every button, so old messages work."""
    track = TRACKS[drill.track]
    head = "A review that is due" if due else "A new drill"
    text = f"{intro}\n\n" if intro else ""
    text += f"{drill.prompt}\n\nAnswer with the button, or type /drill answer <your answer>."
    return Reply(
        text,
        title=f"{head}: {track}",
        footer=f"{drill.id} · {drill.difficulty}",
        buttons=(
            Button("drill.answer", drill.id, "Answer", "primary"),
            Button("drill.hint", f"{drill.id}:0", "Hint"),
            Button("drill.framework", drill.id, "Show framework"),
            Button("drill.skip", drill.id, "Skip to answer"),
        ),
    )


def _rating_buttons(drill_id: str) -> tuple[Button, ...]:
    return tuple(
        Button("drill.rate", f"{drill_id}:{n}", label, "danger" if n == 1 else "secondary")
        for n, label in RATING_LABELS.items()
    )


def _drill(ctx: Ctx, drill_id: str) -> Drill:
    d = ctx.content.drills.get(drill_id)
    if d is None:
        raise UserError("That drill is no longer in the bank. Type /drill for a fresh one.")
    return d


def _current(ctx: Ctx) -> Drill:
    state = ctx.session.get(PracticeState, ctx.member.id)
    if state is not None and state.current_drill_id:
        return _drill(ctx, state.current_drill_id)
    # The daily DM does not touch the practice state; answer the one that came today.
    daily = last_daily_drill(ctx.session, ctx.member.id, ctx.now - timedelta(hours=24))
    if daily and (state is None or state.last_drill_id != daily):
        return _drill(ctx, daily)
    raise UserError("There is no drill in front of you. Type /drill to get one.")


def serve_next(ctx: Ctx, track: str | None = None) -> Reply:
    state = practice_state(ctx.session, ctx.member.id)
    tracks = (track,) if track else member_tracks(ctx.member.settings)
    picks = next_picks(
        ctx.session,
        [Want(ctx.member.id, tracks, state.current_drill_id or state.last_drill_id)],
        ctx.now,
        ctx.content,
    )
    pick = picks.get(ctx.member.id)
    if pick is None:
        raise UserError("No drill is available for those tracks right now. Try another track.")
    return _put_in_front(ctx, state, pick.drill, pick.due)


def _put_in_front(ctx: Ctx, state: PracticeState, drill: Drill, due: bool) -> Reply:
    """Make `drill` the one in front of the member: answers, hints and ratings go to it."""
    if state.current_drill_id and state.current_drill_id != drill.id:
        state.last_drill_id = state.current_drill_id
    state.current_drill_id = drill.id
    state.served_at = ctx.now
    state.pending_answer = None
    state.revealed = False
    state.correct = None
    return drill_reply(drill, due=due)


@command("drill next")
def drill_next(ctx: Ctx) -> Reply:
    wanted = ctx.arg("drill")
    if wanted:
        return serve_by_id(ctx, wanted)
    return serve_next(ctx, ctx.arg("track") or None)


def serve_by_id(ctx: Ctx, wanted: str) -> Reply:
    """A drill named by id: the workshop's drill of the day, or one to try again."""
    drill = ctx.content.drills.get(wanted.strip().lower())
    if drill is None:
        close = drill_ids_like(ctx.content, wanted)[:3]
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UserError(
            f"{clip(wanted, 60)!r} is neither a track nor a drill.{hint} A track is one of "
            f"{', '.join(TRACKS)}; a drill is named by its id, as in /drill prob-two-aces."
        )
    state = practice_state(ctx.session, ctx.member.id)
    due = ctx.session.scalar(
        select(Card.due_at).where(Card.member_id == ctx.member.id, Card.drill_id == drill.id)
    )
    return _put_in_front(ctx, state, drill, due is not None and due <= ctx.now)


def drill_ids_like(content: Content, typed: str, limit: int = 25) -> list[str]:
    """Drill ids for a search: ids starting with what was typed, then ids or prompts that
    contain every word of it (autocomplete, and the suggestion after a typo)."""
    low = typed.strip().lower()
    words = low.replace("-", " ").split()
    starts = [i for i in sorted(content.drills) if i.startswith(low)]
    rest = [
        d.id
        for d in sorted(content.drills.values(), key=lambda d: d.id)
        if d.id not in starts
        and words
        and all(w in f"{d.id.replace('-', ' ')} {d.prompt.lower()}" for w in words)
    ]
    return (starts + rest)[:limit]


def answer_form(drill: Drill) -> Reply:
    return Reply(
        f"Type your answer to {drill.id} with /drill answer <your answer>.",
        form=Form(
            "drill.answer",
            "Your answer",
            (
                FormField(
                    "answer",
                    "Your answer",
                    multiline=True,
                    max_length=ANSWER_LIMIT,
                    placeholder="Write it as you would say it",
                ),
            ),
            value=drill.id,
        ),
    )


@command("drill answer")
def drill_answer(ctx: Ctx) -> Reply:
    drill = _current(ctx)
    text = ctx.arg("text")
    if not text:
        return answer_form(drill)
    return give_feedback(ctx, drill, text)


@action("drill.answer")
def drill_answer_button(ctx: Ctx, value: str) -> Reply:
    return answer_form(_drill(ctx, value))


@form("drill.answer")
def drill_answer_form(ctx: Ctx, value: str, fields: dict[str, str]) -> Reply:
    return give_feedback(ctx, _drill(ctx, value), fields.get("answer", ""))


def give_feedback(ctx: Ctx, drill: Drill, raw: str) -> Reply:
    if len(raw) > ANSWER_LIMIT:
        # Only a forged or future platform input gets here; still, the text is handed back.
        raise too_long(
            f"Your answer is {len(raw):,} characters long; the limit is {ANSWER_LIMIT:,}",
            raw,
            "Shorten it: the feedback works best on 200-350 words.",
        )
    answer = clean(raw, what="answer", limit=ANSWER_LIMIT, multiline=True)
    if not answer:
        raise UserError("That answer is empty. Write a few sentences, then send it.")
    state = practice_state(ctx.session, ctx.member.id)
    state.current_drill_id = drill.id
    state.pending_answer = answer
    state.revealed = False
    lines: list[str] = []
    fields: list[Field] = []
    correct: bool | None = None
    if drill.track == "probability":
        grade = grade_number(answer, drill)
        correct = grade.correct
        if grade.given is None:
            lines.append("I couldn't find a number in your answer; give it as 1/6, 0.167 or 16.7%.")
        lines.append(
            ("Right! " if grade.correct else "Not quite. ") + f"The answer is {drill.answer}."
        )
        lines.append(f"Worked answer: {drill.worked}")
    else:
        fw = ctx.content.frameworks.get(drill.framework or "")
        if fw is not None:
            lines.extend(_structure_lines(answer, fw))
        if drill.checklist:
            cover = checklist_coverage(answer, drill.checklist)
            got = sum(c.covered for c in cover)
            lines.append(f"Checklist: you touched on {got} of {len(cover)} points.")
            for c in cover:
                lines.append(("  [x] " if c.covered else "  [ ] ") + c.item)
        if drill.principles:
            lines.append("Principles at stake: " + "; ".join(drill.principles) + ".")
        if drill.model_answer:
            fields.append(Field("A model answer", drill.model_answer, inline=False))
        if note := length_note(answer, drill.track):
            lines.append(note)
    state.correct = correct
    lines.append("How did it go? Your rating schedules the next review.")
    text = "\n".join(lines)
    if drill.model_answer:
        text += f"\n\nA model answer: {drill.model_answer}"
    return Reply(
        text,
        title=f"Feedback on {drill.id}",
        buttons=_rating_buttons(drill.id),
        footer="Only you can see your answer and this feedback.",
    )


def _structure_lines(answer: str, fw: Framework) -> list[str]:
    """One line per part of the framework, found or missing, then one suggestion: a member
    who gets six tips at once acts on none of them."""
    parts = structure_check(answer, fw)
    have = sum(p.present for p in parts)
    lines = [f"{fw.name} check: {have} of {len(parts)} parts present."]
    for p in parts:
        if p.present:
            lines.append(f'  Found {p.name}: "{p.evidence}"')
        elif p.note:
            lines.append(f"  Missing {p.name}: {p.note}. {p.tip}")
        else:
            lines.append(f"  Missing {p.name}: {p.tip}")
    if (pick := suggestion(fw, parts)) is not None:
        weakest, text = pick
        lines.append(f"Work on {weakest.name} first: {text}")
    return lines


def _hint_reply(drill: Drill, n: int) -> Reply:
    n = max(0, min(n, len(drill.hints) - 1))
    more = n + 1 < len(drill.hints)
    buttons = [Button("drill.answer", drill.id, "Answer", "primary")]
    if more:
        buttons.append(Button("drill.hint", f"{drill.id}:{n + 1}", "Another hint"))
    return Reply(f"Hint {n + 1} of {len(drill.hints)}: {drill.hints[n]}", buttons=tuple(buttons))


@command("drill hint")
def drill_hint(ctx: Ctx) -> Reply:
    return _hint_reply(_current(ctx), 0)


@action("drill.hint")
def drill_hint_button(ctx: Ctx, value: str) -> Reply:
    drill_id, _, n = value.partition(":")
    return _hint_reply(_drill(ctx, drill_id), int(n) if n.isdigit() else 0)


def _framework_reply(ctx: Ctx, drill: Drill) -> Reply:
    lines: list[str] = []
    fw = ctx.content.frameworks.get(drill.framework or "")
    if fw:
        lines.append(f"{fw.name}: {fw.summary}")
        lines.extend(f"{i}. {s.name}: {s.tip}" for i, s in enumerate(fw.steps, 1))
    if drill.stages:
        lines.append("For this problem:")
        lines.extend(f"- {stage}: {prompt}" for stage, prompt in drill.stages.items())
    if not lines:
        lines.append(
            "No fixed structure here: state your reasoning step by step, then the "
            "answer, then check it against a simple case."
        )
    return Reply(
        "\n".join(lines),
        title="How to structure it",
        buttons=(Button("drill.answer", drill.id, "Answer", "primary"),),
    )


@command("drill framework")
def drill_framework(ctx: Ctx) -> Reply:
    return _framework_reply(ctx, _current(ctx))


@action("drill.framework")
def drill_framework_button(ctx: Ctx, value: str) -> Reply:
    return _framework_reply(ctx, _drill(ctx, value))


def _reveal(ctx: Ctx, drill: Drill) -> Reply:
    state = practice_state(ctx.session, ctx.member.id)
    state.current_drill_id = drill.id
    state.pending_answer = None
    state.revealed = True
    state.correct = None
    lines: list[str] = []
    if drill.answer:
        lines.append(f"The answer is {drill.answer}.\nWorked answer: {drill.worked}")
    if drill.principles:
        lines.append("Principles at stake: " + "; ".join(drill.principles) + ".")
    if drill.model_answer:
        lines.append(f"A model answer: {drill.model_answer}")
    if drill.example_answer:
        # Labelled as one example, so members copy its shape rather than its story.
        lines.append(f"An example answer: {drill.example_answer}")
    if drill.checklist:
        lines.append("A strong answer covers:\n" + "\n".join(f"- {c}" for c in drill.checklist))
    lines.append(
        "Rate how well you would have answered. Writing an answer earns "
        f"{POINTS_WRITTEN} points; skipping to the answer earns {POINTS_REVEALED}."
    )
    return Reply(
        "\n".join(lines), title=f"The answer to {drill.id}", buttons=_rating_buttons(drill.id)
    )


@command("drill skip")
def drill_skip(ctx: Ctx) -> Reply:
    return _reveal(ctx, _current(ctx))


@action("drill.skip")
def drill_skip_button(ctx: Ctx, value: str) -> Reply:
    return _reveal(ctx, _drill(ctx, value))


def rate(ctx: Ctx, drill: Drill, rating: int) -> Reply:
    state = practice_state(ctx.session, ctx.member.id)
    if state.current_drill_id != drill.id or not (state.pending_answer or state.revealed):
        raise UserError(
            "That drill is already rated, or you haven't answered it yet. Type /drill for the "
            "next one."
        )
    written = state.pending_answer is not None
    first_today = state.last_active_date != ctx.local_now.date()
    row, state = review(
        ctx.session,
        ctx.member.id,
        drill,
        rating,
        ctx.now,
        ctx.tz,
        written=written,
        correct=state.correct,
        answer=state.pending_answer,
        settings=ctx.member.settings,
        cohort_id=ctx.member.cohort_id,
    )
    due_local = row.due_after.astimezone(ctx.tz)
    delta = row.due_after - ctx.now
    when = (
        f"in {max(1, round(delta.total_seconds() / 60))} minutes"
        if delta < timedelta(hours=1)
        else f"later today ({due_local:%H:%M})"
        if due_local.date() == ctx.local_now.date()
        else f"on {due_local:%a} {due_local.day} {due_local:%b} ({delta.days} days)"
    )
    # Just bumped: alive whatever the calendar says.
    streak = state.streak
    text = (
        f"Rated {RATING_LABELS[rating]}: +{row.points} points ({state.points} in all). "
        f"I'll bring {drill.id} back {when}. Streak: {plural(streak, 'day')}."
    )
    if first_today and state.freeze_run == 0 and state.freezes:  # another 7 days in a row
        text += (
            f" Seven drill days in a row: you hold {plural(state.freezes, 'streak freeze')} "
            "(at most 2). A missed drill day uses one instead of ending your streak."
        )
    return Reply(
        text,
        buttons=(
            Button("drill.next", drill.track, "Next drill", "primary"),
            Button("drill.next", "", "Any track"),
        ),
    )


@command("drill rate")
def drill_rate(ctx: Ctx) -> Reply:
    return rate(ctx, _current(ctx), int(RATINGS[ctx.arg("rating")]))


@action("drill.rate")
def drill_rate_button(ctx: Ctx, value: str) -> list[Outbound]:
    drill_id, _, n = value.partition(":")
    if n not in ("1", "2", "3", "4"):
        raise UserError("That rating button is broken; type /drill rate good instead.")
    # The rating buttons are spent: their message becomes the rating's outcome.
    return [ctx.in_place(rate(ctx, _drill(ctx, drill_id), int(n)))]


@action("drill.next")
def drill_next_button(ctx: Ctx, value: str) -> Reply:
    return serve_next(ctx, value if value in TRACKS else None)


def member_streak(ctx: Ctx, state: PracticeState | None, today: date) -> Alive:
    """The streak alive today, counted on the member's own drill days, and freezes held."""
    if state is None:
        return Alive(0, 0)
    s = ctx.member.settings
    skip = streak_skips(ctx.session, ctx.member.cohort_id, s, state.last_active_date, today)
    return current_state(state, today, s.drill_days, skip)


@command("drill stats")
def drill_stats(ctx: Ctx) -> Reply:
    mid = ctx.member.id
    today = ctx.local_now.date()
    week_start = today - timedelta(days=today.weekday())
    per_track = dict(
        ctx.session.execute(
            select(Review.track, func.count()).where(Review.member_id == mid).group_by(Review.track)
        ).all()
    )
    this_week = dict(
        ctx.session.execute(
            select(Review.track, func.count())
            .where(Review.member_id == mid, Review.local_date >= week_start)
            .group_by(Review.track)
        ).all()
    )
    due_now = (
        ctx.session.scalar(
            select(func.count())
            .select_from(Card)
            .where(Card.member_id == mid, Card.due_at <= ctx.now)
        )
        or 0
    )
    recent = ctx.session.execute(
        select(Review.drill_id, Review.rating, Review.local_date, Review.points)
        .where(Review.member_id == mid)
        .order_by(Review.reviewed_at.desc(), Review.id.desc())
        .limit(5)
    ).all()
    state = ctx.session.get(PracticeState, mid)
    streak = member_streak(ctx, state, today)
    total = sum(per_track.values())
    fields = [
        Field("This week", ", ".join(f"{t} {n}" for t, n in sorted(this_week.items())) or "none"),
        Field("In all", ", ".join(f"{t} {n}" for t, n in sorted(per_track.items())) or "none"),
        Field(
            "Streak",
            f"{plural(streak.streak, 'day')} (best {state.best_streak if state else 0})"
            + freezes_text(streak.freezes),
        ),
        Field("Due now", str(due_now)),
        Field("Points", str(state.points if state else 0)),
    ]
    if recent:
        fields.append(
            Field(
                "Recent",
                "\n".join(
                    f"{d:%a %d %b}: {drill_id} - {RATING_LABELS[r]} (+{p})"
                    for drill_id, r, d, p in recent
                ),
                inline=False,
            )
        )
    # Read alone (the console, a notification), the text says all the fields say, once.
    lead = f"{plural(total, 'drill')} done."
    text = lead + "\n" + "\n".join(f"{f.name}: {f.value}" for f in fields)
    return Reply(
        text,
        title="Your practice",
        fields=tuple(fields),
        lead=lead,  # a card shows the fields, which say the rest of the text
        buttons=(Button("drill.next", "", "Next drill", "primary"),),
    )
