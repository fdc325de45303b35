"""The member's home (Slack's App Home) through the whole dispatch path, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from adapters.memory import Delivery, MemoryWorkspace
from bot.features.pipeline.handlers import ADD_FORM
from bot.types import DM, Ephemeral
from tests.conftest import snapshot


def _home(ws: MemoryWorkspace, who: str) -> Delivery:
    [d] = ws.press_id(who, "home.show|")
    return d


def _fields(d: Delivery) -> dict[str, str]:
    return {f.name: f.value for f in d.reply.fields}


def test_empty_home_invites_a_first_step(ws: MemoryWorkspace) -> None:
    d = _home(ws, "bob")
    assert isinstance(d.outbound.target, Ephemeral)
    assert d.outbound.target.user.display_name == "bob"
    assert "pipeline is empty" in d.text
    f = _fields(d)
    assert f["Coming up"] == "Nothing scheduled."
    assert f["Drills"] == "Your first drill is ready"
    assert (f["Streak"], f["Points"]) == ("0 days", "0")
    assert [b.custom_id for b in d.reply.buttons] == ["drill.next|", "home.add|"]
    assert "UTC" in (d.reply.footer or "")


def test_board_and_next_dates_in_the_members_zone(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/settings tz Europe/Berlin")
    ws.command("bob", '/pipeline add Acme "ML Engineer" stage onsite')
    ws.command("bob", "/pipeline add Globex")
    ws.command("bob", "/pipeline add Initech stage screen")
    ws.command("bob", "/pipeline add Umbrella stage rejected")
    ws.command("bob", "/pipeline add Hooli stage screen")
    ws.command("bob", "/pipeline interview Initech 2026-11-26 14:00 kind technical")
    ws.command("bob", "/pipeline interview Hooli 2026-11-20 10:00")  # already held
    ws.command("bob", "/pipeline offer Acme deadline 2026-12-04 17:00")
    d = _home(ws, "bob")
    f = _fields(d)
    assert f["offer (1)"] == "Acme"
    assert f["applied (1)"] == "Globex"
    assert f["screen (2)"] == "Initech, Hooli" or f["screen (2)"] == "Hooli, Initech"
    assert f["rejected (1)"] == "Umbrella"
    assert "onsite" not in " ".join(f)  # Acme moved on to the offer
    assert f["Coming up"].splitlines() == [
        "Thu 26 Nov 2026, 14:00 (Europe/Berlin): technical with Initech",
        "Fri 4 Dec 2026, 17:00 (Europe/Berlin): answer Acme's offer",
    ]
    assert "Pipeline: 4 active of 5 applications." in d.text
    assert "Europe/Berlin" in (d.reply.footer or "")


def test_closed_offers_and_past_deadlines_drop_off(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/pipeline add Acme")
    ws.command("bob", "/pipeline offer Acme deadline 2026-11-25 17:00")
    assert "Acme's offer" in _fields(_home(ws, "bob"))["Coming up"]
    ws.clock.advance(timedelta(days=3))
    assert _fields(_home(ws, "bob"))["Coming up"] == "Nothing scheduled."
    ws.command("bob", "/pipeline add Globex")
    ws.command("bob", "/pipeline offer Globex deadline 2026-12-10")
    ws.command("bob", "/pipeline move Globex declined")
    assert _fields(_home(ws, "bob"))["Coming up"] == "Nothing scheduled."


def test_practice_counts_due_drills_streak_and_points(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/drill probability")
    ws.command("bob", "/drill skip")
    ws.command("bob", "/drill rate again")  # back in 10 minutes, 3 points
    f = _fields(_home(ws, "bob"))
    assert f["Drills"] == "No reviews due: a new drill is ready"
    assert (f["Streak"], f["Points"]) == ("1 day", "3")
    ws.clock.advance(timedelta(minutes=15))
    f = _fields(_home(ws, "bob"))
    assert f["Drills"] == "1 drill due for review"
    ws.clock.advance(timedelta(days=2))
    assert _fields(_home(ws, "bob"))["Streak"] == "0 days"  # a missed day ends it


def test_home_is_private_to_each_member(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/pipeline add Acme")
    ws.command("bob", "/pipeline interview Acme 2026-11-27 10:00")
    d = _home(ws, "carol")
    assert d.seen_by("carol") and not d.seen_by("bob")
    assert "Acme" not in d.text
    assert "Acme" not in repr(d.reply.fields)
    # In a DM it is a plain DM to the member.
    [dm] = ws.press_id("bob", "home.show|", ws.dm("bob"))
    assert isinstance(dm.outbound.target, DM)
    assert "Acme" in dm.text


def test_add_button_opens_the_form_and_the_form_adds(ws: MemoryWorkspace) -> None:
    [d] = ws.press_id("bob", "home.add|")
    assert d.reply.form == ADD_FORM
    assert "/pipeline add" in d.text  # readable where there are no modals
    ws.submit("bob", "pipeline.add", "", {"company": "Acme", "role": "", "stage": "screen"})
    assert _fields(_home(ws, "bob"))["screen (1)"] == "Acme"


def test_showing_the_home_changes_nothing_but_last_seen(ws: MemoryWorkspace) -> None:
    ws.command("bob", "/pipeline add Acme")
    ws.command("bob", "/drill probability")
    before = snapshot(ws.app.engine)
    _home(ws, "bob")
    after = snapshot(ws.app.engine)
    assert {k: v for k, v in after.items() if k != "members"} == {
        k: v for k, v in before.items() if k != "members"
    }


def test_long_boards_are_shortened(ws: MemoryWorkspace) -> None:
    for i in range(11):
        ws.command("bob", f"/pipeline add Company{i:02d}")
    value = _fields(_home(ws, "bob"))["applied (11)"]
    assert value.endswith("and 3 more")
    assert value.count(",") == 7
