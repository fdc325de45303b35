"""Issue 18's live views and consent, through the memory workspace on both databases: what
/settings share says, /cohort members grouped with Next/Previous, /cohort member by consent,
the digest time, the export, and two cohorts of one workspace, each seen by its organizer only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.memory import Delivery, MemoryWorkspace
from bot.types import DM, Button
from tests.conftest import snapshot
from tests.scheduling import only_jobs

SUNDAY = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _cohort(ws: MemoryWorkspace, start: str = "2026-11-02") -> None:
    """A cohort in its plan's first stage (preparation) unless `start` says otherwise."""
    ws.clock.set(SUNDAY)
    ws.command("alice", f"/cohort setup Europe/Berlin {start}")


def _one(out: list[Delivery]) -> Delivery:
    assert len(out) == 1, [d.text for d in out]
    return out[0]


def _button(d: Delivery, label: str) -> Button:
    return next(b for b in d.reply.buttons if b.label == label)


def test_share_defaults_to_counts_and_settings_say_so(ws: MemoryWorkspace) -> None:
    _cohort(ws)
    shown = _one(ws.command("bob", "/settings"))
    assert "organizers see your pipeline's stage totals and dates, no company names" in shown.text
    changed = _one(ws.command("bob", "/settings share details"))
    assert "Your organizers now see your applications with company names" in changed.text
    assert any(
        f.name == "Organizers see" and "company names" in f.value for f in changed.reply.fields
    )
    before = snapshot(ws.app.engine)
    bad = _one(ws.command("bob", "/settings share everything"))
    assert bad.outbound.refusal and "level must be one of none, counts, details" in bad.text
    assert {
        k: v for k, v in snapshot(ws.app.engine).items() if k not in ("members", "member_rates")
    } == {k: v for k, v in before.items() if k not in ("members", "member_rates")}


def test_members_are_not_organizers_of_anything(ws: MemoryWorkspace) -> None:
    _cohort(ws)
    ws.command("bob", "/settings")
    for line in (
        "/cohort members",
        "/cohort member bob",
        "/cohort digest fri 16:00",
        "/cohort export",
    ):
        d = _one(ws.command("bob", line))
        assert "Only the cohort's organizers" in d.text, line
    for custom_id in ("organizer.members|all:2", "organizer.ontrack|1"):
        d = _one(ws.press_id("bob", custom_id))
        assert "Only the cohort's organizers can see that." in d.text


def test_members_list_groups_pages_and_filters(ws: MemoryWorkspace) -> None:
    _cohort(ws)
    for i in range(45):
        ws.command(f"m{i:02d}", "/settings" if i % 9 else "/settings pause")
    ws.advance(timedelta(days=9))  # everyone quiet for over a week; five paused
    first = _one(ws.command("alice", "/cohort members"))
    assert first.reply.title == "Members of #cohort (45): page 1 of 3"
    assert first.text.startswith("Needs attention (40):\n- m01: no drill yet, joined 7+ days ago")
    assert [b.label for b in first.reply.buttons] == [
        "Next",
        "Needs attention",
        "On track",
        "Inactive",
    ]
    second = _one(ws.press("alice", _button(first, "Next")))
    assert (second.reply.title or "").endswith("page 2 of 3")
    assert [b.label for b in second.reply.buttons][:2] == ["Previous", "Next"]
    third = _one(ws.command("alice", "/cohort members all 3"))
    assert (
        third.text.splitlines()[-5:]
        == [
            "Inactive (5):",
            *(f"- m{i:02d}: paused, no drill yet" for i in (0, 9, 18, 27, 36)),
        ][-5:]
    )
    inactive = _one(ws.command("alice", "/cohort members inactive"))
    assert (inactive.reply.title or "").endswith("page 1 of 1") and "m01" not in inactive.text


def test_a_members_detail_shows_what_they_share_and_never_pay(ws: MemoryWorkspace) -> None:
    _cohort(ws)
    for name, level in (("nora", "none"), ("cole", "counts"), ("dina", "details")):
        ws.command(name, f"/settings share {level}")
        ws.command(name, f"/pipeline add Acme{name} stage applied")
        ws.command(name, f"/pipeline offer Acme{name} deadline 2026-11-27 17:00 base 87654")
        ws.command(name, "/drill probability")
        ws.command(name, "/drill skip")
        ws.command(name, "/drill rate hard")
    nora = _one(ws.command("alice", "/cohort member nora"))
    cole = _one(ws.command("alice", "/cohort member @cole"))
    dina = _one(ws.command("alice", "/cohort member <@U-dina>"))
    for d in (nora, cole, dina):
        assert "87654" not in d.text and "87,654" not in d.text
        assert "(Hard)" in d.text  # their drill history
    assert nora.reply.title == "nora (shares nothing)" and "Pipeline: Not shared." in nora.text
    assert "Acme" not in nora.text
    assert "offer 1" in cole.text and "Fri 27 Nov 2026, 17:00" in cole.text
    assert "Acmecole" not in cole.text
    assert "Acmedina's offer is due" in dina.text and "- Acmedina: offer" in dina.text
    missing = _one(ws.command("alice", "/cohort member zed"))
    assert "No member of this cohort is called 'zed'" in missing.text


def test_the_digest_comes_when_the_organizer_asks_once_a_week(ws: MemoryWorkspace) -> None:
    _cohort(ws)
    ws.command("alice", "/settings tz America/New_York")
    said = _one(ws.command("alice", "/cohort digest fri 16:00"))
    assert "every fri at 16:00 (America/New_York)" in said.text
    ws.command("bob", "/settings")
    only_jobs(ws, "organizer-digest")
    out = ws.advance(timedelta(days=14))
    digests = [d for d in out if (d.reply.title or "").startswith("Weekly digest")]
    local = [d.at.astimezone(ZoneInfo("America/New_York")) for d in digests]
    assert [f"{t:%a %d %b %H:%M}" for t in local] == ["Fri 27 Nov 16:00", "Fri 04 Dec 16:00"]
    assert all(isinstance(d.outbound.target, DM) for d in digests)
    assert (digests[0].reply.title or "").endswith("Fri 20 Nov 2026 to Thu 26 Nov 2026")


def test_quiet_pipelines_need_attention_while_the_plan_is_on_applications(
    ws: MemoryWorkspace,
) -> None:
    _cohort(ws, start="2026-09-07")  # the applications stage begins Mon 23 Nov
    ws.command("nora", "/settings share none")
    ws.command("cole", "/pipeline add Globex stage applied")
    ws.advance(timedelta(days=15))
    listed = _one(ws.command("alice", "/cohort members attention")).text
    assert "cole: " in listed and "no application moved in 14+ days" in listed
    nora = next(line for line in listed.splitlines() if line.startswith("- nora"))
    assert "application" not in nora  # nothing of her pipeline, not even that it is quiet


def test_export_is_by_week_and_keeps_consent(ws: MemoryWorkspace) -> None:
    _cohort(ws)
    ws.command("nora", "/settings share none")
    ws.command("nora", "/pipeline add Initech stage applied")
    ws.command("cole", "/pipeline add Globex stage screen")
    ws.advance(timedelta(days=8))
    d = _one(ws.command("alice", "/cohort export"))
    [file] = d.reply.files
    assert file.mime == "text/csv"
    rows = list(csv.DictReader(io.StringIO(file.data.decode())))
    assert {r["member"] for r in rows} == {"nora", "cole"}
    last = {r["member"]: r for r in rows if r["week_start"] == "2026-11-30"}
    assert last["nora"]["reached_applied"] == "" and last["nora"]["shares"] == "none"
    assert last["cole"]["reached_applied"] == "1" and last["cole"]["reached_screen"] == "1"
    assert "Initech" not in file.data.decode() and "Globex" not in file.data.decode()


def test_two_cohorts_of_one_workspace_each_seen_by_its_organizer_only(
    ws: MemoryWorkspace,
) -> None:
    ws.clock.set(SUNDAY)
    ws.user("olga", admin=True)
    ws.command("alice", "/cohort setup Europe/Berlin 2026-09-07", where=ws.channel("c12"))
    ws.command("olga", "/cohort setup Europe/Berlin 2026-09-07", where=ws.channel("c13"))
    for name, channel in (("ann", "c12"), ("ben", "c12"), ("cy", "c13"), ("di", "c13")):
        ws.command(name, "/cohort join", where=ws.channel(channel))
        ws.command(name, f"/pipeline add Co{name} stage applied", where=ws.dm(name))
    mine = _one(ws.command("alice", "/cohort members", where=ws.dm("alice")))
    theirs = _one(ws.command("olga", "/cohort members", where=ws.dm("olga")))
    assert "ann" in mine.text and "ben" in mine.text and "cy" not in mine.text
    assert "cy" in theirs.text and "di" in theirs.text and "ann" not in theirs.text
    refused = _one(ws.command("alice", "/cohort member cy", where=ws.dm("alice")))
    assert "No member of this cohort is called 'cy'" in refused.text
    only_jobs(ws, "organizer-digest")
    out = ws.advance(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    by = {
        d.outbound.target.user.display_name: d  # type: ignore[union-attr]
        for d in out
        if (d.reply.title or "").startswith("Weekly digest")
    }
    assert set(by) == {"alice", "olga"}
    assert "(2 members share)" in str(by["alice"].reply.fields)
    assert "c12" in (by["alice"].reply.title or "") and "c13" in (by["olga"].reply.title or "")
    # Olga's on-track button, forwarded to Alice, shows Alice nothing of Olga's cohort.
    forwarded = by["olga"].reply.buttons[0]
    assert "another cohort" in _one(ws.press("alice", forwarded, where=ws.dm("alice"))).text
