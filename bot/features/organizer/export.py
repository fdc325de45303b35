"""/cohort export: the cohort by week as a CSV, for a bootcamp's outcome reporting.

One row per member and week: drills, daily drills answered, streak at the week's end, whether
they were paired for a mock interview, and, for members who share, how far their applications
had got by the week's end and offers accepted. Consent applies as everywhere: a member who
shares nothing has empty pipeline cells; no company name and no figure about pay is written."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func, select

from bot.cohorts import week_start
from bot.db.drill_models import Review
from bot.db.models import Member, MemberSettings
from bot.db.organizer_models import DEFAULT_SHARE, PipelineSharing
from bot.db.pipeline_models import Application, StageMove
from bot.db.schedule_models import MockPair
from bot.features.organizer.scope import organizer_cohort
from bot.features.organizer.status import FUNNEL, sent_drills
from bot.router import Ctx, command
from bot.types import Attachment, Reply

MAX_WEEKS = 26
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COLUMNS = (
    "week_start",
    "member",
    "shares",
    "drills",
    "daily_drills_sent",
    "daily_drills_answered",
    "streak_at_week_end",
    "mock_paired",
    *(f"reached_{s}" for s in FUNNEL),
)


def _streak_at(days: set[date], end: date, drill_days: str) -> int:
    """Consecutive drill days with a drill, counted back from `end`: a day that is not one
    of the member's drill days neither counts nor breaks it; `end` itself, if it had no
    drill, does not break it either (as for a live streak, the day may not be over)."""
    wanted = {DAY_KEYS.index(k) for k in drill_days.split(",") if k in DAY_KEYS} or set(range(7))
    n, day = 0, end
    if day not in days:
        day -= timedelta(days=1)
    while day.weekday() not in wanted or day in days:
        if day in days:
            n += 1
        elif n == 0 and (end - day).days > 7:
            break
        day -= timedelta(days=1)
        if (end - day).days > 400:
            break
    return n


@command("cohort export")
def cohort_export(ctx: Ctx) -> Reply:
    c = organizer_cohort(ctx)
    today = c.local_now(ctx.now).date()
    first = week_start(c.start_date or today)
    last = week_start(today)
    if (last - first).days // 7 >= MAX_WEEKS:
        first = last - timedelta(days=7 * (MAX_WEEKS - 1))
    session = ctx.session
    in_cohort = (Member.cohort_id == c.id, Member.is_admin.is_(False))
    members = session.execute(
        select(
            Member.id,
            Member.display_name,
            MemberSettings.drill_days,
            func.coalesce(PipelineSharing.level, DEFAULT_SHARE),
        )
        .join(MemberSettings, MemberSettings.member_id == Member.id)
        .outerjoin(PipelineSharing, PipelineSharing.member_id == Member.id)
        .where(*in_cohort)
        .order_by(Member.display_name)
    ).all()
    drill_days: dict[int, set[date]] = defaultdict(set)
    drills: dict[tuple[int, date], int] = defaultdict(int)
    for mid, d, n in session.execute(
        select(Review.member_id, Review.local_date, func.count())
        .join(Member, Member.id == Review.member_id)
        .where(*in_cohort, Review.local_date >= first - timedelta(days=60))
        .group_by(Review.member_id, Review.local_date)
    ).all():
        drill_days[mid].add(d)
        if d >= first:
            drills[(mid, week_start(d))] += int(n)
    sent = sent_drills(c.id, first, today, ctx.now)
    daily: dict[tuple[int, date], tuple[int, int]] = defaultdict(lambda: (0, 0))
    for mid, d, n, a in session.execute(
        select(sent.c.mid, sent.c.day, func.count(), func.sum(sent.c.done)).group_by(
            sent.c.mid, sent.c.day
        )
    ).all():
        sent_n, done = daily[(mid, week_start(d))]
        daily[(mid, week_start(d))] = (sent_n + int(n), done + int(a or 0))
    paired: set[tuple[int, date]] = set()
    for a, b, c3, wk in session.execute(
        select(MockPair.member_a, MockPair.member_b, MockPair.member_c, MockPair.week_start).where(
            MockPair.cohort_id == c.id, MockPair.week_start >= first
        )
    ).all():
        for who in (a, b, c3):
            if who is not None:
                paired.add((who, week_start(wk)))
    # How far each sharing member's applications had got by each week's end: every move into
    # a funnel stage, and the stage each was added at (its first move).
    sharing = [m.id for m in members if m[3] != "none"]
    rank = {s: i for i, s in enumerate(FUNNEL)}
    moves: dict[int, list[tuple[date, int, int]]] = defaultdict(list)
    if sharing:
        for mid, app, stage, at in session.execute(
            select(StageMove.member_id, StageMove.application_id, StageMove.to_stage, StageMove.at)
            .join(Member, Member.id == StageMove.member_id)
            .join(Application, Application.id == StageMove.application_id)
            .outerjoin(PipelineSharing, PipelineSharing.member_id == Member.id)
            .where(
                *in_cohort,
                func.coalesce(PipelineSharing.level, DEFAULT_SHARE) != "none",
                StageMove.to_stage.in_(FUNNEL),
            )
        ).all():
            moves[mid].append((at.astimezone(c.tz).date(), app, rank[stage]))
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(COLUMNS)
    weeks = [first + timedelta(days=7 * i) for i in range((last - first).days // 7 + 1)]
    for mid, name, days, share in members:
        for wk in weeks:
            end = wk + timedelta(days=6)
            got, done = daily[(mid, wk)]
            row: list[object] = [
                wk.isoformat(),
                name,
                share,
                drills[(mid, wk)],
                got,
                done,
                _streak_at(drill_days[mid], min(end, today), days),
                "yes" if (mid, wk) in paired else "no",
            ]
            if share == "none":
                row.extend("" for _ in FUNNEL)
            else:
                furthest: dict[int, int] = {}
                for d, app, r in moves[mid]:
                    if d <= end:
                        furthest[app] = max(furthest.get(app, -1), r)
                row.extend(sum(1 for r in furthest.values() if r >= i) for i in range(len(FUNNEL)))
            out.writerow(row)
    data = buf.getvalue().encode()
    return Reply(
        f"The cohort by week, {len(members)} members over {len(weeks)} weeks, as CSV. "
        "Pipeline columns are filled only for members who share (/settings share); they hold "
        "counts, never company names or pay.",
        title="Cohort export",
        files=(Attachment(f"cohort-{c.id}-by-week-{today.isoformat()}.csv", data, "text/csv"),),
    )


__all__ = ["COLUMNS", "cohort_export"]
