"""Practise a drill by id (issue 13): `/drill <drill-id>`, so that an organizer can say
"today's workshop drill is ..." and a member can retry one."""

from __future__ import annotations

from adapters.memory import MemoryWorkspace
from bot.commands import find


def test_a_drill_named_by_id_is_served_and_answered(ws: MemoryWorkspace) -> None:
    [d] = ws.command("bob", "/drill prob-two-aces")
    assert d.reply.footer is not None and d.reply.footer.startswith("prob-two-aces")
    [fb] = ws.command("bob", "/drill answer about 0.0045")
    assert "prob-two-aces" in fb.text or "0.0045" in fb.text
    # The long form, and a track still means a track.
    [again] = ws.command("bob", "/drill next drill prob-two-aces")
    assert again.reply.footer is not None and again.reply.footer.startswith("prob-two-aces")
    [track] = ws.command("bob", "/drill behavioural")
    assert track.reply.title is not None and "Behavioural" in track.reply.title


def test_an_unknown_id_is_refused_with_suggestions(ws: MemoryWorkspace) -> None:
    [d] = ws.command("bob", "/drill prob-two-ace")
    assert "'prob-two-ace' is neither a track nor a drill" in d.text
    assert "Did you mean prob-two-aces" in d.text
    [d] = ws.command("bob", "/drill zzz")
    assert "'zzz' is neither a track nor a drill" in d.text and "Did you mean" not in d.text


def test_the_drill_option_is_declared_for_every_platform() -> None:
    drill = find("drill")
    assert drill is not None
    nxt = drill.sub("next")
    assert nxt is not None
    [opt] = [o for o in nxt.options if o.name == "drill"]
    assert opt.autocomplete == "drill" and opt.keyword and not opt.required
