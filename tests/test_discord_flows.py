"""The product's main journeys, end to end on Discord: interactions built from Discord's payloads
go through the real discord.py client and CommandTree into the core; the scheduler's jobs and the
outbox deliver through the Discord adapter; everything sent goes over real HTTP to the local
fake of Discord's REST API. On SQLite: the journeys' rows are checked on both databases
through the memory workspace (tests/test_pipeline.py, test_nudges*.py, test_drills.py, ...)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.clock import ManualClock
from bot.cohorts import local_at, week_start
from bot.db.models import Cohort, Member
from bot.db.schedule_models import OutboxMessage
from bot.features.cohort.leaderboard import leaderboard_posts
from bot.jobs import registered_jobs
from bot.outbox import Dispatcher
from bot.router import SORRY
from tests.discord_fake import (
    Bot,
    FakeDiscord,
    Person,
    Request,
    callback_of,
    click,
    dm_channel_id,
    message_from,
    sends,
    slash,
    submit,
    text_of,
)

# Discord's side (payloads, rendering, mentions): the same on either database; the flows'
# rows are checked on both through the memory workspace.
pytestmark = pytest.mark.sqlite_only

ORG = Person(100, "alice", admin=True)
BOB = Person(101, "bob")
CAROL = Person(102, "carol")
DAVE = Person(103, "dave")
GUILD = 555
CHANNEL = 777
PING = "@everyone Corp"


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _all_text(req: Request) -> str:
    return "\n".join(_strings(req.json))


def _run(bot: Bot, payload: dict[str, Any]) -> Request:
    """One interaction, answered once, privately, with an embed; no crash, no ping."""
    reqs = bot.send(payload)
    cb = callback_of(reqs)
    for r in sends(reqs):
        assert r.message["allowed_mentions"] == {"parse": []}, r.path
        assert SORRY not in text_of(r), text_of(r)
    if cb.json["type"] == 4:
        assert cb.ephemeral, text_of(cb)
        assert cb.message["embeds"], cb.json
    return cb


def _buttons(req: Request) -> dict[str, str]:
    """label -> custom_id of every button on the message."""
    return {
        b["label"]: b["custom_id"]
        for row in req.message.get("components", [])
        for b in row["components"]
    }


def _dispatch(bot: Bot, app: App, at: datetime, jobs: list[Any] | None = None) -> int:
    """What `cohortbot serve` does on a tick: run the jobs, then drain the outbox. Returns how
    many messages the jobs queued (counted in the outbox: run_at's own count reads the driver's
    rowcount, which psycopg reports as -1 for these inserts)."""
    before = _outbox_size(app)
    app.jobs.run_at(at, jobs)
    queued = _outbox_size(app) - before
    Dispatcher(app.sessions, bot.adapter.deliver).drain(at)
    return queued


def _outbox_size(app: App) -> int:
    with app.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def _member(app: App, who: Person) -> Member:
    with app.sessions() as s:
        m = s.scalar(select(Member).where(Member.platform_user_id == str(who.uid)))
        assert m is not None
        s.expunge(m)
        return m


# -- a. the drill loop -------------------------------------------------------------------------


def test_drill_loop(bot: Bot) -> None:
    cb = _run(bot, slash(BOB, "drill", "next"))
    assert cb.json["type"] == 4
    prompt = cb.message["embeds"][0]
    assert prompt["title"].startswith(("A new drill", "A review that is due"))
    drill_id = prompt["footer"]["text"].split(" · ")[0]
    answer = _buttons(cb)["Answer"]
    assert answer == f"drill.answer|{drill_id}"

    # Answer opens a modal (nothing else is sent in answer to the click).
    cb = _run(bot, click(BOB, message_from(cb), answer))
    assert cb.json["type"] == 9
    modal = cb.json["data"]
    assert modal["custom_id"].endswith(f":drill.answer|{drill_id}")
    [field] = [row["components"][0] for row in modal["components"]]
    assert field["custom_id"] == "answer" and field["style"] == 2  # paragraph

    text = (
        "In my last role our model's latency doubled; my task was to fix it before launch. "
        "I profiled the service, cached features and batched requests. As a result latency "
        "fell by 60%, and I learned to load-test early; now our team does it by default."
    )
    cb = _run(bot, submit(BOB, modal["custom_id"], {"answer": text}))
    assert cb.json["type"] == 4 and cb.ephemeral
    embed = cb.message["embeds"][0]
    assert embed["title"] == f"Feedback on {drill_id}"
    rating = _buttons(cb)
    assert list(rating) == ["Again", "Hard", "Good", "Easy"]
    assert rating["Good"] == f"drill.rate|{drill_id}:3"

    feedback = message_from(cb)
    cb = _run(bot, click(BOB, feedback, rating["Good"]))
    assert cb.json["type"] in (4, 7)
    assert text_of(cb).startswith("Rated Good: +")
    assert "Next drill" in _buttons(cb)

    # A second press of the same rating is refused: the drill is rated once.
    cb = _run(bot, click(BOB, feedback, rating["Good"]))
    assert "already rated" in text_of(cb)

    cb = _run(bot, slash(BOB, "drill", "stats"))
    stats = cb.message["embeds"][0]
    assert stats["title"] == "Your practice"
    assert text_of(cb).startswith("1 drill done.")
    fields = {f["name"]: f["value"] for f in stats["fields"]}
    assert f"{drill_id} - Good" in fields["Recent"]


def test_someone_else_cannot_rate_my_drill(bot: Bot) -> None:
    _run(bot, slash(BOB, "drill", "next"))
    cb = _run(bot, slash(BOB, "drill", "answer", {"text": "We shipped it; I learned a lot."}))
    cb = _run(bot, click(CAROL, message_from(cb), _buttons(cb)["Good"]))
    assert not text_of(cb).startswith("Rated")
    cb = _run(bot, slash(BOB, "drill", "stats"))
    assert text_of(cb).startswith("0 drills done")


# -- b. a pipeline with an offer, and its nudges ------------------------------------------------


def _pipeline_with_offer(bot: Bot, who: Person, offer_from: str, others: list[str]) -> None:
    for name in [offer_from, *others]:
        cb = _run(bot, slash(who, "pipeline", "add", {"company": name, "role": "ML Engineer"}))
        assert cb.json["type"] == 4
    if others:
        _run(bot, slash(who, "pipeline", "move", {"company": others[0], "stage": "screen"}))
    cb = _run(
        bot,
        slash(who, "pipeline", "offer", {"company": offer_from, "deadline": "friday 17:00"}),
    )
    assert "Moved" in text_of(cb) and "Fri" in str(cb.message["embeds"])


def test_pipeline_with_an_offer_and_its_nudges(
    bot: Bot, app: App, fake: FakeDiscord, clock: ManualClock
) -> None:
    others = ["Globex", PING]
    for name in ["Acme", *others]:
        cb = _run(bot, slash(BOB, "pipeline", "add", {"company": name, "role": "ML Engineer"}))
        assert name.replace("@", "@\u200b") in _all_text(cb)
    cb = _run(bot, slash(BOB, "pipeline", "move", {"company": "glob", "stage": "screen"}))
    assert "screen" in _all_text(cb)
    cb = _run(
        bot,
        slash(BOB, "pipeline", "interview", {"company": "@every", "when": "tomorrow 14:00"}),
    )
    assert "Tue" in _all_text(cb)
    cb = _run(bot, slash(BOB, "pipeline", "offer", {"company": "acme", "deadline": "friday 17:00"}))
    assert "Congratulations" in text_of(cb) and "Fri" in _all_text(cb)

    # One private message: a letter a page, one per other active company; Next edits it.
    reqs = bot.send(slash(BOB, "letter", options={"kind": "alternatives"}))
    [first] = sends(reqs)
    assert first.ephemeral
    bodies = [_all_text(first)]
    nxt = next(i for label, i in _buttons(first).items() if label == "Next")
    reqs = bot.send(click(BOB, message_from(first), nxt))
    # The pressed message, updated (on a busy machine: deferred, then edited).
    assert callback_of(reqs).json["type"] in (6, 7)
    [*_, turned] = sends(reqs)
    assert turned.path.endswith("/callback") or turned.method == "PATCH"
    bodies.append(_all_text(turned))
    assert "Next" not in _buttons(turned)
    assert "Globex" in bodies[0] + bodies[1] and "@\u200beveryone Corp" in bodies[0] + bodies[1]
    assert all("Acme" in b for b in bodies)
    assert "1 of 2" in bodies[0] and "2 of 2" in bodies[1]

    cb = _run(bot, slash(BOB, "offer", "compare"))
    assert "Acme" in _all_text(cb)

    for r in fake.matching("POST", r"."):
        assert "@everyone" not in _all_text(r), r.path  # never a live mass mention

    # The scheduler: alternatives letters go out by DM at a sensible local hour.
    fake.clear()
    at = clock.now() + timedelta(hours=1)
    assert _dispatch(bot, app, at) >= len(others)
    posts = fake.matching("POST", r"^/channels/\d+/messages$")
    assert posts and all(r.path == f"/channels/{dm_channel_id(BOB.uid)}/messages" for r in posts)
    assert not fake.matching("POST", rf"^/channels/{CHANNEL}/")
    assert not fake.matching("POST", r"^/(interactions|webhooks)/")
    alts = [r for r in posts if any(i.startswith("nudge.altsent|") for i in _buttons(r).values())]
    assert len(alts) == len(others)
    for r in posts:
        assert r.json["allowed_mentions"] == {"parse": []}
        assert "@everyone" not in _all_text(r)
    texts = "\n".join(_all_text(r) for r in alts)
    assert "Globex" in texts and "@\u200beveryone Corp" in texts

    # A second tick sends nothing twice.
    fake.clear()
    _dispatch(bot, app, at + timedelta(minutes=15))
    assert not [
        r
        for r in fake.matching("POST", r"^/channels/\d+/messages$")
        if any(i.startswith("nudge.altsent|") for i in _buttons(r).values())
    ]


# -- c. a leaderboard post ---------------------------------------------------------------------


def test_leaderboard_post(bot: Bot, app: App, fake: FakeDiscord, clock: ManualClock) -> None:
    cb = _run(bot, slash(BOB, "cohort", "setup", {"zone": "Europe/Berlin"}))
    assert "organizer" in text_of(cb).lower() or "admin" in text_of(cb).lower()
    with app.sessions() as s:
        assert s.scalar(select(Cohort)) is None  # a member cannot set the cohort up

    reqs = bot.send(slash(ORG, "cohort", "setup", {"zone": "Europe/Berlin"}))
    assert callback_of(reqs).ephemeral
    [announce] = fake.matching("POST", rf"^/channels/{CHANNEL}/messages$")
    assert announce.json["embeds"][0]["title"] == "Cohortbot is set up"
    assert announce.json["allowed_mentions"] == {"parse": []}

    # Bob shares his pipeline counts; his company and pay must still never be posted.
    _run(bot, slash(BOB, "settings", "public", {"state": "on"}))
    _run(bot, slash(BOB, "pipeline", "add", {"company": "Acme"}))
    _run(bot, slash(BOB, "pipeline", "offer", {"company": "Acme", "base": "187k"}))
    for who in (BOB, CAROL):
        _run(bot, slash(who, "drill", "next"))
        _run(bot, slash(who, "drill", "answer", {"text": "I led it; we shipped; I learned."}))
        cb = _run(bot, slash(who, "drill", "rate", {"rating": "good"}))
        assert text_of(cb).startswith("Rated Good")

    with app.sessions() as s:
        cohort = s.scalar(select(Cohort))
        assert cohort is not None and cohort.channel_id == str(CHANNEL)
        tz = cohort.timezone
        today = clock.now().date()
        day = week_start(today) + timedelta(days=cohort.leaderboard_weekday)
        post_at = local_at(day, cohort.leaderboard_time, ZoneInfo(tz))
    if post_at <= clock.now():  # a post covers the week that ended: the next one shows today's
        post_at += timedelta(days=7)
    job = [j for j in registered_jobs() if j.fn is leaderboard_posts]
    fake.clear()
    assert _dispatch(bot, app, post_at - timedelta(minutes=1), job) == 0  # not yet
    assert _dispatch(bot, app, post_at, job) == 1
    [post] = fake.matching("POST", r"^/channels/\d+/messages$")
    assert post.path == f"/channels/{CHANNEL}/messages"
    assert post.headers["Content-Type"].startswith("multipart/form-data")
    [embed] = post.json["embeds"]
    assert embed["title"].startswith("Leaderboard: week of")
    assert "bob" in embed["description"].lower() and "carol" in embed["description"].lower()
    [png] = post.files
    # discord.py sends every file as octet-stream; Discord goes by the name and the bytes.
    assert png["filename"].endswith(".png") and png["data"].startswith(b"\x89PNG")
    assert embed["image"] == {"url": f"attachment://{png['filename']}"}
    assert post.json["attachments"] == [{"id": 0, "filename": png["filename"]}]
    assert post.json["allowed_mentions"] == {"parse": []}
    body = _all_text(post)
    assert "1 application" in body  # Bob's counts, shared by choice
    assert "Acme" not in body and "187" not in body
    assert not re.search(r"\b\d{2,3}\s?k\b|[$€£]", body)

    # Posted once: a later tick in the same window adds nothing.
    fake.clear()
    assert _dispatch(bot, app, post_at + timedelta(minutes=15), job) == 0
    assert not fake.matching("POST", r"^/channels/")


# -- d. a member whose DMs are closed -----------------------------------------------------------


def test_closed_dms_park_one_member_and_spare_the_rest(
    bot: Bot, app: App, fake: FakeDiscord, clock: ManualClock
) -> None:
    _pipeline_with_offer(bot, BOB, "Acme", ["Globex"])
    _pipeline_with_offer(bot, CAROL, "Initech", ["Hooli", "Umbrella"])
    carol_dms = rf"^/channels/{dm_channel_id(CAROL.uid)}/messages$"
    fake.fail(
        "POST", carol_dms, 403, {"message": "Cannot send messages to this user", "code": 50007}
    )
    fake.clear()
    at = clock.now() + timedelta(hours=1)
    assert _dispatch(bot, app, at) >= 3

    assert len(fake.matching("POST", carol_dms)) == 1  # tried once, then parked
    bob = fake.matching("POST", rf"^/channels/{dm_channel_id(BOB.uid)}/messages$")
    assert any("Globex" in _all_text(r) for r in bob)
    carol, bob_row = _member(app, CAROL), _member(app, BOB)
    assert carol.undeliverable and not bob_row.undeliverable
    with app.sessions() as s:
        rows = s.execute(select(OutboxMessage.member_id, OutboxMessage.status)).all()
    assert {st for m, st in rows if m == carol.id} == {"undeliverable"}
    assert len([1 for m, _ in rows if m == carol.id]) >= 2  # her other DM was parked too
    assert {st for m, st in rows if m == bob_row.id} == {"sent"}

    # Once: later ticks neither try Carol again nor hold Bob up.
    fake.clear()
    _dispatch(bot, app, at + timedelta(days=1, hours=1))
    assert not fake.matching("POST", carol_dms)
