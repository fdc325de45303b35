"""Dated forms, ambiguous dates and "Add to my pipeline" (issues 16 and 17), through the memory
workspace: a form's date and time fields are read in the member's zone and stored in UTC,
whether picked (2026-12-05, 14:30) or typed; a typed date that reads two ways is asked about
with a button per reading that finishes the command; a shared job post becomes the add form
filled in with a guess the member corrects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select

from adapters.memory import Delivery, MemoryWorkspace
from bot.db.pipeline_models import Application, Interview, Offer
from bot.features.pipeline.from_message import Posting, read_posting
from bot.types import CUSTOM_ID_LIMIT, Form
from tests.cli import invoke_cohortbot, without_platforms
from tests.helpers import text_of


def form_of(out: list[Delivery]) -> Form:
    [form] = [d.reply.form for d in out if d.reply.form is not None]
    return form


def interviews(ws: MemoryWorkspace) -> list[tuple[str, datetime, str | None]]:
    with ws.app.sessions() as s:
        rows = s.scalars(select(Interview).order_by(Interview.at)).all()
        return [(i.application.company, i.at.replace(tzinfo=UTC), i.kind) for i in rows]


def setup(ws: MemoryWorkspace, zone: str = "Europe/Paris") -> None:
    ws.command("alice", f"/settings tz {zone}")
    ws.command("alice", "/pipeline add Acme")


# -- forms with dates ------------------------------------------------------------------------


def test_the_interview_form_has_typed_fields_in_the_members_zone(ws: MemoryWorkspace) -> None:
    setup(ws)
    form = form_of(ws.command("alice", "/pipeline interview"))
    assert form.action == "pipeline.interview"
    assert form.zone == "Europe/Paris"
    assert [(f.name, f.kind, f.required) for f in form.fields] == [
        ("company", "text", True),
        ("date", "date", True),
        ("time", "time", True),
        ("kind", "text", False),
    ]
    assert form.fields[1].hint == "YYYY-MM-DD, or e.g. 5 Dec"  # where it is typed
    # A company given on the command line is filled in.
    form = form_of(ws.command("alice", "/pipeline interview acme"))
    assert form.fields[0].initial == "acme"


def test_a_picked_date_and_time_are_read_in_the_members_zone_and_stored_utc(
    ws: MemoryWorkspace,
) -> None:
    setup(ws)
    # What Slack's datepicker and timepicker send: 2026-12-05 and 14:30.
    fields = {"company": "acme", "date": "2026-12-05", "time": "14:30", "kind": "Technical"}
    out = ws.submit("alice", "pipeline.interview", "", fields)
    assert "Noted: technical with Acme on Sat 5 Dec 2026, 14:30 (Europe/Paris)" in text_of(out)
    assert interviews(ws) == [("Acme", datetime(2026, 12, 5, 13, 30, tzinfo=UTC), "technical")]


def test_typed_dates_and_times_in_a_form_work_too(ws: MemoryWorkspace) -> None:
    setup(ws, "America/New_York")
    out = ws.submit(
        "alice", "pipeline.interview", "", {"company": "acme", "date": "dec 7", "time": "2:15pm"}
    )
    assert "Mon 7 Dec 2026, 14:15 (America/New_York)" in text_of(out)
    assert interviews(ws)[0][1] == datetime(2026, 12, 7, 19, 15, tzinfo=UTC)
    out = ws.submit(
        "alice", "pipeline.interview", "", {"company": "acme", "date": "dec 8", "time": "25:00"}
    )
    assert "'25:00' isn't a time of day: the hour goes from 0 to 23" in text_of(out)
    assert out[0].outbound.refusal
    assert len(interviews(ws)) == 1


def test_a_deadline_form_defaults_to_the_end_of_the_working_day(ws: MemoryWorkspace) -> None:
    setup(ws)
    form = form_of(ws.command("alice", "/pipeline deadline"))
    assert [(f.name, f.kind) for f in form.fields] == [
        ("company", "text"),
        ("date", "date"),
        ("time", "time"),
    ]
    ws.submit(
        "alice", "pipeline.deadline", "", {"company": "acme", "date": "2026-12-04", "time": ""}
    )
    with ws.app.sessions() as s:
        offer = s.scalars(select(Offer)).one()
        assert offer.deadline.replace(tzinfo=UTC) == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    out = ws.submit("alice", "pipeline.deadline", "", {"company": "acme", "date": "2026-11-01"})
    assert "has already passed" in text_of(out)


def test_the_offer_form_records_deadline_base_and_start(ws: MemoryWorkspace) -> None:
    setup(ws)
    form = form_of(ws.command("alice", "/pipeline offer"))
    assert len(form.fields) <= 5  # a Discord modal holds five
    fields = {
        "company": "acme",
        "deadline_date": "2026-12-10",
        "deadline_time": "12:00",
        "base": "95k EUR",
        "start": "2027-02-01",
    }
    out = ws.submit("alice", "pipeline.offer", "", fields)
    assert "Deadline: Thu 10 Dec 2026, 12:00 (Europe/Paris)" in text_of(out)
    with ws.app.sessions() as s:
        offer = s.scalars(select(Offer)).one()
        assert offer.deadline.replace(tzinfo=UTC) == datetime(2026, 12, 10, 11, 0, tzinfo=UTC)
        assert (offer.base, offer.currency, str(offer.start_date)) == (95000, "EUR", "2027-02-01")


# -- ambiguous typed dates -------------------------------------------------------------------


def test_an_ambiguous_date_is_asked_about_with_a_button_per_reading(ws: MemoryWorkspace) -> None:
    setup(ws)
    out = ws.command("alice", "/pipeline interview acme 03/04 14:00 kind phone")
    assert "Did you mean 3 April or 4 March? Press the one you meant." in text_of(out)
    assert out[0].outbound.refusal
    buttons = out[0].reply.buttons
    assert [b.label for b in buttons] == ["3 April", "4 March"]
    assert all(len(b.custom_id) <= CUSTOM_ID_LIMIT for b in buttons)
    assert interviews(ws) == []
    out = ws.press("alice", buttons[1])
    assert "Noted: phone with Acme on Thu 4 Mar 2027, 14:00 (Europe/Paris)" in text_of(out)
    assert interviews(ws) == [("Acme", datetime(2027, 3, 4, 13, 0, tzinfo=UTC), "phone")]


def test_unambiguous_dates_work_as_before(ws: MemoryWorkspace) -> None:
    setup(ws)
    for typed, shown in (
        ("2027-03-04 10:00", "Thu 4 Mar 2027, 10:00"),
        ("4 March 11:00", "Thu 4 Mar 2027, 11:00"),
        ("13/04 12:00", "Tue 13 Apr 2027, 12:00"),
        ("05/05 13:00", "Wed 5 May 2027, 13:00"),  # the same either way
    ):
        out = ws.command("alice", f"/pipeline interview acme {typed} kind round{len(typed)}")
        assert f"on {shown} (Europe/Paris)" in text_of(out), typed
        assert not out[0].reply.buttons


def test_an_ambiguous_deadline_and_a_typed_form_date_get_buttons_too(ws: MemoryWorkspace) -> None:
    setup(ws)
    out = ws.command("alice", "/pipeline deadline acme 03/04")
    first, second = out[0].reply.buttons
    assert (first.label, second.label) == ("3 April", "4 March")
    ws.press("alice", first)
    with ws.app.sessions() as s:
        deadline = s.scalars(select(Offer)).one().deadline
        assert deadline.replace(tzinfo=UTC) == datetime(2027, 4, 3, 15, 0, tzinfo=UTC)
    # Typed in a form (Discord has no picker): the button submits the form again.
    fields = {"company": "acme", "date": "03/04", "time": "10:00", "kind": ""}
    out = ws.submit("alice", "pipeline.interview", "", fields)
    assert [b.label for b in out[0].reply.buttons] == ["3 April", "4 March"]
    ws.press("alice", out[0].reply.buttons[0])
    assert interviews(ws) == [("Acme", datetime(2027, 4, 3, 8, 0, tzinfo=UTC), None)]


def test_a_question_too_long_for_a_button_says_how_to_type_it(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/settings tz Europe/Paris")
    name = "Extraordinarily Long Company Name Incorporated International Holdings"
    ws.command("alice", f'/pipeline add "{name}"')
    out = ws.command("alice", f'/pipeline interview "{name}" 03/04 14:00 kind behavioral')
    assert "Write 2027-04-03 or 3 Apr for the first" in text_of(out)
    assert not out[0].reply.buttons


def test_a_forged_redo_button_is_checked_like_typed_input(ws: MemoryWorkspace) -> None:
    setup(ws)
    out = ws.press_id("alice", "redo|c=pipeline+interview&company=acme&bogus=1")
    assert "unknown option 'bogus'" in text_of(out)
    out = ws.press_id("alice", "redo|c=cohort+nonexistent")
    assert "That button no longer works." in text_of(out)
    assert interviews(ws) == []
    # What a real button carries: the command and its options, one reading written out.
    value = "redo|c=pipeline+interview&company=acme&when=2027-04-03+09%3A00"
    assert dict(parse_qsl(value.partition("|")[2]))["when"] == "2027-04-03 09:00"
    ws.press_id("alice", value)
    assert len(interviews(ws)) == 1


# -- a job post into the pipeline ------------------------------------------------------------

POSTS = [
    (
        "Senior Data Engineer at Acme Corp - remote in the EU, apply here "
        "https://boards.greenhouse.io/acmecorp/jobs/4012345",
        Posting(
            "Acme Corp",
            "Senior Data Engineer",
            "https://boards.greenhouse.io/acmecorp/jobs/4012345",
        ),
    ),
    (
        "Globex is hiring a Product Designer (Berlin, hybrid)! https://jobs.lever.co/globex/8f3a-11",
        Posting("Globex", "Product Designer", "https://jobs.lever.co/globex/8f3a-11"),
    ),
    (
        "Hey all 👋 my team at Initech is growing. We're looking for a Backend Engineer at "
        "Initech. DM me if you want a referral!",
        Posting("Initech", "Backend Engineer", ""),
    ),
    (
        "Company: Hooli\nRole: Staff ML Engineer\nSalary: 180-220k\nLink: https://hooli.com/careers/42",
        Posting("Hooli", "Staff ML Engineer", "https://hooli.com/careers/42"),
    ),
    (
        "Umbrella - Senior Frontend Developer (Remote, EU)\nhttps://umbrella.recruitee.com/o/frontend-dev",
        Posting(
            "Umbrella", "Senior Frontend Developer", "https://umbrella.recruitee.com/o/frontend-dev"
        ),
    ),
    (
        "🚀 *We're hiring:* Machine Learning Engineer @ Stark Industries\n"
        "https://careers.starkindustries.com/jobs/9?src=slack",
        Posting(
            "Stark Industries",
            "Machine Learning Engineer",
            "https://careers.starkindustries.com/jobs/9?src=slack",
        ),
    ),
    (
        "Posting for a friend: Wayne Enterprises are hiring two Security Engineers. "
        "https://wayne-enterprises.example.co.uk/jobs/17",
        Posting(
            "Wayne Enterprises",
            "Security Engineers",
            "https://wayne-enterprises.example.co.uk/jobs/17",
        ),
    ),
    (
        "Interesting one, no idea about the team: https://jobs.ashbyhq.com/vandelay-industries/123",
        Posting("Vandelay Industries", "", "https://jobs.ashbyhq.com/vandelay-industries/123"),
    ),
    (
        "Check this out https://www.linkedin.com/jobs/view/3812345678",
        Posting("", "", "https://www.linkedin.com/jobs/view/3812345678"),
    ),
    (
        "📢 Opening at Notion: Product Engineer, AI — https://www.notion.so/careers/123",
        Posting("Notion", "Product Engineer, AI", "https://www.notion.so/careers/123"),
    ),
    (
        "Datadog - Software Engineer II - New York https://careers.datadoghq.com/detail/5678/",
        Posting("Datadog", "Software Engineer II", "https://careers.datadoghq.com/detail/5678/"),
    ),
    (
        "Shopify (Staff Developer, Checkout) https://www.shopify.com/careers/staff-dev",
        Posting(
            "Shopify", "Staff Developer, Checkout", "https://www.shopify.com/careers/staff-dev"
        ),
    ),
    (
        "My company Contoso Ltd is looking for a Data Scientist. Ping me!",
        Posting("Contoso Ltd", "Data Scientist", ""),
    ),
    ("Remote - Senior Backend Engineer | Acme", Posting("Acme", "Senior Backend Engineer", "")),
    (
        "We are hiring! Senior Product Manager at Fabrikam Inc (London) - "
        "https://fabrikam.com/jobs/pm",
        Posting("Fabrikam Inc", "Senior Product Manager", "https://fabrikam.com/jobs/pm"),
    ),
    (
        "Job: Frontend Engineer\nCompany: Fabrikam\nLocation: Remote",
        Posting("Fabrikam", "Frontend Engineer", ""),
    ),
    ("anyone up for lunch?", Posting()),
]


@pytest.mark.parametrize(("text", "expected"), POSTS, ids=[p[1].company or "none" for p in POSTS])
def test_a_job_post_is_read_into_company_role_and_link(text: str, expected: Posting) -> None:
    assert read_posting(text) == expected


def test_add_to_my_pipeline_opens_the_add_form_filled_in(ws: MemoryWorkspace) -> None:
    out = ws.shortcut("alice", "add_to_pipeline", POSTS[0][0])
    form = form_of(out)
    assert form.action == "pipeline.add"
    assert {f.name: f.initial for f in form.fields} == {
        "company": "Acme Corp",
        "role": "Senior Data Engineer",
        "stage": "",
        "link": "https://boards.greenhouse.io/acmecorp/jobs/4012345",
    }
    assert "I read company 'Acme Corp', role 'Senior Data Engineer'" in text_of(out)
    # The member corrects the guess, and saves.
    fields = {f.name: f.initial for f in form.fields} | {"company": "ACME Corporation"}
    out = ws.submit("alice", "pipeline.add", "", fields)
    assert "Added ACME Corporation (Senior Data Engineer) at applied." in text_of(out)
    with ws.app.sessions() as s:
        app = s.scalars(select(Application)).one()
        assert app.link == "https://boards.greenhouse.io/acmecorp/jobs/4012345"


def test_a_message_with_nothing_to_read_still_opens_the_form(ws: MemoryWorkspace) -> None:
    out = ws.shortcut("alice", "add_to_pipeline", "anyone up for lunch?")
    assert "I couldn't read a company." in text_of(out)
    assert all(f.initial == "" for f in form_of(out).fields)


def test_log_an_interview_opens_the_interview_form(ws: MemoryWorkspace) -> None:
    setup(ws, "Asia/Tokyo")
    out = ws.shortcut("alice", "log_interview", where=ws.dm("alice"))
    form = form_of(out)
    assert (form.action, form.zone) == ("pipeline.interview", "Asia/Tokyo")
    out = ws.submit(
        "alice",
        "pipeline.interview",
        "",
        {"company": "acme", "date": "2026-12-01", "time": "09:00"},
        where=ws.dm("alice"),
    )
    assert interviews(ws) == [("Acme", datetime(2026, 12, 1, 0, 0, tzinfo=UTC), None)]


def test_an_unknown_shortcut_is_answered(ws: MemoryWorkspace) -> None:
    out = ws.shortcut("alice", "nonexistent", "hello")
    assert "That shortcut isn't available." in text_of(out)


def test_every_command_that_reads_a_date_asks_the_same_way(ws: MemoryWorkspace) -> None:
    """The question comes from the router, so /settings pause asks as /pipeline does."""
    ws.command("alice", "/settings tz Europe/Paris")
    out = ws.command("alice", "/settings pause until 03/04")
    assert [b.label for b in out[0].reply.buttons] == ["3 April", "4 March"]
    out = ws.press("alice", out[0].reply.buttons[1])
    assert "they resume on Thu 4 Mar 2027" in text_of(out)


def test_the_console_asks_for_a_forms_dates_as_typed_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = "/settings tz Europe/Paris\n/pipeline interview acme\n"
    env = without_platforms(COHORTBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}")
    proc = invoke_cohortbot(monkeypatch, "console", cwd=tmp_path, env=env, input=script)
    assert proc.returncode == 0, proc.stderr
    assert (
        "  :fill company=acme date=<YYYY-MM-DD, or e.g. 5 Dec> "
        "time=<HH:MM (24h), or e.g. 2:30pm> [kind=<Kind (phone, technical, onsite ...)>]"
        in proc.stdout
    )


def test_buttons_open_the_dated_forms_for_that_company(ws: MemoryWorkspace) -> None:
    setup(ws)
    out = ws.command("alice", "/pipeline offer acme base 100k")
    [ask] = [b for b in out[0].reply.buttons if b.action == "pipeline.form"]
    assert ask.label == "Set the deadline"
    form = form_of(ws.press("alice", ask))
    assert (form.action, form.fields[0].initial) == ("pipeline.deadline", "Acme")
    out = ws.command("alice", "/pipeline cancel-interview acme")
    [log] = out[0].reply.buttons
    form = form_of(ws.press("alice", log))
    assert (form.action, form.fields[0].initial) == ("pipeline.interview", "Acme")
    # Someone else's application: no form.
    out = ws.press_id("bob", ask.custom_id)
    assert "That button isn't for you" in text_of(out)
