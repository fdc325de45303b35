"""Generated cohorts lived through for weeks on the memory workspace, and the rules a cohort
expects of the bot, checked over everything that was sent.

A `Plan` is what hypothesis generates: members in zones on both hemispheres, their drill
times and days, how often they answer, pauses, pipelines with interviews, offers (weekend and
exploding deadlines among them), acceptances and members leaving. `live` runs it with the
clock jumping between the instants that matter; `violations` lists every broken rule."""

from __future__ import annotations

import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from adapters.memory import Delivery, MemoryWorkspace
from bot.app import build_app
from bot.clock import ManualClock
from bot.cohorts import NUDGE_WINDOW
from bot.config import load_settings
from bot.db.drill_models import Review
from bot.db.models import Cohort, Member, MemberSettings
from bot.db.pipeline_models import Application, Offer
from bot.db.schedule_models import OutboxMessage
from bot.db.session import make_engine
from bot.features.cohort import leaderboard
from bot.features.organizer import chart as organizer_chart
from bot.types import DM, Channel, Room

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Australia/Sydney",
)
COMPANIES = ("Acme", "Globex", "Initech", "Hooli", "Umbrella", "Vandelay")
CLOSED = ("declined", "withdrawn", "rejected")
# Kinds that ask the company for more time: one letter per offer, whatever the reasons.
EXTENSION_KINDS = ("extension", "deadline-weekend", "exploding", "far-apart")
WAKING = (time(7, 0), time(22, 0))


@dataclass(frozen=True)
class Company:
    name: str
    added_day: int
    interview_day: int | None  # days after added
    offer_day: int | None  # days after added
    deadline_hours: int  # from the offer: under 72 is exploding; some land on a weekend
    base: int
    outcome: str  # "accept", "decline", "reject", "open"
    outcome_day: int  # days after the offer (or after added for reject)


@dataclass(frozen=True)
class Person:
    name: str
    zone: str
    drill_time: str
    days: str
    answer_every: int  # 0: never answers; n: answers one scheduled day in n
    pause: tuple[int, int] | None  # (first day, days)
    mock: bool
    public: bool
    leaves_on: int | None
    companies: tuple[Company, ...] = ()


@dataclass(frozen=True)
class Plan:
    cohort_zone: str
    start: datetime
    weeks: int
    people: tuple[Person, ...]
    days: int = 0  # a shorter run than whole weeks, for the jump-versus-tick comparison
    offdays: tuple[int, ...] = ()  # the cohort's days off, as days after the start
    # "console" writes to each member's DM; "slack" gives each mock pair a room (a group DM),
    # which everyone in it sees at once.
    platform: str = "console"

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days or 7 * self.weeks)


@dataclass
class Lived:
    plan: Plan
    ws: MemoryWorkspace
    scheduled: list[Delivery] = field(default_factory=list)
    left_at: dict[str, datetime] = field(default_factory=dict)
    closed_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    accepted_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    touched: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)

    def closed_as_of(self, name: str, company: str, at: datetime) -> datetime | None:
        """When the process was closed, if it still was at `at`: declined, rejected,
        withdrawn by "Sent and close", and not touched again since (which reopens it)."""
        closed = self.closed_at.get((name, company))
        if closed is None or closed >= at:
            return None
        touched = self.touched.get((name, company), [])
        return None if any(closed < t < at for t in touched) else closed

    def settled_by_acceptance(self, name: str, company: str, at: datetime) -> datetime | None:
        """Whether, as of `at`, accepting another offer had settled this process: the first
        acceptance after the member last touched it (touching it later opens it again)."""
        last = max((t for t in self.touched.get((name, company), []) if t <= at), default=None)
        return min(
            (
                when
                for (who, other), when in self.accepted_at.items()
                if who == name
                and other != company
                and (last is None or when >= last)
                and when < at  # a message at the very instant went out before the command
            ),
            default=None,
        )


def _at(day: date, hhmm: str, zone: str) -> datetime:
    t = time(int(hhmm[:2]), int(hhmm[3:]))
    return datetime.combine(day, t, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _script(plan: Plan) -> list[tuple[datetime, str, str]]:
    """Every command the members type, at local daytime hours, in time order."""
    out: list[tuple[datetime, str, str]] = []
    first = plan.start.date()
    for p in plan.people:

        def on(day: int, hhmm: str, line: str, p: Person = p) -> None:
            out.append((_at(first + timedelta(days=day), hhmm, p.zone), p.name, line))

        on(0, "10:00", f"/settings tz {p.zone}")
        on(0, "10:01", f"/settings drill-time {p.drill_time}")
        on(0, "10:02", f"/settings days {p.days}")
        if p.mock:
            on(0, "10:03", "/mock join")
        if p.public:
            on(0, "10:04", "/settings public on")
        if p.pause:
            until = first + timedelta(days=p.pause[0] + p.pause[1])
            on(p.pause[0], "19:00", f"/settings pause until {until.isoformat()}")
        if p.answer_every:
            local_days = (plan.end - plan.start).days
            keys = p.days.split(",") if p.days not in ("weekdays", "everyday") else []
            for d in range(1, local_days, p.answer_every):
                day = first + timedelta(days=d)
                wd = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
                if (p.days == "weekdays" and day.weekday() >= 5) or (keys and wd not in keys):
                    continue
                hh = min(int(p.drill_time[:2]) + 1, 21)
                on(d, f"{hh:02d}:{p.drill_time[3:]}", "/drill answer I would start by asking why")
                on(d, f"{hh:02d}:{int(p.drill_time[3:]) + 1:02d}", "/drill rate good")
        for c in p.companies:
            on(c.added_day, "11:00", f"/pipeline add {c.name} stage applied")
            if c.interview_day is not None:
                when = first + timedelta(days=c.added_day + c.interview_day)
                on(c.added_day, "11:05", f"/pipeline interview {c.name} {when.isoformat()} 14:00")
            if c.offer_day is not None:
                got = _at(first + timedelta(days=c.added_day + c.offer_day), "12:00", p.zone)
                deadline = (got + timedelta(hours=c.deadline_hours)).astimezone(ZoneInfo(p.zone))
                on(
                    c.added_day + c.offer_day,
                    "12:00",
                    f"/pipeline offer {c.name} deadline {deadline:%Y-%m-%d %H:%M} base {c.base}",
                )
                if c.outcome in ("accept", "decline"):
                    stage = "accepted" if c.outcome == "accept" else "declined"
                    day = c.added_day + c.offer_day + c.outcome_day
                    on(day, "16:00", f"/pipeline move {c.name} {stage}")
            elif c.outcome == "reject":
                on(c.added_day + c.outcome_day, "16:00", f"/pipeline move {c.name} rejected")
        if p.leaves_on is not None:
            on(p.leaves_on, "20:30", "/settings forget-me")
    out.sort(key=lambda e: e[0])
    return out


def _quick_chart(per_day: Sequence[tuple[date, int]], funnel: Sequence[object]) -> bytes:
    return b"\x89PNG\r\n\x1a\n(simulated chart)"


def live(plan: Plan, template: Path, tmp: Path, *, jump: bool = True) -> Lived:
    """Run the plan on a fresh copy of the migrated database, the clock jumping (or ticking
    every job's interval, which is what jumping must be equivalent to)."""
    path = tmp / "sim.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    settings = load_settings(database_url=url, export_dir=str(tmp / "exports"))
    clock = ManualClock(plan.start)
    app = build_app(settings, clock, engine=engine, upgrade=False)
    ws = MemoryWorkspace(app, clock, platform=plan.platform, jump=jump)
    ws.user("coach", admin=True)
    ws.command("coach", f"/cohort setup {plan.cohort_zone} {plan.start.date().isoformat()}")
    for off in plan.offdays:
        day = plan.start.date() + timedelta(days=off)
        ws.command("coach", f"/cohort offday add {day.isoformat()}")
    lived = Lived(plan, ws)
    # Drawing a chart costs a good part of a second and has tests of its own (test_cohort,
    # tests/test_organizer_*, the Slack and Discord uploads); a simulated week needs only that
    # a leaderboard post and an organizer's digest carry one.
    drawn = leaderboard.leaderboard_chart, organizer_chart.digest_chart
    leaderboard.leaderboard_chart = _quick_chart
    organizer_chart.digest_chart = _quick_chart
    try:
        _run(lived, plan)
    finally:
        leaderboard.leaderboard_chart, organizer_chart.digest_chart = drawn
    return lived


def _run(lived: Lived, plan: Plan) -> None:
    ws, clock = lived.ws, lived.ws.clock
    end = plan.end
    for at, name, line in _script(plan):
        if name in lived.left_at or at >= end:
            continue
        if at > clock.now():
            _send_decline_letters(lived, ws.advance(at))
        out = ws.command(name, line, where=ws.dm(name))
        if line == "/settings forget-me":
            [yes] = [
                b
                for d in out
                for b in d.reply.buttons
                if b.style == "danger" or "delete" in b.label.lower()
            ][:1]
            ws.press(name, yes, where=ws.dm(name))
            lived.left_at[name] = clock.now()
        elif line.startswith("/pipeline move"):
            company, stage = line.split()[2], line.split()[3]
            if stage == "accepted":
                lived.accepted_at[(name, company)] = clock.now()
            else:
                lived.closed_at[(name, company)] = clock.now()
        if line.startswith("/pipeline"):
            lived.touched.setdefault((name, line.split()[2]), []).append(clock.now())
    _send_decline_letters(lived, ws.advance(end))


def _send_decline_letters(lived: Lived, delivered: list[Delivery]) -> None:
    """Record what arrived; a member who gets a decline letter after accepting sends it and
    presses "Sent and close", which closes that process: nothing more about it may come."""
    lived.scheduled += delivered
    people = {p.name: p for p in lived.plan.people}
    for d in delivered:
        t = d.outbound.target
        if not isinstance(t, DM) or t.user.display_name in lived.left_at:
            continue
        name = t.user.display_name
        for b in d.reply.buttons:
            if b.action != "nudge.declined":
                continue
            lived.ws.press(name, b, where=lived.ws.dm(name))
            title = d.reply.title or ""
            for c in people[name].companies:
                if title.endswith(c.name):
                    lived.closed_at[(name, c.name)] = lived.ws.clock.now()


def violations(lived: Lived) -> list[str]:
    """Every rule of the cohort broken in this run, each as one readable line."""
    ws, plan = lived.ws, lived.plan
    people = {p.name: p for p in plan.people}
    bad: list[str] = []
    with ws.app.sessions() as s:
        sent = s.execute(
            select(
                OutboxMessage.member_id,
                OutboxMessage.kind,
                OutboxMessage.subject,
                OutboxMessage.local_date,
                OutboxMessage.sent_at,
                OutboxMessage.payload,
            ).where(OutboxMessage.status == "sent")
        ).all()
        names = {
            mid: (name, tz, dt)
            for mid, name, tz, dt in s.execute(
                select(
                    Member.id,
                    Member.display_name,
                    MemberSettings.timezone,
                    MemberSettings.drill_time,
                ).join(MemberSettings, MemberSettings.member_id == Member.id)
            ).all()
        }
        offers = s.execute(
            select(Offer.id, Member.display_name, Application.company)
            .join(Application, Application.id == Offer.application_id)
            .join(Member, Member.id == Offer.member_id)
        ).all()
        reviews = s.execute(
            select(Member.display_name, Review.local_date).join(
                Member, Member.id == Review.member_id
            )
        ).all()
        cohort_of_channel: dict[str | None, int] = dict(
            s.execute(select(Cohort.channel_id, Cohort.id)).all()
        )
        cohort_of_name: dict[str, int | None] = dict(
            s.execute(select(Member.display_name, Member.cohort_id)).all()
        )

    # 1. No scheduled DM outside waking hours, except the member's own drill at its time; a
    # pair's room notifies everyone in it, so it comes when they are all awake.
    for d in lived.scheduled:
        t = d.outbound.target
        if isinstance(t, Room):
            zones = [ZoneInfo(people[u.display_name].zone) for u in t.users]

            def awake(
                at: datetime, zones: list[ZoneInfo] = zones, hours: tuple[time, time] = WAKING
            ) -> int:
                return sum(hours[0] <= at.astimezone(z).time() < hours[1] for z in zones)

            # Everyone awake; where their zones share no sensible hour (the bot's nudge
            # window), as many as ever can be.
            best = max(
                awake(d.at + timedelta(minutes=15 * k), hours=NUDGE_WINDOW) for k in range(-96, 97)
            )
            if awake(d.at) < best:
                hours = ", ".join(f"{d.at.astimezone(z):%a %H:%M}" for z in zones)
                bad.append(f"a room spoke at {hours} ({awake(d.at)} of {best}): {d.reply.title}")
            continue
        if not isinstance(t, DM):
            continue
        p = people.get(t.user.display_name)
        if p is None:
            continue
        local = d.at.astimezone(ZoneInfo(p.zone))
        own_drill = any(b.action == "drill.answer" for b in d.reply.buttons) and (
            f"{local:%H:%M}" >= p.drill_time
            and local - timedelta(minutes=10) < _at(local.date(), p.drill_time, p.zone)
        )
        if not own_drill and not (WAKING[0] <= local.time() < WAKING[1]):
            bad.append(f"{p.name} got a DM at {local:%a %d %b %H:%M} local: {d.reply.title}")

    # 2. Never two copies of a message to one person on one local day.
    copies: Counter[tuple[str, date, str]] = Counter()
    for d in lived.scheduled:
        t = d.outbound.target
        if isinstance(t, DM) and (p := people.get(t.user.display_name)):
            day = d.at.astimezone(ZoneInfo(p.zone)).date()
            copies[(p.name, day, f"{d.reply.title}|{d.text}")] += 1
    for (name, day, what), n in copies.items():
        if n > 1:
            bad.append(f"{name} got {n} copies on {day}: {what[:80]}")

    # 3. No drill DMed on more than 3 consecutive scheduled days.
    drills: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for mid, kind, subject, day, _at_, _p in sent:
        if kind == "drill" and mid is not None:
            drills[mid].append((day, subject))
    for mid, rows in drills.items():
        rows.sort()
        run = 1
        for (_, a), (day, b) in pairwise(rows):
            run = run + 1 if a == b else 1
            if run > 3:
                bad.append(f"{names[mid][0]} was sent {b} {run} scheduled days running ({day})")

    # 3b. No daily drill on a cohort off day, or on a day the member paused.
    offdays = {plan.start.date() + timedelta(days=k) for k in plan.offdays}
    for mid, rows in drills.items():
        p = people.get(names[mid][0])
        for day, _subject in rows:
            if day in offdays:
                bad.append(f"{names[mid][0]} got a daily drill on the off day {day}")
            if p and p.pause:
                first = plan.start.date() + timedelta(days=p.pause[0] + 1)
                if first <= day < first + timedelta(days=p.pause[1] - 1):
                    bad.append(f"{p.name} got a daily drill on {day}, while paused")

    # 4. Nothing about a closed process after it closed; after an acceptance, the other
    #    processes hear of nothing but their decline letter.
    for d in lived.scheduled:
        t = d.outbound.target
        if not isinstance(t, DM):
            continue
        name = t.user.display_name
        text = f"{d.reply.title} {d.text}"
        kinds = {b.value.split(":")[0] for b in d.reply.buttons if b.action == "nudge.stop"}
        for who, company in lived.closed_at:
            if who == name and company in text and lived.closed_as_of(name, company, d.at):
                bad.append(f"{name} heard about closed {company} at {d.at}: {d.reply.title}")
        for (who, company), accepted in lived.accepted_at.items():
            pushed = kinds - {"accepted", "review"}
            if who == name and d.at > accepted and company in text and pushed:
                bad.append(f"{name} was nudged ({kinds}) about accepted {company}")
        if kinds - {"accepted", "review"}:
            others = [
                c.name
                for c in people[name].companies
                if c.name in text and lived.settled_by_acceptance(name, c.name, d.at) is not None
            ]
            if others:
                bad.append(f"{name} was nudged ({kinds}) about {others} after accepting")

    # 5. One extension letter per offer.
    ext: Counter[tuple[int, str]] = Counter()
    for mid, kind, subject, _d, _at_, _p in sent:
        if kind in EXTENSION_KINDS and mid is not None:
            first_offer = next((tok for tok in subject.split("-") if tok.startswith("o")), subject)
            ext[(mid, first_offer)] += 1
    for (mid, offer), n in ext.items():
        if n > 1:
            bad.append(f"{names[mid][0]} got {n} extension letters for offer {offer}")

    # 6. Every offer deadline gets its reminders, unless the process closed first.
    reminded = {
        (mid, subject) for mid, kind, subject, *_ in sent if kind == "deadline" and mid is not None
    }
    for oid, name, company in offers:
        p = people[name]
        c = next(c for c in p.companies if c.name == company)
        if c.offer_day is None or name in lived.left_at:
            continue
        got = _at(plan.start.date() + timedelta(days=c.added_day + c.offer_day), "12:00", p.zone)
        deadline = got + timedelta(hours=c.deadline_hours)
        accepted = lived.accepted_at.get((name, company))
        mid = next(m for m, v in names.items() if v[0] == name)
        # About three days ahead, and again in the last day (a day ahead, or on the morning
        # of the deadline when the day-ahead one would land on that morning anyway).
        for labels, before in ((("3d",), timedelta(days=3)), (("1d", "day"), timedelta(days=1))):
            fire = deadline - before
            if deadline - got <= before or fire >= plan.end:
                continue
            # Closed (or settled by accepting another offer) before it fell due, allowing for
            # the move into waking hours: no reminder is owed.
            due = fire + timedelta(hours=14)
            if (
                (accepted is not None and accepted <= due)
                or lived.closed_as_of(name, company, due) is not None
                or lived.settled_by_acceptance(name, company, due) is not None
            ):
                continue
            if not any((mid, f"o{oid}-{label}") in reminded for label in labels):
                bad.append(f"{name}'s offer from {company} got no {labels[0]} deadline reminder")

    # 7. Every leaderboard post that covers drills shows them.
    done: dict[date, set[str]] = defaultdict(set)
    for name, day in reviews:
        done[day].add(name)
    for d in lived.scheduled:
        if isinstance(d.outbound.target, Channel) and (d.reply.title or "").startswith(
            "Leaderboard"
        ):
            post_day = d.at.astimezone(ZoneInfo(plan.cohort_zone)).date()
            who = set().union(*(done[post_day - timedelta(days=k)] for k in range(1, 8)))
            who -= set(lived.left_at)
            missing = [n for n in sorted(who) if f"{n}:" not in d.text]
            if missing or (who and "No drills" in d.text):
                bad.append(f"leaderboard of {post_day} leaves out {missing}")

    # 8. No company name or figure in a channel post.
    secrets = [c.name for p in plan.people for c in p.companies] + [
        f for p in plan.people for c in p.companies for f in (str(c.base), f"{c.base:,}")
    ]
    for d in lived.scheduled:
        if isinstance(d.outbound.target, Channel):
            text = f"{d.reply.title} {d.text} " + " ".join(f.value for f in d.reply.fields)
            leaked = [x for x in secrets if x in text]
            if leaked:
                bad.append(f"channel post {d.reply.title!r} names {leaked}")

    # 8b. A leaderboard goes to a cohort's own channel and ranks only that cohort's members
    #     (members who left since are no longer known, and not counted against it).
    for d in lived.scheduled:
        t = d.outbound.target
        if isinstance(t, Channel) and (d.reply.title or "").startswith("Leaderboard"):
            cid = cohort_of_channel.get(t.conversation.id)
            ranked = re.findall(r"^\d+\. (.+?): \d+ points", d.text, re.M)
            strangers = [n for n in ranked if cohort_of_name.get(n, cid) != cid]
            if cid is None or strangers:
                bad.append(f"leaderboard in #{t.conversation.name} ranks {strangers}")

    # 9. Nobody hears from the bot after leaving.
    for d in lived.scheduled:
        t = d.outbound.target
        gone = lived.left_at.get(t.user.display_name) if isinstance(t, DM) else None
        if gone is not None and d.at > gone:
            bad.append(f"{t.user.display_name} left at {gone} and got {d.reply.title}")
    return bad
