"""The weekly digest as each platform shows it (issue 18): Block Kit that slack_sdk's own models
accept, a Discord embed within Discord's limits with nothing dropped, and the console; built
from a cohort made to be long (long names, long company names, everyone needing attention)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block

from adapters.console import Console
from adapters.discord.render import message_kwargs, to_embed
from adapters.memory import Delivery, MemoryWorkspace
from adapters.slack import render as slack
from bot.features.home.handlers import home
from bot.types import DM
from tests.scheduling import only_jobs

SUNDAY = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _long_cohort(ws: MemoryWorkspace, n: int = 30) -> Delivery:
    ws.clock.set(SUNDAY)
    ws.command("alice", "/cohort setup Europe/Berlin 2026-09-07")
    for i in range(n):
        name = f"member-{i:02d}-" + "x" * 50
        company = f"Company{i:02d} " + "Incorporated " * 6
        ws.command(name, "/settings share details")
        ws.command(name, f'/pipeline add "{company}" stage applied')
        ws.command(name, f'/pipeline offer "{company}" deadline 2026-11-24 17:00 base 99000')
        ws.command(name, f'/pipeline interview "{company}" 2026-11-26 14:00 "final round"')
    only_jobs(ws, "organizer-digest")
    out = ws.advance(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    [digest] = [
        d
        for d in out
        if isinstance(d.outbound.target, DM) and d.outbound.target.user.display_name == "alice"
    ]
    return digest


def _slack_valid(blocks: list[dict[str, object]]) -> None:
    assert 0 < len(blocks) <= 50
    for b in blocks:
        parsed = Block.parse(b)
        assert parsed is not None, b
        parsed.validate_json()  # raises SlackObjectFormationError past any Block Kit limit
        assert parsed.to_dict() == b


def test_the_digest_renders_within_each_platforms_limits(ws: MemoryWorkspace) -> None:
    d = _long_cohort(ws)
    reply = d.reply
    assert reply.title and reply.title.startswith("Weekly digest")
    assert "Needs attention (30)" in reply.text and "99000" not in reply.text
    assert reply.image is not None and reply.image.mime == "image/png"
    # Slack: every block passes slack_sdk's models; the names past the shown ones are counted.
    msg = slack.message(reply)
    _slack_valid(msg["blocks"])
    shown = "\n".join(str(b) for b in msg["blocks"])
    listed = reply.fields[0].value.splitlines()
    assert listed[-1] == f"and {30 - len(listed) + 1} more: /cohort members attention"
    assert all("offer is due Tue 24 Nov 2026, 17:00" in line for line in listed[:-1])
    assert listed[-1] in shown
    assert "(shortened)" not in shown
    actions = [b for b in msg["blocks"] if b["type"] == "actions"]
    assert [e["text"]["text"] for a in actions for e in a["elements"]] == [
        "Who is on track (0)",
        "Needs attention",
    ]
    # Discord: one embed within every limit, all seven fields kept, the chart attached.
    embed = to_embed(reply)
    assert len(embed) <= 6000 and len(embed.fields) == len(reply.fields) == 7
    for f in embed.fields:
        assert f.name is not None and f.value is not None
        assert len(f.name) <= 256 and len(f.value) <= 1024
    assert embed.title is not None and len(embed.title) <= 256
    assert embed.image.url == f"attachment://{reply.image.filename}"
    kwargs = message_kwargs(reply)
    assert [f.filename for f in kwargs["files"]] == [reply.image.filename]
    assert all(len(c.custom_id or "") <= 100 for c in kwargs["view"].children)
    # The console: the text, every section, the buttons, the chart saved as a file.
    buf = io.StringIO()
    Console(ws, buf).show([d])
    out = buf.getvalue()
    for part in ("Weekly digest", "Needs attention (30)", "Engagement", "Coming up", "file saved"):
        assert part in out, part
    assert "Who is on track (0)" in out


def test_the_organizer_section_of_home_is_for_organizers_only(ws: MemoryWorkspace) -> None:
    _long_cohort(ws, n=3)
    with ws.app.sessions() as s:
        from sqlalchemy import select

        from bot.db.models import Member

        members = {m.display_name: m for m in s.scalars(select(Member))}
        mine = home(s, members["alice"], ws.clock.now(), ws.app.content)
        theirs = home(s, members["member-00-" + "x" * 50], ws.clock.now(), ws.app.content)
    section = [f for f in mine.fields if f.name.startswith("Organizer")]
    assert len(section) == 1 and "Needs attention 3" in section[0].value
    assert not any(f.name.startswith("Organizer") for f in theirs.fields)
    assert "Organizer" not in theirs.text
    view = slack.home(mine)
    _slack_valid(view["blocks"])
    assert any("Organizer" in str(b) for b in view["blocks"])


@pytest.mark.parametrize("share", ["none", "counts"])
def test_the_digest_never_names_a_company_of_a_member_who_did_not_share_details(
    ws: MemoryWorkspace, share: str
) -> None:
    ws.clock.set(SUNDAY)
    ws.command("alice", "/cohort setup Europe/Berlin 2026-09-07")
    ws.command("bob", f"/settings share {share}")
    ws.command("bob", "/pipeline add Initech stage applied")
    ws.command("bob", "/pipeline offer Initech deadline 2026-11-24 17:00 base 99000")
    only_jobs(ws, "organizer-digest")
    out = ws.advance(datetime(2026, 11, 23, 12, 0, tzinfo=UTC)) + ws.advance(timedelta(days=8))
    digests = [d for d in out if (d.reply.title or "").startswith("Weekly digest")]
    assert len(digests) == 2
    for d in digests:
        text = "\n".join([d.text, *(f.value for f in d.reply.fields)])
        assert "Initech" not in text and "99000" not in text and "99,000" not in text
    first = digests[0].reply
    attention = next(f.value for f in first.fields if f.name.startswith("Needs attention"))
    pipeline = next(f for f in first.fields if f.name.startswith("Pipeline"))
    if share == "none":
        assert "bob" not in attention and pipeline.value == "Nobody shares their pipeline."
        assert "bob" not in next(f.value for f in first.fields if f.name == "Coming up")
    else:
        assert "bob: an offer is due Tue 24 Nov 2026, 17:00" in attention
        assert pipeline.name == "Pipeline (1 member share)"
