"""/ask: questions to ask the interviewer, three at a time, by topic or as a mix."""

from __future__ import annotations

import random

from bot.content import QUESTION_TOPICS, Question
from bot.errors import UserError
from bot.router import Ctx, action, command
from bot.types import Button, Reply

PER_PAGE = 3


def _order(ctx: Ctx, topic: str | None) -> list[Question]:
    """A stable order per member, so that "three more" never repeats until the list ends."""
    if topic:
        items = sorted(ctx.content.questions_on(topic), key=lambda q: q.id)
        random.Random(f"{ctx.member.id}:{topic}").shuffle(items)
        return items
    # A mix: deal round-robin from every topic's own shuffled list.
    piles = []
    for t in QUESTION_TOPICS:
        pile = sorted(ctx.content.questions_on(t), key=lambda q: q.id)
        random.Random(f"{ctx.member.id}:{t}").shuffle(pile)
        piles.append(pile)
    random.Random(ctx.member.id).shuffle(piles)
    mixed: list[Question] = []
    for i in range(max((len(p) for p in piles), default=0)):
        mixed.extend(p[i] for p in piles if i < len(p))
    return mixed


def page(ctx: Ctx, topic: str | None, start: int) -> Reply:
    items = _order(ctx, topic)
    if not items:
        raise UserError("There are no questions on that topic yet.")
    start %= len(items)
    chosen = (items + items)[start : start + PER_PAGE]
    label = QUESTION_TOPICS[topic] if topic else "A mix of topics"
    lines = [
        f"{i}. {q.text}" + (f"\n   Why ask: {q.why}" if q.why else "")
        for i, q in enumerate(chosen, 1)
    ]
    nxt = (start + PER_PAGE) % len(items)
    return Reply(
        "\n".join(lines),
        title=f"Questions to ask: {label}",
        footer="Pick the ones you really want answered; two or three good ones beat ten.",
        buttons=(Button("ask.more", f"{topic or ''}:{nxt}", "Three more"),),
    )


@command("ask questions")
def ask_questions(ctx: Ctx) -> Reply:
    return page(ctx, ctx.arg("topic") or None, 0)


@action("ask.more")
def ask_more(ctx: Ctx, value: str) -> Reply:
    topic, _, start = value.partition(":")
    if topic and topic not in QUESTION_TOPICS:
        raise UserError("That button is out of date; type /ask topics.")
    return page(ctx, topic or None, int(start) if start.isdigit() else 0)


@command("ask topics")
def ask_topics(ctx: Ctx) -> Reply:
    lines = [
        f"{t}: {label} ({len(ctx.content.questions_on(t))} questions)"
        for t, label in QUESTION_TOPICS.items()
    ]
    return Reply(
        "\n".join(lines) + "\n\nType /ask <topic>, or /ask for a mix.", title="Topics for /ask"
    )
