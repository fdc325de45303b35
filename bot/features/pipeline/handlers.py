"""/pipeline: a member's applications, kept privately, with every date the nudges need.

Every handler validates all of its input before it looks up or writes anything, so a bad value
leaves the database as it was (and the router rolls back on any UserError regardless).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import delete

from bot import pages
from bot.dates import fmt_date, fmt_when, parse_date, parse_when
from bot.db.pipeline_models import Application, Interview
from bot.db.schedule_models import OutboxMessage
from bot.errors import NotAllowed, UserError
from bot.features.pipeline.queries import (
    STAGE_ALIASES,
    STAGES,
    applications,
    cancel_queued,
    company_key,
    find_company,
    move_stage,
    next_date,
    owned_application,
    stage_of,
)
from bot.router import Ctx, action, command, form
from bot.text import as_id, clean, clip, plural
from bot.types import Attachment, Button, Field, Form, FormField, Outbound, Reply

COMPANY_LIMIT = 100
ROLE_LIMIT = 150
LINK_LIMIT = 500
NOTE_LIMIT = 1000
KIND_LIMIT = 40
EQUITY_LIMIT = 100
# Deadlines given without a time mean the end of that working day.
DEADLINE_TIME = time(17, 0)

# A verb is what a candidate button finishes once the member picks the company:
# (ctx, application, normalised arguments) -> reply.
Verb = Callable[[Ctx, Application, dict[str, str]], Reply]
_VERBS: dict[str, Verb] = {}


def verb(name: str) -> Callable[[Verb], Verb]:
    """Register what a `pipeline.pick` button does for `name` once a company is chosen."""

    def register(fn: Verb) -> Verb:
        _VERBS[name] = fn
        return fn

    return register


_ALIAS_HINT = ", ".join(
    f"{a} for {STAGE_ALIASES[a]}" for a in ("phone", "final", "technical", "ghosted")
)


# -- input ---------------------------------------------------------------------------------


def parse_stage(text: str) -> str:
    """A canonical stage, or a UserError that lists them all."""
    stage = stage_of(text)
    if stage is None:
        raise UserError(
            f"{clip(text, 30)!r} isn't a stage. Stages: {', '.join(STAGES)} "
            f"(you can also say {_ALIAS_HINT}). Nothing was changed."
        )
    return stage


def parse_future(ctx: Ctx, text: str, what: str, default_time: time = DEADLINE_TIME) -> datetime:
    """A moment in the member's zone that is still ahead; refuse the past with the date read."""
    when = parse_when(text, ctx.tz, ctx.now, default_time=default_time)
    if when.at <= ctx.now:
        raise UserError(
            f"I read {clip(text, 40)!r} as {fmt_when(when.at, ctx.tz)}, which has already "
            f"passed. Give a {what} in the future. Nothing was changed."
        )
    return when.at


def clean_company(text: str) -> str:
    name = clean(text, what="company name", limit=COMPANY_LIMIT)
    if not name:
        raise UserError("Give the company's name, e.g. /pipeline add Acme.")
    return name


def _clean_link(text: str) -> str | None:
    link = clean(text, what="link", limit=LINK_LIMIT)
    if not link:
        return None
    if not re.match(r"^(https?://)?[\w.-]+\.[a-z]{2,}(/\S*)?$", link, re.I):
        raise UserError(f"{clip(link, 40)!r} doesn't look like a web address. Nothing was saved.")
    return link


# -- finding the company -------------------------------------------------------------------


def resolve(ctx: Ctx, text: str, verb_name: str, args: dict[str, str] | None = None) -> Application:
    """The member's application named `text`; otherwise a UserError whose buttons finish the
    command for one of the candidates (each carrying only an application id of theirs)."""
    name = clean(text, what="company name", limit=COMPANY_LIMIT)
    match = find_company(ctx.session, ctx.member.id, name)
    if match.app is not None:
        return match.app
    if not applications(ctx.session, ctx.member.id):
        raise UserError("Your pipeline is empty. Add a company first with /pipeline add <company>.")
    buttons = tuple(_pick_button(verb_name, a, args or {}) for a in match.candidates[:5])
    if (
        match.candidates
        and len(company_key(name))
        and all(a.company_key.startswith(company_key(name)) for a in match.candidates)
    ):
        names = ", ".join(a.company for a in match.candidates[:5])
        raise UserError(
            f"{clip(name, 40)!r} could be {names}. Which one did you mean?", buttons=buttons
        )
    if match.candidates:
        names = ", ".join(a.company for a in match.candidates[:5])
        raise UserError(
            f"There is no {clip(name, 40)!r} in your pipeline. Did you mean {names}?",
            buttons=buttons,
        )
    # Nothing close: offer the most recently moved companies instead.
    recent = sorted(
        applications(ctx.session, ctx.member.id), key=lambda a: a.stage_changed_at, reverse=True
    )[:5]
    raise UserError(
        f"There is no {clip(name, 40)!r} in your pipeline. Your companies: "
        f"{', '.join(a.company for a in recent)}. Add it with /pipeline add.",
        buttons=tuple(_pick_button(verb_name, a, args or {}) for a in recent),
    )


def _pick_button(verb_name: str, app: Application, args: dict[str, str]) -> Button:
    value = f"{verb_name}:{app.id}:{urlencode(args)}"
    if len(value) + len("pipeline.pick|") > 100:
        # Too much to carry in a button id (a long note): show the application instead.
        value = f"show:{app.id}:"
    return Button("pipeline.pick", value, app.company[:70], "primary")


def own(ctx: Ctx, app_id: str) -> Application:
    """The application behind a button value, if and only if it is this member's."""
    app = owned_application(ctx.session, ctx.member.id, aid) if (aid := as_id(app_id)) else None
    if app is None:
        raise NotAllowed("That button isn't for you, or that application is gone. Nothing changed.")
    return app


@action("pipeline.pick")
def pick(ctx: Ctx, value: str) -> Reply:
    verb_name, _, rest = value.partition(":")
    app_id, _, query = rest.partition(":")
    fn = _VERBS.get(verb_name)
    if fn is None:
        return Reply("That button no longer works.")
    app = own(ctx, app_id)
    return fn(ctx, app, dict(parse_qsl(query)))


# -- showing -------------------------------------------------------------------------------


def when_text(ctx: Ctx, at: datetime) -> str:
    return fmt_when(at, ctx.tz)


def label(app: Application) -> str:
    return f"{app.company} ({app.role})" if app.role else app.company


def _days_since(ctx: Ctx, at: datetime) -> str:
    days = (ctx.now - at).days
    return "moved today" if days <= 0 else f"{plural(days, 'day')} since the last move"


def _line(ctx: Ctx, app: Application) -> str:
    parts = [label(app), _days_since(ctx, app.stage_changed_at)]
    nxt = next_date(app, ctx.now)
    if nxt:
        parts.append(f"next: {nxt[0]} {when_text(ctx, nxt[1])}")
    return "- " + "; ".join(parts)


def show_app(ctx: Ctx, app: Application, note: str | None = None) -> Reply:
    lines = [note] if note else []
    lines.append(f"{label(app)}: {app.stage}, {_days_since(ctx, app.stage_changed_at)}.")
    fields = [Field("Stage", app.stage), Field("Added", when_text(ctx, app.created_at))]
    if app.role:
        fields.append(Field("Role", app.role))
    if app.link:
        fields.append(Field("Link", app.link, inline=False))
    if app.applied_at:
        fields.append(Field("Applied", when_text(ctx, app.applied_at)))
    for i in sorted(app.interviews, key=lambda i: i.at):
        sent = " (thank-you sent)" if i.thank_you_sent else ""
        fields.append(Field(f"Interview: {i.kind or 'interview'}", when_text(ctx, i.at) + sent))
    if app.offer:
        fields.append(Field("Offer", offer_summary(ctx, app), inline=False))
    if app.note:
        fields.append(Field("Note", app.note, inline=False))
    history = "\n".join(
        f"{when_text(ctx, m.at)}: {m.from_stage or 'added'} -> {m.to_stage}" for m in app.moves
    )
    fields.append(Field("Stage history", history or "none", inline=False))
    text = "\n".join(lines + [f"{f.name}: {f.value}" for f in fields])
    return Reply(
        text,
        title=app.company,
        fields=tuple(fields),
        footer="Only you can see this.",
        lead="\n".join(lines),
    )


def money(amount: int | None, currency: str | None) -> str:
    if amount is None:
        return "not given"
    return f"{amount:,} {currency}" if currency else f"{amount:,}"


def offer_summary(ctx: Ctx, app: Application) -> str:
    o = app.offer
    assert o is not None
    parts = [f"received {fmt_date(o.received_at.astimezone(ctx.tz).date())}"]
    if o.deadline:
        parts.append(f"deadline {when_text(ctx, o.deadline)}")
    if o.base is not None:
        parts.append(f"base {money(o.base, o.currency)}")
    if o.bonus is not None:
        parts.append(f"bonus {money(o.bonus, o.currency)}")
    if o.equity:
        parts.append(f"equity {o.equity}")
    if o.start_date:
        parts.append(f"start {fmt_date(o.start_date)}")
    return "; ".join(parts)


# -- add -----------------------------------------------------------------------------------

ADD_FORM = Form(
    "pipeline.add",
    "Add an application",
    (
        FormField("company", "Company", max_length=COMPANY_LIMIT),
        FormField("role", "Role", required=False, max_length=ROLE_LIMIT),
        FormField("stage", "Stage", required=False, max_length=20, placeholder="applied"),
        FormField("link", "Link to the posting", required=False, max_length=LINK_LIMIT),
    ),
)


@command("pipeline add")
def pipeline_add(ctx: Ctx) -> Reply:
    if not ctx.arg("company"):
        return Reply(
            "Which company? Fill in the form, or type "
            "/pipeline add <company> [role] [stage <stage>] [link <url>], e.g. /pipeline add "
            'Acme "ML Engineer" stage screen.',
            title="Add an application",
            form=ADD_FORM,
        )
    return add(ctx, ctx.arg("company"), ctx.arg("role"), ctx.arg("stage"), ctx.arg("link"))


@form("pipeline.add")
def pipeline_add_form(ctx: Ctx, value: str, fields: dict[str, str]) -> Reply:
    return add(
        ctx,
        fields.get("company", ""),
        fields.get("role", ""),
        fields.get("stage", ""),
        fields.get("link", ""),
    )


def add(ctx: Ctx, company: str, role: str, stage_text: str, link_text: str) -> Reply:
    name = clean_company(company)
    role_clean = clean(role, what="role", limit=ROLE_LIMIT) or None
    stage = parse_stage(stage_text) if stage_text.strip() else "applied"
    link = _clean_link(link_text)
    key = company_key(name)
    existing = next(
        (a for a in applications(ctx.session, ctx.member.id) if a.company_key == key), None
    )
    if existing is not None:
        raise UserError(
            f"{existing.company} is already in your pipeline (at {existing.stage}). "
            f"Use /pipeline move to change its stage.",
            buttons=(Button("pipeline.pick", f"show:{existing.id}:", "Show it"),),
        )
    app = Application(
        member_id=ctx.member.id,
        company=name,
        company_key=key,
        role=role_clean,
        link=link,
        stage=stage,
        created_at=ctx.now,
        stage_changed_at=ctx.now,
    )
    ctx.session.add(app)
    move_stage(app, stage, ctx.now).from_stage = None
    ctx.session.flush()
    return show_app(ctx, app, f"Added {label(app)} at {stage}.")


# -- list, show ----------------------------------------------------------------------------


# Applications per page: about 90 characters a line, a page reads at a glance; long names
# end a page sooner (bot/pages.py).
LIST_PAGE = 20


def list_page(ctx: Ctx, page: int) -> Reply:
    """One page of the member's applications, grouped by stage in the stages' order."""
    apps = applications(ctx.session, ctx.member.id)
    if not apps:
        return Reply(
            "Your pipeline is empty. Add your first company with /pipeline add <company>.",
            title="Your pipeline",
        )
    order = {s: i for i, s in enumerate(STAGES)}
    apps.sort(key=lambda a: (order.get(a.stage, len(STAGES)), a.stage_changed_at, a.id))
    per_stage = {s: sum(1 for a in apps if a.stage == s) for s in {a.stage for a in apps}}
    lines = [_line(ctx, a) for a in apps]
    split = pages.split([len(line) + 1 for line in lines], LIST_PAGE)
    page = pages.clamp(page, len(split))
    shown = split[page - 1]
    # A stage's applications on this page as one field; a stage begun on the page before, or
    # too long for one field, goes on under its name with "continued".
    groups: list[tuple[str, str, list[str]]] = []  # stage, heading, lines
    for i in shown:
        stage = apps[i].stage
        body = groups[-1][2] if groups and groups[-1][0] == stage else None
        if body is not None and len("\n".join([*body, lines[i]])) > pages.FIELD_CHARS:
            body = None
        if body is None:
            head = f"{stage} ({per_stage[stage]})"
            if i > 0 and apps[i - 1].stage == stage:
                head += ", continued"
            groups.append((stage, head, [lines[i]]))
        else:
            body.append(lines[i])
    fields = tuple(Field(head, "\n".join(body), inline=False) for _, head, body in groups)
    title = f"Your pipeline: {plural(len(apps), 'application')}"
    if len(split) > 1:
        title += f", {pages.of(page, len(split))}"
    return Reply(
        "\n".join(f"{f.name}\n{f.value}" for f in fields),
        title=title,
        fields=fields,
        footer="Only you can see this. /pipeline show <company> for details.",
        lead="",  # the fields are the groups
        buttons=pages.buttons("pipeline.page", ctx.member.id, page, len(split)),
    )


@command("pipeline list")
def pipeline_list(ctx: Ctx) -> Reply:
    return list_page(ctx, 1)


@action("pipeline.page")
def pipeline_page(ctx: Ctx, value: str) -> list[Outbound]:
    turn = pages.pressed(value, ctx.member.id)
    return [ctx.turn(list_page(ctx, turn.page))]


@command("pipeline show")
def pipeline_show(ctx: Ctx) -> Reply:
    return show_app(ctx, resolve(ctx, ctx.arg("company"), "show"))


@verb("show")
def _show_verb(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    return show_app(ctx, app)


# -- move ----------------------------------------------------------------------------------


@command("pipeline move")
def pipeline_move(ctx: Ctx) -> Reply:
    stage = parse_stage(ctx.arg("stage"))
    app = resolve(ctx, ctx.arg("company"), "move", {"stage": stage})
    return _move(ctx, app, {"stage": stage})


@verb("move")
def _move(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    stage = parse_stage(args.get("stage", ""))
    if stage == app.stage:
        return show_app(ctx, app, f"{app.company} is already at {stage}; nothing changed.")
    before = app.stage
    move_stage(app, stage, ctx.now)
    back = STAGES.index(stage) < STAGES.index(before) and stage not in ("declined",)
    note = f"Moved {app.company} from {before} to {stage}" + (" (back a step)." if back else ".")
    if stage == "offer":
        note += (
            " Congratulations! Add its deadline with /pipeline deadline, and let the others "
            "know with /letter alternatives."
        )
    ctx.session.flush()
    return show_app(ctx, app, note)


# -- interviews ----------------------------------------------------------------------------

# Words that may end the date text and name the kind of interview instead.
INTERVIEW_KINDS = (
    "phone",
    "screen",
    "recruiter",
    "technical",
    "coding",
    "system-design",
    "behavioral",
    "behavioural",
    "onsite",
    "final",
    "panel",
    "manager",
    "hr",
    "video",
    "take-home",
)


# Two bookings of the same kind this close together are one interview typed twice (a slip in
# the time, am for pm, the wrong zone) far more often than two real interviews.
DUPLICATE_WINDOW = timedelta(hours=6)

# What a `pipeline.iv` button finishes once the member picks one interview among several:
# (ctx, interview, normalised arguments) -> reply.
InterviewVerb = Callable[[Ctx, Interview, dict[str, str]], Reply]
_INTERVIEW_VERBS: dict[str, InterviewVerb] = {}


def interview_verb(name: str) -> Callable[[InterviewVerb], InterviewVerb]:
    def register(fn: InterviewVerb) -> InterviewVerb:
        _INTERVIEW_VERBS[name] = fn
        return fn

    return register


def _kind_words(ctx: Ctx) -> tuple[str, str]:
    """(date text, kind): a known kind may end the date text instead of following `kind`."""
    text, kind = ctx.arg("when"), ctx.arg("kind")
    words = text.split()
    if not kind and len(words) > 1 and words[-1].lower() in INTERVIEW_KINDS:
        text, kind = " ".join(words[:-1]), words[-1]
    return text, clean(kind, what="interview kind", limit=KIND_LIMIT).lower()


def _iv_label(ctx: Ctx, iv: Interview) -> str:
    local = iv.at.astimezone(ctx.tz)
    return f"{iv.kind or 'interview'}: {local:%a} {local.day} {local:%b %H:%M}"[:70]


def _iv_text(ctx: Ctx, iv: Interview) -> str:
    return f"{iv.kind or 'interview'} with {iv.application.company} on {when_text(ctx, iv.at)}"


def _iv_button(verb_name: str, iv: Interview, args: dict[str, str], label: str) -> Button:
    return Button("pipeline.iv", f"{verb_name}:{iv.id}:{urlencode(args)}", label, "primary")


def _pick_interview(ctx: Ctx, app: Application, verb_name: str, args: dict[str, str]) -> Interview:
    """The one interview meant, or a UserError whose buttons name each candidate: a correction
    may concern a past interview as well as the next one, so several always ask."""
    kind = args.get("kind", "")
    found = [i for i in app.interviews if not kind or (i.kind or "") == kind]
    if not found:
        which = f"{kind} interview" if kind else "interview"
        raise UserError(
            f"There is no {which} with {app.company} recorded. Record one with "
            f"/pipeline interview {app.company} <when>.",
            buttons=(Button("pipeline.form", f"interview:{app.id}", "Log an interview"),),
        )
    if len(found) == 1:
        return found[0]
    upcoming = sorted((i for i in found if i.at >= ctx.now), key=lambda i: i.at)
    past = sorted((i for i in found if i.at < ctx.now), key=lambda i: i.at, reverse=True)
    shown = (upcoming + past)[:5]
    rest = {k: v for k, v in args.items() if k != "kind"}
    raise UserError(
        f"You have {plural(len(found), 'interview')} with {app.company}. Which one?",
        buttons=tuple(_iv_button(verb_name, i, rest, _iv_label(ctx, i)) for i in shown),
    )


@action("pipeline.iv")
def pick_interview(ctx: Ctx, value: str) -> Reply:
    verb_name, _, rest = value.partition(":")
    iv_id, _, query = rest.partition(":")
    fn = _INTERVIEW_VERBS.get(verb_name)
    if fn is None:
        return Reply("That button no longer works.")
    interview = ctx.session.get(Interview, iid) if (iid := as_id(iv_id)) else None
    if interview is None or interview.member_id != ctx.member.id:
        raise NotAllowed("That button isn't for you, or that interview is gone. Nothing changed.")
    return fn(ctx, interview, dict(parse_qsl(query)))


def _drop_thank_you(ctx: Ctx, iv: Interview) -> None:
    """Forget the queued thank-you reminder of an interview that moved or was cancelled. The
    row goes rather than being marked: its dedupe key (interview, local day) would otherwise
    keep out the reminder for the corrected time when that falls on the same day."""
    ctx.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.member_id == ctx.member.id,
            OutboxMessage.kind == "thank-you",
            # A snoozed copy is queued under the same subject with a suffix.
            OutboxMessage.subject.in_((f"i{iv.id}", f"i{iv.id}-z")),
            OutboxMessage.status == "pending",
        )
    )


def interview_form(ctx: Ctx, company: str = "") -> Form:
    """The interview as a form: the date and time picked where the platform has pickers, read
    in the member's zone."""
    return Form(
        "pipeline.interview",
        "Log an interview",
        (
            FormField("company", "Company", max_length=COMPANY_LIMIT, initial=company),
            FormField("date", "Date", kind="date"),
            FormField("time", "Time", kind="time"),
            FormField(
                "kind",
                "Kind (phone, technical, onsite ...)",
                required=False,
                max_length=KIND_LIMIT,
            ),
        ),
        zone=ctx.tz.key,
    )


@command("pipeline interview")
def pipeline_interview(ctx: Ctx) -> Reply:
    if not ctx.arg("company") or not ctx.arg("when"):
        company = clean(ctx.arg("company"), what="company name", limit=COMPANY_LIMIT)
        return Reply(
            "When is it? Fill in the form, or type /pipeline interview <company> <when> "
            "[kind <kind>], e.g. /pipeline interview acme next tuesday 14:00 kind technical.",
            title="Log an interview",
            form=interview_form(ctx, company),
        )
    text, kind = _kind_words(ctx)
    # An interview is logged after it as often as before: "22 nov" is last week's.
    at = parse_when(text, ctx.tz, ctx.now, default_time=time(9, 0), prefer="nearest").at
    args = {"at": str(int(at.timestamp())), "kind": kind}
    app = resolve(ctx, ctx.arg("company"), "interview", args)
    return _interview(ctx, app, args)


def _twin(ctx: Ctx, app: Application, at: datetime, kind: str | None) -> Interview | None:
    """An upcoming interview this booking probably repeats: same company, a kind that agrees
    (an unnamed kind agrees with any), within DUPLICATE_WINDOW."""
    for iv in sorted(app.interviews, key=lambda i: abs(i.at - at)):
        if iv.at < ctx.now or abs(iv.at - at) > DUPLICATE_WINDOW:
            continue
        if kind is None or iv.kind is None or iv.kind == kind:
            return iv
    return None


@verb("interview")
def _interview(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    at = datetime.fromtimestamp(int(args["at"]), UTC)
    kind = clean(args.get("kind", ""), what="interview kind", limit=KIND_LIMIT) or None
    twin = None if args.get("again") == "1" else _twin(ctx, app, at, kind)
    if twin is not None and twin.at == at:
        if twin.kind is None and kind is not None:
            twin.kind = kind
        return show_app(ctx, app, f"The {_iv_text(ctx, twin)} is already recorded.")
    if twin is not None:
        again = _pick_button("interview", app, {**args, "again": "1"})
        if again.value.startswith("interview:"):  # else too long to carry: not offered
            again = Button(again.action, again.value, "Add a second one")
        raise UserError(
            f"You already have a {_iv_text(ctx, twin)}. Move it to {when_text(ctx, at)} "
            "instead of recording a second one? Nothing was saved yet.",
            buttons=(_iv_button("move", twin, {"at": args["at"], "t": "1"}, "Move it"), again),
        )
    interview = Interview(
        member_id=ctx.member.id, at=at, kind=kind, created_at=ctx.now, thank_you_sent=False
    )
    app.interviews.append(interview)
    ctx.session.flush()
    if at < ctx.now:
        tail = " Send a thank-you within a day: /letter thank-you " + app.company
    else:
        tail = " Good luck! Prepare with /drill and /ask."
    note = f"Noted: {kind or 'interview'} with {app.company} on {when_text(ctx, at)}.{tail}"
    return show_app(ctx, app, note)


@command("pipeline reschedule")
def pipeline_reschedule(ctx: Ctx) -> Reply:
    text, kind = _kind_words(ctx)
    when = parse_when(text, ctx.tz, ctx.now, default_time=time(9, 0), prefer="nearest")
    args = {"at": str(int(when.at.timestamp())), "t": "1" if when.has_time else "0"}
    if kind:
        args["kind"] = kind
    app = resolve(ctx, ctx.arg("company"), "reschedule", args)
    return _reschedule(ctx, app, args)


@verb("reschedule")
def _reschedule(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    return _move_interview(ctx, _pick_interview(ctx, app, "move", args), args)


@interview_verb("move")
def _move_interview(ctx: Ctx, iv: Interview, args: dict[str, str]) -> Reply:
    at = datetime.fromtimestamp(int(args["at"]), UTC)
    if args.get("t") == "0":  # a new day only: the interview keeps its time of day
        old = iv.at.astimezone(ctx.tz)
        day = at.astimezone(ctx.tz).date()
        at = datetime.combine(day, old.time(), tzinfo=ctx.tz).astimezone(UTC)
    app = iv.application
    if at == iv.at:
        return show_app(ctx, app, f"The {_iv_text(ctx, iv)} is already at that time.")
    before = iv.at
    iv.at = at
    if at > ctx.now:  # a thank-you marked sent belonged to the time that was wrong
        iv.thank_you_sent = False
        iv.thank_you_sent_at = None
    _drop_thank_you(ctx, iv)
    ctx.session.flush()
    note = (
        f"Moved the {iv.kind or 'interview'} with {app.company} from {when_text(ctx, before)} "
        f"to {when_text(ctx, at)}."
    )
    return show_app(ctx, app, note)


@command("pipeline cancel-interview")
def pipeline_cancel_interview(ctx: Ctx) -> Reply:
    kind = clean(ctx.arg("kind"), what="interview kind", limit=KIND_LIMIT).lower()
    args = {"kind": kind} if kind else {}
    app = resolve(ctx, ctx.arg("company"), "cancel-interview", args)
    return _cancel_for(ctx, app, args)


@verb("cancel-interview")
def _cancel_for(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    return _cancel_interview(ctx, _pick_interview(ctx, app, "cancel", args), args)


@interview_verb("cancel")
def _cancel_interview(ctx: Ctx, iv: Interview, args: dict[str, str]) -> Reply:
    app = iv.application
    what = _iv_text(ctx, iv)
    _drop_thank_you(ctx, iv)
    app.interviews.remove(iv)  # delete-orphan removes the row
    ctx.session.flush()
    return show_app(
        ctx,
        app,
        f"Removed the {what}, and its thank-you reminder. To record it again: "
        f"/pipeline interview {app.company} <when>.",
    )


@action("pipeline.thanked")
def thanked(ctx: Ctx, value: str) -> Reply:
    """The member marks the thank-you for an interview as sent."""
    interview = ctx.session.get(Interview, iid) if (iid := as_id(value)) else None
    if interview is None or interview.member_id != ctx.member.id:
        raise NotAllowed("That button isn't for you, or that interview is gone. Nothing changed.")
    interview.thank_you_sent = True
    interview.thank_you_sent_at = ctx.now
    return Reply(f"Marked your thank-you to {interview.application.company} as sent.")


# -- offers and deadlines ------------------------------------------------------------------

_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}


# One unambiguous reading per input: no two neighbouring parts can match the same characters,
# so a failed match backtracks in linear time (a quantified space before an optional part
# followed by another quantified space was quadratic on a long run of spaces).
_AMOUNT = re.compile(
    r"(?P<pre>[^\d]*)(?P<num>\d[\d,.]*(?: \d{3})*)\s*(?:(?P<mult>[km])\s*)?(?P<cur>[a-z]{3})?",
    re.I,
)
_MINUS = ("-", "\u2212", "\u2013")  # ASCII, the minus sign, the en dash phones type


def parse_amount(text: str, what: str) -> tuple[int, str | None]:
    """'120k', '$120,000', '1.2m', '95 000 EUR' -> (amount, currency or None)."""
    raw = text.strip()
    currency = next((c for s, c in _SYMBOLS.items() if s in raw), None)
    m = _AMOUNT.fullmatch(raw.replace("'", ""))
    if m is None:
        raise UserError(
            f"{clip(raw, 30)!r} isn't an amount for {what}. Try 120000, 120k or 1.2m. "
            "Nothing was saved."
        )
    if any(sign in m.group("pre") for sign in _MINUS):
        raise UserError(
            f"{what.capitalize()} can't be negative ({clip(raw, 30)!r}). Give the amount they "
            "offered, e.g. 120k. Nothing was saved."
        )
    digits = m.group("num").replace(",", "").replace(" ", "")
    try:
        value = float(digits)
    except ValueError:
        raise UserError(f"{clip(raw, 30)!r} isn't an amount for {what}.") from None
    value *= {"k": 1_000, "m": 1_000_000}.get((m.group("mult") or "").lower(), 1)
    if not 0 <= value < 2_000_000_000:
        raise UserError(f"{what} of {clip(raw, 30)} is out of range. Nothing was saved.")
    if m.group("cur"):
        currency = m.group("cur").upper()
    return round(value), currency


def parse_currency(text: str) -> str:
    raw = text.strip()
    if raw in _SYMBOLS:
        return _SYMBOLS[raw]
    if not re.fullmatch(r"[A-Za-z]{3}", raw):
        raise UserError(
            f"{clip(raw, 20)!r} isn't a currency code. Use three letters, like EUR, USD or GBP."
        )
    return raw.upper()


def offer_form(ctx: Ctx, company: str = "") -> Form:
    """An offer as a form: its deadline picked as a date and a time, in the member's zone."""
    return Form(
        "pipeline.offer",
        "Record an offer",
        (
            FormField("company", "Company", max_length=COMPANY_LIMIT, initial=company),
            FormField("deadline_date", "Answer by (date)", kind="date", required=False),
            FormField(
                "deadline_time",
                "Answer by (time; 17:00 if empty)",
                kind="time",
                required=False,
            ),
            FormField("base", "Base salary per year", required=False, max_length=40),
            FormField("start", "Start date", kind="date", required=False),
        ),
        zone=ctx.tz.key,
    )


def deadline_form(ctx: Ctx, company: str = "") -> Form:
    return Form(
        "pipeline.deadline",
        "Offer deadline",
        (
            FormField("company", "Company", max_length=COMPANY_LIMIT, initial=company),
            FormField("date", "Date", kind="date"),
            FormField("time", "Time (17:00 if empty)", kind="time", required=False),
        ),
        zone=ctx.tz.key,
    )


@command("pipeline offer")
def pipeline_offer(ctx: Ctx) -> Reply:
    if not ctx.arg("company"):
        return Reply(
            "Which company made the offer? Fill in the form, or type /pipeline offer <company> "
            "[deadline <when>] [base <amount>] [bonus <amount>] [currency <code>] "
            "[start <date>].",
            title="Record an offer",
            form=offer_form(ctx),
        )
    args: dict[str, str] = {}
    currencies: set[str] = set()
    if ctx.arg("deadline"):
        args["deadline"] = str(int(parse_future(ctx, ctx.arg("deadline"), "deadline").timestamp()))
    for name in ("base", "bonus"):
        if ctx.arg(name):
            amount, cur = parse_amount(ctx.arg(name), name)
            args[name] = str(amount)
            currencies |= {cur} if cur else set()
    if ctx.arg("currency"):
        currencies = {parse_currency(ctx.arg("currency"))}
    if len(currencies) > 1:
        raise UserError("Base and bonus name different currencies; give one. Nothing was saved.")
    if currencies:
        args["currency"] = currencies.pop()
    if ctx.arg("equity"):
        args["equity"] = clean(ctx.arg("equity"), what="equity", limit=EQUITY_LIMIT)
    if ctx.arg("start"):
        start = parse_date(ctx.arg("start"), ctx.tz, ctx.now)
        if start < ctx.local_now.date():
            raise UserError(
                f"{fmt_date(start)} has already passed; give a start date ahead. Nothing was saved."
            )
        args["start"] = start.isoformat()
    app = resolve(ctx, ctx.arg("company"), "offer", args)
    return _offer(ctx, app, args)


@verb("offer")
def _offer(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    notes: list[str] = []
    if app.stage != "offer":
        notes.append(f"Moved {app.company} from {app.stage} to offer. Congratulations!")
        move_stage(app, "offer", ctx.now)
    offer = app.offer
    assert offer is not None  # move_stage creates it
    if "deadline" in args:
        deadline = datetime.fromtimestamp(int(args["deadline"]), UTC)
        if deadline <= ctx.now:
            raise UserError("That deadline has passed in the meantime. Nothing was changed.")
        offer.deadline = deadline
        notes.append(f"Deadline: {when_text(ctx, deadline)}.")
    for name in ("base", "bonus"):
        if name in args:
            setattr(offer, name, int(args[name]))
    if "currency" in args:
        offer.currency = args["currency"]
    if "equity" in args:
        offer.equity = args["equity"]
    if "start" in args:
        offer.start_date = date.fromisoformat(args["start"])
        notes.append(f"Start date: {fmt_date(offer.start_date)}.")
    offer.updated_at = ctx.now
    if offer.deadline is None:
        notes.append("When must you answer? Add it with /pipeline deadline.")
    notes.append("Tell your other companies with /letter alternatives; compare with /offer.")
    ctx.session.flush()
    card = show_app(ctx, app, " ".join(notes))
    if offer.deadline is None:  # the deadline's form, with its date and time pickers
        ask = Button("pipeline.form", f"deadline:{app.id}", "Set the deadline", "primary")
        card = replace(card, buttons=(*card.buttons, ask))
    return card


@command("pipeline deadline")
def pipeline_deadline(ctx: Ctx) -> Reply:
    if not ctx.arg("company") or not ctx.arg("when"):
        company = clean(ctx.arg("company"), what="company name", limit=COMPANY_LIMIT)
        return Reply(
            "When must you answer? Fill in the form, or type /pipeline deadline <company> "
            "<when>, e.g. /pipeline deadline acme friday 17:00.",
            title="Offer deadline",
            form=deadline_form(ctx, company),
        )
    at = parse_future(ctx, ctx.arg("when"), "deadline")
    args = {"deadline": str(int(at.timestamp()))}
    app = resolve(ctx, ctx.arg("company"), "deadline", args)
    return _offer(ctx, app, args)


@verb("deadline")
def _deadline(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    return _offer(ctx, app, args)


# -- note, remove --------------------------------------------------------------------------


@command("pipeline note")
def pipeline_note(ctx: Ctx) -> Reply:
    text = clean(ctx.arg("text"), what="note", limit=NOTE_LIMIT, multiline=True)
    if not text:
        raise UserError("The note is empty. Type it after the company's name.")
    app = resolve(ctx, ctx.arg("company"), "note", {"text": text})
    return _note(ctx, app, {"text": text})


@verb("note")
def _note(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    text = clean(args.get("text", ""), what="note", limit=NOTE_LIMIT, multiline=True)
    replaced = " (it replaces the previous note)" if app.note else ""
    app.note = text
    return show_app(ctx, app, f"Note saved on {app.company}{replaced}.")


@command("pipeline remove")
def pipeline_remove(ctx: Ctx) -> Reply:
    return _confirm_remove(ctx, resolve(ctx, ctx.arg("company"), "remove"), {})


@verb("remove")
def _confirm_remove(ctx: Ctx, app: Application, args: dict[str, str]) -> Reply:
    return Reply(
        f"Delete {label(app)} with its {plural(len(app.moves), 'stage move')}, "
        f"{plural(len(app.interviews), 'interview')} and offer details? This cannot be undone. "
        "(To close it but keep the history, move it to withdrawn or rejected instead.)",
        title=f"Remove {app.company}?",
        buttons=(
            Button("pipeline.remove", str(app.id), "Yes, delete it", "danger"),
            Button("pipeline.keep", str(app.id), "Keep it"),
        ),
    )


@action("pipeline.remove")
def remove_confirmed(ctx: Ctx, value: str) -> list[Outbound]:
    app = own(ctx, value)
    name = app.company
    cancel_queued(ctx.session, app)  # nothing queued about it may go out after it is gone
    ctx.session.delete(app)
    return [ctx.in_place(Reply(f"Deleted {name} and its history from your pipeline."))]


@action("pipeline.keep")
def remove_cancelled(ctx: Ctx, value: str) -> list[Outbound]:
    app = own(ctx, value)
    return [ctx.in_place(Reply(f"Kept {app.company}; nothing was deleted."))]


# -- files ---------------------------------------------------------------------------------

CSV_COLUMNS = (
    "company",
    "role",
    "event",
    "from_stage",
    "to_stage",
    "at_local",
    "at_utc",
    "detail",
)


def export_rows(apps: list[Application], tz: ZoneInfo) -> list[dict[str, str]]:
    """One row per dated event: every stage move, interview, offer and deadline."""
    rows: list[tuple[datetime, dict[str, str]]] = []

    def row(app: Application, event: str, at: datetime, **extra: str) -> None:
        local = at.astimezone(tz)
        rows.append(
            (
                at,
                {
                    "company": app.company,
                    "role": app.role or "",
                    "event": event,
                    "from_stage": "",
                    "to_stage": "",
                    "at_local": f"{local:%a %Y-%m-%d %H:%M} {tz.key}",
                    "at_utc": at.astimezone(UTC).isoformat(),
                    "detail": "",
                    **extra,
                },
            )
        )

    for app in apps:
        for m in app.moves:
            row(app, "stage", m.at, from_stage=m.from_stage or "", to_stage=m.to_stage)
        for i in app.interviews:
            row(app, "interview", i.at, detail=i.kind or "")
        if app.offer:
            row(app, "offer received", app.offer.received_at)
            if app.offer.deadline:
                row(app, "offer deadline", app.offer.deadline)
    return [r for _, r in sorted(rows, key=lambda r: (r[0], r[1]["company"]))]


def _csv_safe(value: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula; quote it out.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@command("pipeline export")
def pipeline_export(ctx: Ctx) -> Reply:
    apps = applications(ctx.session, ctx.member.id)
    if not apps:
        return Reply("Your pipeline is empty, so there is nothing to export yet.")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    rows = export_rows(apps, ctx.tz)
    for r in rows:
        writer.writerow({k: _csv_safe(v) for k, v in r.items()})
    day = ctx.local_now.date().isoformat()
    return Reply(
        f"Your pipeline as a CSV file: {plural(len(apps), 'application')}, "
        f"{plural(len(rows), 'dated event')} (every stage move, interview and deadline).",
        title="Pipeline export",
        files=(Attachment(f"pipeline-{day}.csv", buf.getvalue().encode(), "text/csv"),),
    )


def calendar_bytes(apps: list[Application], now: datetime) -> tuple[bytes, int]:
    """An iCalendar file with every interview and offer deadline; returns (data, events)."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Cohortbot//pipeline//EN")
    cal.add("version", "2.0")
    count = 0
    for app in apps:
        for i in app.interviews:
            ev = Event()
            ev.add("uid", f"interview-{i.id}@cohortbot")
            ev.add("summary", f"{(i.kind or 'interview').capitalize()}: {app.company}")
            ev.add("dtstart", i.at)
            ev.add("dtend", i.at + timedelta(hours=1))
            ev.add("dtstamp", now)
            if app.role:
                ev.add("description", f"Role: {app.role}")
            cal.add_component(ev)
            count += 1
        if app.offer and app.offer.deadline:
            ev = Event()
            ev.add("uid", f"deadline-{app.offer.id}@cohortbot")
            ev.add("summary", f"Offer deadline: {app.company}")
            ev.add("dtstart", app.offer.deadline)
            ev.add("dtend", app.offer.deadline + timedelta(minutes=30))
            ev.add("dtstamp", now)
            cal.add_component(ev)
            count += 1
    return cal.to_ical(), count


@command("pipeline calendar")
def pipeline_calendar(ctx: Ctx) -> Reply:
    data, count = calendar_bytes(applications(ctx.session, ctx.member.id), ctx.now)
    if count == 0:
        return Reply(
            "No interviews or offer deadlines yet, so the calendar would be empty. "
            "Record them with /pipeline interview and /pipeline deadline."
        )
    return Reply(
        f"Your interviews and offer deadlines as a calendar file ({plural(count, 'event')}). "
        "Import it into any calendar app.",
        title="Pipeline calendar",
        files=(Attachment("pipeline.ics", data, "text/calendar"),),
    )


__all__ = [
    "add",
    "calendar_bytes",
    "export_rows",
    "offer_summary",
    "own",
    "parse_amount",
    "parse_stage",
    "resolve",
    "show_app",
    "verb",
]
