"""/pipeline through the whole dispatch path, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from adapters.console import Console
from adapters.memory import MemoryWorkspace
from bot.db.pipeline_models import Application, Interview, Offer, StageMove
from bot.router import QUOTE_MARK
from bot.types import DM, Ephemeral, Invocation
from tests.conftest import snapshot
from tests.helpers import say


def app_of(ws: MemoryWorkspace, company: str, owner: str = "bob") -> Application:
    with ws.app.sessions() as s:
        row = s.scalar(
            select(Application)
            .join(Application.moves)
            .where(Application.company == company)
            .where(Application.member_id.in_(_member_ids(s, owner)))
        )
        assert row is not None
        s.expunge(row)
        return row


def _member_ids(s: object, name: str) -> list[int]:
    from bot.db.models import Member

    return list(s.scalars(select(Member.id).where(Member.display_name == name)))  # type: ignore[attr-defined]


def test_console_script_exports_every_move_and_a_calendar(
    ws: MemoryWorkspace, tmp_path: object
) -> None:
    buf = io.StringIO()
    console = Console(ws, buf, user="alice")
    script = """
/settings tz Europe/Berlin
/pipeline add Acme "ML Engineer"
/pipeline add Beta stage screen
/pipeline add Cobalt
/pipeline add Delta "Data Scientist"
/pipeline add Epsilon stage wishlist
:clock +1d
/pipeline move acme phone
/pipeline interview acme tomorrow 10:00 phone
:clock +2d
/pipeline move acme final
/pipeline move beta interview
/pipeline interview beta 2026-12-01 15:00 kind technical
/pipeline move cobalt screen
/pipeline move epsilon applied
:clock +2d
/pipeline offer acme deadline 2026-12-11 17:00 base 95k currency EUR
/pipeline move beta onsite
/pipeline move beta screen
/pipeline offer beta deadline dec 15 base 105000 currency EUR
/pipeline export
/pipeline calendar
"""
    for line in script.strip().splitlines():
        assert console.feed(line)
    out = buf.getvalue()
    paths = re.findall(r"\(file saved: (.+)\)", out)
    assert len(paths) == 2, out
    csv_path = next(p for p in paths if p.endswith(".csv"))
    ics_path = next(p for p in paths if p.endswith(".ics"))

    with open(csv_path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with ws.app.sessions() as s:
        moves = s.execute(
            select(Application.company, StageMove.from_stage, StageMove.to_stage, StageMove.at)
            .join(StageMove.application)
            .order_by(StageMove.id)
        ).all()
        interviews = s.execute(
            select(Application.company, Interview.at).join(Interview.application)
        ).all()
        deadlines = s.execute(
            select(Application.company, Offer.deadline).join(Offer.application)
        ).all()
    # 5 adds, 7 moves (one of them backwards), 2 moves to offer.
    assert len(moves) == 14
    stage_rows = {
        (r["company"], r["from_stage"] or None, r["to_stage"], datetime.fromisoformat(r["at_utc"]))
        for r in rows
        if r["event"] == "stage"
    }
    assert stage_rows == {(c, f, t, at) for c, f, t, at in moves}
    assert ("Beta", "onsite", "screen") in {(c, f, t) for c, f, t, _ in stage_rows}
    assert all(r["at_local"].endswith("Europe/Berlin") for r in rows)
    assert {r["company"] for r in rows if r["event"] == "interview"} == {"Acme", "Beta"}

    with open(ics_path, "rb") as f:
        cal = Calendar.from_ical(f.read())
    events = {str(e.get("summary")): e.decoded("dtstart") for e in cal.walk("VEVENT")}
    assert len(events) == 4
    for company, at in interviews:
        [start] = [v for k, v in events.items() if k.endswith(company) and "deadline" not in k]
        assert start == at
    for company, at in deadlines:
        assert events[f"Offer deadline: {company}"] == at
    assert events["Offer deadline: Acme"] == datetime(2026, 12, 11, 16, 0, tzinfo=UTC)


def test_add_show_and_stage_history_with_aliases(ws: MemoryWorkspace) -> None:
    say(ws, "/settings tz Europe/Berlin")
    text = say(ws, '/pipeline add "Acme Corp" "ML Engineer" stage phone link https://acme.io/j/1')
    assert "Added Acme Corp (ML Engineer) at screen" in text
    ws.clock.advance(timedelta(days=2))
    assert "from screen to onsite" in say(ws, "/pipeline move acme final")
    ws.clock.advance(timedelta(days=1))
    assert "back a step" in say(ws, "/pipeline move acme tech")
    [d] = ws.command("bob", "/pipeline show ACME")
    history = next(f.value for f in d.reply.fields if f.name == "Stage history")
    assert history.splitlines() == [
        "Mon 23 Nov 2026, 09:00 (Europe/Berlin): added -> screen",
        "Wed 25 Nov 2026, 09:00 (Europe/Berlin): screen -> onsite",
        "Thu 26 Nov 2026, 09:00 (Europe/Berlin): onsite -> interview",
    ]
    assert "https://acme.io/j/1" in d.text
    assert "already at interview" in say(ws, "/pipeline move acme interview")


def test_list_groups_by_stage_with_days_and_next_date(ws: MemoryWorkspace) -> None:
    say(ws, "/pipeline add Acme")
    say(ws, "/pipeline add Beta stage onsite")
    ws.clock.advance(timedelta(days=4))
    say(ws, "/pipeline interview beta in 3 days 14:00 onsite")
    [d] = ws.command("bob", "/pipeline")
    assert d.reply.title == "Your pipeline: 2 applications"
    assert [f.name for f in d.reply.fields] == ["applied (1)", "onsite (1)"]
    assert "Acme; 4 days since the last move" in d.text
    assert "next: onsite Mon 30 Nov 2026, 14:00 (UTC)" in d.text


def test_dates_are_echoed_with_the_weekday(ws: MemoryWorkspace) -> None:
    say(ws, "/settings tz America/New_York")
    say(ws, "/pipeline add Acme stage onsite")
    text = say(ws, "/pipeline deadline acme next friday 5pm")
    assert "Deadline: Fri 27 Nov 2026, 17:00 (America/New_York)" in text
    text = say(ws, "/pipeline offer acme start 2027-01-04 base 120k")
    assert "Start date: Mon 4 Jan 2027" in text
    assert "base 120,000" in text


def test_ambiguous_company_offers_buttons_that_finish_the_command(ws: MemoryWorkspace) -> None:
    say(ws, "/pipeline add Acme")
    say(ws, "/pipeline add Acorn")
    before = snapshot(ws.app.engine)
    [d] = ws.command("bob", "/pipeline move ac onsite")
    assert "could be Acme, Acorn" in d.text
    assert snapshot(ws.app.engine) == before
    acorn = next(b for b in d.reply.buttons if b.label == "Acorn")
    [d] = ws.press("bob", acorn)
    assert "Moved Acorn from applied to onsite" in d.text
    assert app_of(ws, "Acorn").stage == "onsite"
    assert app_of(ws, "Acme").stage == "applied"


def test_unknown_company_gets_close_candidates(ws: MemoryWorkspace) -> None:
    say(ws, "/pipeline add Stripe")
    say(ws, "/pipeline add Shopify")
    [d] = ws.command("bob", "/pipeline interview strpe tomorrow 10:00")
    assert "no 'strpe' in your pipeline" in d.text and "Did you mean Stripe" in d.text
    [b] = d.reply.buttons
    [d] = ws.press("bob", b)
    assert "Noted: interview with Stripe on Tue 24 Nov 2026, 10:00 (UTC)" in d.text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/pipeline move acme banana", "isn't a stage. Stages: wishlist, applied, screen"),
        ("/pipeline move zork onsite", "no 'zork' in your pipeline. Your companies: Acme"),
        ("/pipeline deadline acme yesterday", "which has already passed"),
        ("/pipeline deadline acme 2026-01-05", "which has already passed"),
        ("/pipeline offer acme deadline last monday", "which has already passed"),
        ("/pipeline interview acme banana split", "couldn't read 'banana split' as a date"),
        ("/pipeline offer acme base lots", "isn't an amount for base"),
        ("/pipeline offer acme currency euros", "isn't a currency code"),
        ("/pipeline add Beta stage sideways", "isn't a stage"),
        ("/pipeline add acme", "already in your pipeline"),
        ("/pipeline add Gamma link not-a-link", "doesn't look like a web address"),
        ("/pipeline note acme " + "x" * 10_240, "the limit is"),
        ("/pipeline add " + "C" * 10_240, "the limit is"),
        ("/pipeline note acme " + "x" * 1500, "the limit is 1,000"),
        ("/pipeline add " + "C" * 150, "the limit is 100"),
    ],
)
def test_bad_input_is_explained_and_writes_nothing(
    ws: MemoryWorkspace, line: str, expected: str
) -> None:
    say(ws, "/pipeline add Acme stage onsite")
    before = snapshot(ws.app.engine)
    out = ws.command("bob", line)
    assert len(out) == 1
    assert expected in out[0].text, out[0].text
    # A long note is handed back whole to copy; what the bot says around it is short.
    assert len(out[0].text.split(QUOTE_MARK)[0]) < 600
    assert isinstance(out[0].outbound.target, Ephemeral)
    assert snapshot(ws.app.engine) == before


def test_mentions_are_stored_as_typed_and_shown_only_to_the_member(ws: MemoryWorkspace) -> None:
    out = ws.command("bob", "/pipeline add <!channel>")
    assert all(isinstance(d.outbound.target, Ephemeral) for d in out)
    assert "Added <!channel>" in out[0].text
    out = ws.command("bob", "/pipeline note <!ch @everyone look at this <@U123>")
    assert "Note saved on <!channel>" in out[0].text
    assert "@everyone look at this <@U123>" in out[0].text
    assert all(d.seen_by("bob") and not d.seen_by("alice") for d in out)
    row = app_of(ws, "<!channel>")
    assert row.company == "<!channel>"
    assert row.note == "@everyone look at this <@U123>"
    [d] = ws.command("bob", "/pipeline list", where=ws.dm("bob"))
    assert isinstance(d.outbound.target, DM) and "<!channel>" in d.text


def test_remove_asks_first_and_only_the_owner_can_confirm(ws: MemoryWorkspace) -> None:
    say(ws, "/pipeline add Acme")
    say(ws, "/pipeline interview acme tomorrow 10:00")
    [d] = ws.command("bob", "/pipeline remove acme")
    yes = next(b for b in d.reply.buttons if b.action == "pipeline.remove")
    keep = next(b for b in d.reply.buttons if b.action == "pipeline.keep")
    before = snapshot(ws.app.engine)
    [d] = ws.press("alice", yes)
    assert "isn't for you" in d.text
    assert snapshot(ws.app.engine) == before
    assert "nothing was deleted" in ws.press("bob", keep)[0].text
    assert "Deleted Acme" in ws.press("bob", yes)[0].text
    after = snapshot(ws.app.engine)
    for table in ("pipeline_applications", "pipeline_stage_moves", "pipeline_interviews"):
        assert after[table] == []


def test_add_without_company_opens_a_form_and_the_form_adds(ws: MemoryWorkspace) -> None:
    [d] = ws.command("bob", "/pipeline add")
    assert d.reply.form is not None and d.reply.form.action == "pipeline.add"
    assert [f.name for f in d.reply.form.fields] == ["company", "role", "stage", "link"]
    before = snapshot(ws.app.engine)
    [d] = ws.submit("bob", "pipeline.add", "", {"company": "Acme", "stage": "nope"})
    assert "isn't a stage" in d.text
    assert snapshot(ws.app.engine) == before
    fields = {"company": "Acme", "role": "SRE", "stage": "final", "link": ""}
    [d] = ws.submit("bob", "pipeline.add", "", fields)
    assert "Added Acme (SRE) at onsite" in d.text


def test_structured_options_like_discord(ws: MemoryWorkspace) -> None:
    say(ws, "/pipeline add Acme")
    inv = Invocation(
        "pipeline",
        "",
        ws.user("bob"),
        ws.channel(),
        options={"sub": "interview", "company": "acme", "when": "dec 3 11:00", "kind": "panel"},
    )
    [o] = ws.app.router.handle(inv).all
    assert "panel with Acme on Thu 3 Dec 2026, 11:00 (UTC)" in o.reply.text


def test_member_cannot_see_or_change_another_members_pipeline(ws: MemoryWorkspace) -> None:
    say(ws, "/pipeline add Acme stage onsite", who="alice")
    say(ws, "/pipeline offer acme deadline dec 20", who="alice")
    say(ws, "/pipeline interview acme yesterday 10:00", who="alice")
    say(ws, "/pipeline add Zeta")
    alice_app = app_of(ws, "Acme", owner="alice")
    with ws.app.sessions() as s:
        interview_id = s.scalar(select(Interview.id))
    # Commands only ever reach bob's own rows.
    assert "no 'acme' in your pipeline" in say(ws, "/pipeline show acme")
    assert "Acme" not in say(ws, "/pipeline list")
    assert "Acme" not in say(ws, "/pipeline export") + say(ws, "/offer")
    before = snapshot(ws.app.engine)
    forged = [
        f"pipeline.pick|move:{alice_app.id}:stage=rejected",
        f"pipeline.pick|show:{alice_app.id}:",
        f"pipeline.pick|note:{alice_app.id}:text=mine",
        f"pipeline.pick|letter:{alice_app.id}:kind=decline",
        f"pipeline.pick|rate:{alice_app.id}:career=1",
        f"pipeline.remove|{alice_app.id}",
        f"pipeline.keep|{alice_app.id}",
        f"offer.score|{alice_app.id}:career:1",
        f"pipeline.thanked|{interview_id}",
        "pipeline.pick|move:abc:stage=rejected",
    ]
    for custom_id in forged:
        [d] = ws.press_id("bob", custom_id)
        assert "isn't for you" in d.text, custom_id
        assert "Acme" not in d.text
    [d] = ws.submit("bob", "offer.rate", str(alice_app.id), {"career": "1"})
    assert "isn't for you" in d.text
    assert snapshot(ws.app.engine) == before


def test_settings_export_and_forget_me_cover_the_pipeline(ws: MemoryWorkspace) -> None:
    import json

    say(ws, "/pipeline add Acme stage onsite")
    say(ws, "/pipeline offer acme deadline dec 20")
    say(ws, "/offer weights career 3")
    [d] = ws.command("bob", "/settings export")
    tables = json.loads(d.reply.files[0].data)["tables"]
    for table in (
        "pipeline_applications",
        "pipeline_stage_moves",
        "pipeline_offers",
        "pipeline_offer_weights",
    ):
        assert tables[table], table
    [confirm] = ws.command("bob", "/settings forget-me")
    ws.press("bob", next(b for b in confirm.reply.buttons if b.action == "settings.forget"))
    after = snapshot(ws.app.engine)
    assert after["pipeline_applications"] == [] and after["pipeline_offer_weights"] == []
