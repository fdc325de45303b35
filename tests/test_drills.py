"""The practice loop through the whole dispatch path, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.memory import Delivery, MemoryWorkspace
from bot import commands
from bot.content import TRACKS
from bot.db.drill_models import Card, Review
from bot.db.models import Member
from bot.features.drills.practice import Want, next_drills
from tests.conftest import snapshot
from tests.helpers import statements

FULL_STAR = (
    "At my last job the team was split over a database migration and the launch was at risk. "
    "My task was to get everyone to one plan within a week. I decided to write a one-page "
    "comparison, I proposed a two-day spike and I built a small prototype with the loudest "
    "critic. As a result we shipped on time and the error rate dropped by 30%. I learned that "
    "data settles arguments faster than meetings. Since then I always start a disagreement "
    "with a shared document, and going forward I ask for the critic's help first."
)
MISSING_TWO = (
    "At my last job the team was split over a database migration and the launch was at risk. "
    "My task was to get everyone to one plan within a week. I decided to write a one-page "
    "comparison, I proposed a two-day spike and I built a small prototype with the loudest "
    "critic, and then we moved on to the next project on the roadmap. Since then I always "
    "write the options down before a debate starts."
)


def _serve(ws: MemoryWorkspace, who: str, line: str) -> tuple[Delivery, str]:
    [d] = ws.command(who, line)
    drill_id = d.reply.buttons[0].value
    return d, drill_id


def test_track_choices_match_content() -> None:
    drill = commands.find("drill")
    assert drill is not None
    nxt = drill.sub("next")
    assert nxt is not None
    assert set(nxt.options[0].choices) == set(TRACKS)


def test_drill_shows_prompt_and_buttons(ws: MemoryWorkspace) -> None:
    d, drill_id = _serve(ws, "bob", "/drill behavioral")
    assert drill_id.startswith("beh-")
    assert [b.label for b in d.reply.buttons] == [
        "Answer",
        "Hint",
        "Show framework",
        "Skip to answer",
    ]
    assert ws.app.content.drills[drill_id].prompt in d.text
    assert not d.seen_by("alice")


def test_british_spelling_of_a_track_is_understood(ws: MemoryWorkspace) -> None:
    _d, drill_id = _serve(ws, "bob", "/drill Behavioural")
    assert drill_id.startswith("beh-")
    [d] = ws.command("carol", "/settings tracks behavioural, probability")
    assert "behavioral" in d.text and "probability" in d.text
    [d] = ws.command("carol", "/drill behaviourist")
    assert "is neither a track nor a drill" in d.text and "behavioral, " in d.text


def test_star_feedback_differs_by_parts_present(ws: MemoryWorkspace) -> None:
    _serve(ws, "bob", "/drill behavioral")
    [full] = ws.command("bob", f"/drill answer {FULL_STAR}")
    assert "STAR++ check: 6 of 6 parts present." in full.text
    assert "Missing" not in full.text
    _serve(ws, "bob", "/drill behavioral")
    [part] = ws.command("bob", f"/drill answer {MISSING_TWO}")
    assert "STAR++ check: 4 of 6 parts present." in part.text
    assert "Missing Result:" in part.text and "Missing Learning:" in part.text
    tips = {s.key: s.tip for s in ws.app.content.frameworks["star"].steps}
    assert tips["result"] in part.text and tips["learning"] in part.text
    [short] = ws.command("bob", "/drill answer I fixed it.")
    assert "far too short" in short.text


@pytest.mark.parametrize(
    ("answer", "right"), [("1/6", True), ("0.1667", True), ("16.7%", True), ("0.2", False)]
)
def test_puzzle_grading(ws: MemoryWorkspace, answer: str, right: bool) -> None:
    drill = next(d for d in ws.app.content.drills.values() if d.answer == "1/6")
    [d] = ws.submit("bob", "drill.answer", drill.id, {"answer": answer})
    assert d.text.startswith("Right!" if right else "Not quite.")
    assert drill.worked and drill.worked[:40] in d.text


def test_rating_good_days_ahead_again_within_the_day(ws: MemoryWorkspace) -> None:
    _, first = _serve(ws, "bob", "/drill probability")
    ws.command("bob", "/drill answer 0.5")
    [rated] = ws.command("bob", "/drill rate good")
    assert "days)" in rated.text
    _, second = _serve(ws, "bob", "/drill probability")
    assert second != first  # never the same drill twice in a row
    ws.command("bob", "/drill skip")
    [rated] = ws.command("bob", "/drill rate again")
    assert "in 10 minutes" in rated.text
    with ws.app.sessions() as s:
        cards = {c.drill_id: c for c in s.scalars(select(Card))}
    now = ws.clock.now()
    assert cards[first].due_at - now >= timedelta(days=2)
    assert cards[second].due_at - now <= timedelta(hours=1)
    # Once due, the review comes before any new drill (but not twice in a row).
    ws.clock.advance(timedelta(minutes=15))
    _, third = _serve(ws, "bob", "/drill probability")
    assert third != second  # second was the last one served
    ws.command("bob", "/drill skip")
    ws.command("bob", "/drill rate good")
    _, fourth = _serve(ws, "bob", "/drill probability")
    assert fourth == second


def test_points_written_beat_revealed_and_rating_is_once(ws: MemoryWorkspace) -> None:
    _serve(ws, "bob", "/drill coding")
    [fb] = ws.command("bob", "/drill answer I would clarify inputs, plan a skeleton, then test.")
    good = fb.reply.buttons[2]
    [a] = ws.press("bob", good)
    assert "+10 points" in a.text
    [again] = ws.press("bob", good)  # a double click scores once
    assert "already rated" in again.text
    [typed] = ws.command("bob", "/drill rate good")
    assert "no drill in front of you" in typed.text
    _serve(ws, "bob", "/drill coding")
    ws.command("bob", "/drill skip")
    [b] = ws.command("bob", "/drill rate easy")
    assert "+3 points (13 in all)" in b.text


def test_buttons_work_on_old_messages(ws: MemoryWorkspace) -> None:
    d, drill_id = _serve(ws, "bob", "/drill research")
    hint, framework, skip = d.reply.buttons[1:]
    [h] = ws.press("bob", hint)
    assert h.text.startswith("Hint 1 of")
    [f] = ws.press("bob", framework)
    assert f.reply.title == "How to structure it"
    _serve(ws, "bob", "/drill research")  # a newer drill is now in front
    [s] = ws.press("bob", skip)  # the old message's button still answers for its own drill
    assert drill_id in s.reply.title  # type: ignore[operator]
    [rated] = ws.press("bob", s.reply.buttons[2])  # Good
    assert f"bring {drill_id} back" in rated.text


def test_answer_button_opens_a_form(ws: MemoryWorkspace) -> None:
    d, drill_id = _serve(ws, "bob", "/drill ml-fundamentals")
    [f] = ws.press("bob", d.reply.buttons[0])
    assert f.reply.form is not None and f.reply.form.value == drill_id
    [fb] = ws.submit(
        "bob",
        f.reply.form.action,
        f.reply.form.value,
        {"answer": "Logistic regression models the log-odds as a linear function."},
    )
    assert "A model answer" in fb.text


def test_bad_answers_write_nothing(ws: MemoryWorkspace) -> None:
    [d] = ws.command("bob", "/drill answer hello")
    assert "no drill in front of you" in d.text
    _serve(ws, "bob", "/drill behavioral")
    before = snapshot(ws.app.engine)
    [d] = ws.command("bob", "/drill answer " + "x" * 10_000)
    assert "limit" in d.text
    [d] = ws.command("bob", "/drill rate splendid")
    assert "must be one of again, hard, good, easy" in d.text
    [d] = ws.press_id("bob", "drill.rate|beh-nope:9")
    assert "broken" in d.text
    assert snapshot(ws.app.engine) == before


def test_answers_stay_private(ws: MemoryWorkspace) -> None:
    _serve(ws, "bob", "/drill behavioral")
    out = ws.command("bob", f"/drill answer {FULL_STAR}")
    out += ws.command("bob", "/drill rate good")
    out += ws.command("bob", "/drill stats")
    for d in out:
        assert d.seen_by("bob") and not d.seen_by("carol")
    [carol] = ws.command("carol", "/drill stats")
    assert "0 drills done" in carol.text
    assert "data settles arguments" not in carol.text


def _do_one(ws: MemoryWorkspace, who: str) -> str:
    _serve(ws, who, "/drill probability")
    ws.command(who, "/drill skip")
    [r] = ws.command(who, "/drill rate good")
    return r.text


def test_streak_survives_dst_and_breaks_after_a_missed_day(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/settings tz America/Los_Angeles")
    # US DST ends on Sun 1 Nov 2026. Practise at 23:30 local every night across it.
    for day in range(29, 32):
        ws.clock.set(datetime(2026, 10, day, 23, 30, tzinfo=UTC) + timedelta(hours=7))
        assert "Streak:" in _do_one(ws, "bob")
    for day in (1, 2):
        ws.clock.set(datetime(2026, 11, day, 23, 30, tzinfo=UTC) + timedelta(hours=8))
        text = _do_one(ws, "bob")
    assert "Streak: 5 days" in text
    [s] = ws.command("bob", "/drill stats")
    assert "Streak: 5 days" in s.text
    # Skip Nov 3 (local); on Nov 4 local the streak starts again.
    ws.clock.set(datetime(2026, 11, 4, 23, 30, tzinfo=UTC) + timedelta(hours=8))
    [s] = ws.command("bob", "/drill stats")
    assert "Streak: 0 days" in s.text
    assert {f.name: f.value for f in s.reply.fields}["Streak"] == "0 days (best 5)"
    assert "Streak: 1 day" in _do_one(ws, "bob")


def test_next_drills_is_set_based(ws: MemoryWorkspace) -> None:
    for i in range(30):
        ws.command(f"m{i}", "/drill")
    with ws.app.sessions() as s:
        ids = list(s.scalars(select(Member.id)))
        with statements(ws.app.engine) as ran:
            picks = next_drills(
                s, [Want(i, tuple(TRACKS)) for i in ids], ws.clock.now(), ws.app.content
            )
    assert len(picks) == len(ids)
    assert len(ran) <= 3
    assert len({p.id for p in picks.values()}) > 1  # members don't all get the same drill


def test_reviews_are_logged(ws: MemoryWorkspace) -> None:
    _serve(ws, "bob", "/drill negotiation")
    ws.command("bob", "/drill answer I'd thank them and ask for the offer in writing.")
    ws.command("bob", "/drill rate hard")
    with ws.app.sessions() as s:
        [r] = s.scalars(select(Review)).all()
    assert r.rating == 2 and r.written and r.answer and r.track == "negotiation"


def test_ask(ws: MemoryWorkspace) -> None:
    [d] = ws.command("bob", "/ask culture")
    assert d.text.count("\n1. ") + d.text.startswith("1. ") == 1
    first = d.text
    [more] = ws.press("bob", d.reply.buttons[0])
    assert more.text != first
    [mix] = ws.command("bob", "/ask")
    assert mix.reply.title == "Questions to ask: A mix of topics"
    [topics] = ws.command("bob", "/ask topics")
    assert "startup-health" in topics.text
    [bad] = ws.command("bob", "/ask weather")
    assert "topic must be one of" in bad.text
