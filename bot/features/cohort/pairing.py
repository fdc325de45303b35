"""Mock-interview pairing: members who join are paired each week, no repeat pair while
another is possible, a trio when the count is odd; each gets a DM naming the partner and a
suggested drill for each side."""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.cohorts import (
    CohortInfo,
    all_cohorts,
    info_of,
    local_at,
    organized_cohort,
    require_cohort,
    waking,
    waking_all,
    week_start,
)
from bot.content import TRACKS, Content, Drill
from bot.dates import fmt_date
from bot.db.bulk import rows_among
from bot.db.models import Member, MemberSettings
from bot.db.schedule_models import MockOptIn, MockPair
from bot.errors import UserError
from bot.jobs import SOON, JobEnv, job, wakes
from bot.outbox import Scheduled
from bot.rooms import has_rooms, pair_room
from bot.router import Ctx, command
from bot.types import DM, Button, Outbound, Reply, User, room_link

PAIR_DAY = 0  # Monday
PAIR_TIME = time(9, 0)
STILL_USEFUL = timedelta(days=2)
MOCK_TRACKS = ("behavioral", "system-design", "ml-design", "coding", "negotiation")


def make_groups(ids: list[int], history: set[frozenset[int]], seed: int) -> list[list[int]]:
    """Pairs (and one trio if odd) that avoid past pairs where possible.

    Greedy over a seeded shuffle, preferring the partner this member has met least; with a
    few restarts, which is plenty for cohort-sized groups."""
    if len(ids) < 2:
        return []
    best: list[list[int]] | None = None
    best_repeats = 10**9
    for attempt in range(20):
        order = ids[:]
        random.Random(seed * 31 + attempt).shuffle(order)
        groups: list[list[int]] = []
        repeats = 0
        pool = order[:]
        while len(pool) >= 2:
            a = pool.pop(0)
            fresh = [b for b in pool if frozenset((a, b)) not in history]
            b = fresh[0] if fresh else pool[0]
            repeats += 0 if fresh else 1
            pool.remove(b)
            groups.append([a, b])
        if pool:  # odd: the last one joins the group where they repeat least
            c = pool[0]
            target = min(
                groups,
                key=lambda g: sum(frozenset((c, x)) in history for x in g),
            )
            repeats += sum(frozenset((c, x)) in history for x in target)
            target.append(c)
        if repeats < best_repeats:
            best, best_repeats = groups, repeats
        if repeats == 0:
            break
    return best or []


def suggested_drill(member_id: int, tracks: str, week: date, content: Content) -> Drill | None:
    """A drill to be interviewed on, different every week: a stable per-member order of the
    member's mock tracks, walked one step per week, so that neither side gets last week's."""
    own = [t for t in tracks.split(",") if t in MOCK_TRACKS] or list(MOCK_TRACKS)
    pool = sorted(
        (d for d in content.drills.values() if d.track in own),
        key=lambda d: hashlib.blake2s(f"{member_id}:{d.id}".encode(), digest_size=6).digest(),
    )
    if not pool:
        return None
    return pool[(week.toordinal() // 7) % len(pool)]


def members_of_pair(p: MockPair) -> list[int]:
    return [x for x in (p.member_a, p.member_b, p.member_c) if x is not None]


def check_in_buttons(pair_id: int | None) -> tuple[Button, ...]:
    if pair_id is None:  # a dry run (/cohort preview): no pair exists to check in to
        return ()
    return (
        Button("mock.met", str(pair_id), "We met", "primary"),
        Button("mock.missed", str(pair_id), "We couldn't"),
    )


def _history(session: Session, cohort_id: int) -> set[frozenset[int]]:
    seen: set[frozenset[int]] = set()
    for a, b, c in session.execute(
        select(MockPair.member_a, MockPair.member_b, MockPair.member_c).where(
            MockPair.cohort_id == cohort_id
        )
    ).all():
        group = [x for x in (a, b, c) if x is not None]
        seen.update(frozenset((x, y)) for x in group for y in group if x < y)
    return seen


def pair_week(
    session: Session,
    c: CohortInfo,
    week: date,
    now: datetime,
    content: Content,
    *,
    write: bool = True,
) -> list[Scheduled]:
    """Pair this week's volunteers (once per week) and return the DMs to send."""
    existing = session.scalars(
        select(MockPair).where(MockPair.cohort_id == c.id, MockPair.week_start == week)
    ).all()
    pair_ids: list[int | None] = []
    if existing:
        groups = [members_of_pair(p) for p in existing]
        pair_ids = [p.id for p in existing]
    else:
        ids = list(
            session.scalars(
                select(MockOptIn.member_id)
                .join(Member, Member.id == MockOptIn.member_id)
                .where(Member.cohort_id == c.id, Member.undeliverable.is_(False))
                .order_by(MockOptIn.member_id)
            )
        )
        groups = make_groups(ids, _history(session, c.id), week.toordinal())
        made = [
            MockPair(
                cohort_id=c.id,
                week_start=week,
                member_a=g[0],
                member_b=g[1],
                member_c=g[2] if len(g) > 2 else None,
                created_at=now,
            )
            for g in groups
        ]
        if write:
            session.add_all(made)
            session.flush()
        pair_ids = [p.id if write else None for p in made]
    everyone = [m for g in groups for m in g]
    if not everyone:
        return []
    info = {
        m.id: m
        for m in rows_among(
            session,
            select(
                Member.id,
                Member.platform_user_id,
                Member.display_name,
                MemberSettings.tracks,
                MemberSettings.timezone,
            ).join(MemberSettings, MemberSettings.member_id == Member.id),
            Member.id,
            everyone,
        )
    }
    drills = {
        mid: d
        for mid in everyone
        if (d := suggested_drill(mid, info[mid].tracks, week, content)) is not None
    }

    def user_of(mid: int) -> User:
        r = info[mid]
        return User(c.platform, c.workspace_external_id, r.platform_user_id, r.display_name)

    expires = local_at(week + timedelta(days=7), PAIR_TIME, c.tz)
    out: list[Scheduled] = []
    for pair_id, g in zip(pair_ids, groups, strict=True):
        if pair_id is not None and has_rooms(c.platform):
            users = [user_of(m) for m in g]
            zones = {m: info[m].timezone for m in g}
            out += _room_pairing(c, pair_id, week, now, users, g, zones, drills)
            continue
        for mid in g:
            partners = [p for p in g if p != mid]
            names = " and ".join(info[p].display_name for p in partners)
            lines = [f"This week you practise with {names}. Agree on a 45-minute slot by DM."]
            mine = drills.get(mid)
            if mine:
                lines.append(f"When they interview you ({TRACKS[mine.track]}): {mine.prompt}")
            for p in partners:
                theirs = drills.get(p)
                if theirs:
                    lines.append(
                        f"When you interview {info[p].display_name} "
                        f"({TRACKS[theirs.track]}): {theirs.prompt}"
                    )
            lines.append("Take turns: 20 minutes each, then 5 minutes of honest feedback.")
            if pair_id is not None:
                lines.append("Once you have met (or if you couldn't), press a button below.")
            out.append(
                Scheduled(
                    Outbound(
                        DM(user_of(mid)),
                        Reply(
                            "\n\n".join(lines),
                            title=f"Mock interview, week of {fmt_date(week)}",
                            buttons=check_in_buttons(pair_id),
                        ),
                    ),
                    workspace_id=c.workspace_id,
                    kind="mock",
                    subject=f"week-{week.isoformat()}",
                    local_date=week,
                    # The cohort's Monday morning is night in other zones: each member hears
                    # of their partner in their own waking hours.
                    due_at=waking(now, ZoneInfo(info[mid].timezone)),
                    member_id=mid,
                    expires_at=expires,
                )
            )
    return out


def _room_pairing(
    c: CohortInfo,
    pair_id: int,
    week: date,
    now: datetime,
    users: list[User],
    group: list[int],
    zones: dict[int, str],
    drills: dict[int, Drill],
) -> list[Scheduled]:
    """Where the platform gives a pair a room of its own: the suggested drills and the
    check-in buttons there, once for the pair, and a DM to each member linking to it."""
    room = pair_room(c, pair_id, week, users)
    names = {mid: u.display_name for mid, u in zip(group, users, strict=True)}
    everyone = list(names.values())
    together = ", ".join(everyone[:-1]) + f" and {everyone[-1]}"
    lines = [
        f"{together}: this is your room for this week's mock interview, just for the "
        f"{'two' if len(group) == 2 else 'three'} of you. Agree on a 45-minute slot here."
    ]
    for mid in group:
        theirs = drills.get(mid)
        if theirs is None:
            continue
        asking = " and ".join(n for m, n in names.items() if m != mid)
        lines.append(
            f"When {asking} interview{'s' if len(group) == 2 else ''} {names[mid]} "
            f"({TRACKS[theirs.track]}): {theirs.prompt}"
        )
    lines.append("Take turns: 20 minutes each, then 5 minutes of honest feedback.")
    lines.append(
        "Once you have met (or if you couldn't), press a button: one press counts "
        "for the pair, and each of you can say otherwise for themselves."
    )
    expires = local_at(week + timedelta(days=7), PAIR_TIME, c.tz)
    out = [
        Scheduled(
            Outbound(
                room,
                Reply(
                    "\n\n".join(lines),
                    title=f"Mock interview, week of {fmt_date(week)}",
                    buttons=check_in_buttons(pair_id),
                ),
            ),
            workspace_id=c.workspace_id,
            kind="mock-room",
            subject=room.key,
            local_date=week,
            # Everyone in a group DM or a thread is notified at once: when all are awake.
            due_at=waking_all(now, [ZoneInfo(zones[mid]) for mid in group]),
            expires_at=expires,
            target_key=f"p{pair_id}",
        )
    ]
    for mid, user in zip(group, users, strict=True):
        partners = " and ".join(n for m, n in names.items() if m != mid)
        # Where no room could be opened, the room's message comes to each DM, as the plain
        # words say.
        link = room_link(room.key, "a message of its own in your DMs")
        out.append(
            Scheduled(
                Outbound(
                    DM(user),
                    Reply(
                        f"This week you practise with {partners}. Your pair's room: {link}. The "
                        "suggested drills and the check-in buttons are there; agree on a "
                        "45-minute slot.",
                        title=f"Mock interview, week of {fmt_date(week)}",
                    ),
                ),
                workspace_id=c.workspace_id,
                kind="mock",
                subject=f"week-{week.isoformat()}",
                local_date=week,
                due_at=waking(now, ZoneInfo(zones[mid])),
                member_id=mid,
                expires_at=expires,
            )
        )
    return out


@job("mock-pairing", every=timedelta(minutes=15))
def weekly_pairing(now: datetime, session: Session, env: JobEnv) -> list[Scheduled]:
    out: list[Scheduled] = []
    for c in all_cohorts(session):
        week = week_start(c.local_now(now).date())
        pair_at = local_at(week + timedelta(days=PAIR_DAY), PAIR_TIME, c.tz)
        # Late in the week a pairing is no use any more: wait for next Monday.
        if not (pair_at <= now < pair_at + STILL_USEFUL):
            continue
        done = session.scalar(
            select(MockPair.id)
            .where(MockPair.cohort_id == c.id, MockPair.week_start == week)
            .limit(1)
        )
        if done is not None and not env.dry_run:
            continue  # paired (and the DMs queued in the same transaction) already
        out.extend(pair_week(session, c, week, now, env.content, write=not env.dry_run))
    return out


@wakes("mock-pairing")
def next_pairing(after: datetime, session: Session, env: JobEnv) -> datetime | None:
    """Next Monday's pairing, or at once while this week's window is open, nobody is paired
    yet and two members have joined (the second one joined after the pairing time)."""
    instants = []
    for c in all_cohorts(session):
        monday = week_start(c.local_now(after).date())
        for week in (0, 7, 14):
            at = local_at(monday + timedelta(days=PAIR_DAY + week), PAIR_TIME, c.tz)
            if at <= after < at + STILL_USEFUL and _unpaired(session, c.id, monday):
                instants.append(after + SOON)
                break
            if at > after:
                instants.append(at)
                break
    return min(instants, default=None)


def _unpaired(session: Session, cohort_id: int, week: date) -> bool:
    paired = session.scalar(
        select(MockPair.id)
        .where(MockPair.cohort_id == cohort_id, MockPair.week_start == week)
        .limit(1)
    )
    if paired is not None:
        return False
    volunteers = session.scalars(
        select(MockOptIn.member_id)
        .join(Member, Member.id == MockOptIn.member_id)
        .where(Member.cohort_id == cohort_id)
        .limit(2)
    ).all()
    return len(volunteers) >= 2


def _cohort(ctx: Ctx) -> CohortInfo:
    return info_of(ctx.session, require_cohort(ctx.session, ctx.member))


@command("mock join")
def mock_join(ctx: Ctx) -> Reply:
    _cohort(ctx)
    if ctx.session.get(MockOptIn, ctx.member.id) is None:
        ctx.session.add(MockOptIn(member_id=ctx.member.id, joined_at=ctx.now))
    return Reply(
        "You're in: each Monday I'll pair you with someone from the cohort for a mock "
        "interview, with a suggested drill for each of you. /mock leave to stop."
    )


@command("mock leave")
def mock_leave(ctx: Ctx) -> Reply:
    ctx.session.execute(delete(MockOptIn).where(MockOptIn.member_id == ctx.member.id))
    return Reply("You won't be paired from next week on. /mock join to come back.")


@command("mock status")
def mock_status(ctx: Ctx) -> Reply:
    c = _cohort(ctx)
    joined = ctx.session.get(MockOptIn, ctx.member.id) is not None
    week = week_start(c.local_now(ctx.now).date())
    mid = ctx.member.id
    pair = ctx.session.scalar(
        select(MockPair).where(
            MockPair.cohort_id == c.id,
            MockPair.week_start == week,
            (MockPair.member_a == mid) | (MockPair.member_b == mid) | (MockPair.member_c == mid),
        )
    )
    text = "You are in the weekly pairing." if joined else "You are not in the weekly pairing."
    if pair:
        others = [x for x in (pair.member_a, pair.member_b, pair.member_c) if x and x != mid]
        names = [ctx.session.get(Member, o).display_name for o in others]  # type: ignore[union-attr]
        text += f" This week you practise with {' and '.join(names)}."
    elif joined:
        text += " Pairs are made on Monday mornings."
    return Reply(text)


@command("cohort pair")
def cohort_pair_now(ctx: Ctx) -> Reply:
    c = info_of(ctx.session, organized_cohort(ctx.session, ctx.member, ctx.conversation))
    week = week_start(c.local_now(ctx.now).date())
    from bot.outbox import enqueue

    items = pair_week(ctx.session, c, week, ctx.now, ctx.content)
    if not items:
        raise UserError("Nobody to pair yet: members join with /mock join (at least two).")
    added = enqueue(ctx.session, items, ctx.now)
    groups = len({s.subject for s in items})
    return Reply(
        f"Paired {len(items)} members for the week of {fmt_date(week)}; "
        f"{added} DM(s) on their way." + ("" if added else " (They were paired already.)")
        if groups
        else "Nothing to do."
    )
