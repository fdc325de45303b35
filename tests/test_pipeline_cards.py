"""Cards show each fact once (issue 12, defect 12): pipeline show and list, offer compare."""

from __future__ import annotations

import io

import pytest

from adapters.console import Console
from adapters.memory import MemoryWorkspace
from adapters.slack import render as slack_render

# How a card renders: the database plays no part.
pytestmark = pytest.mark.sqlite_only


def _section_texts(blocks: list[dict[str, object]]) -> list[str]:
    return [str(b["text"]["text"]) for b in blocks if b["type"] == "section" and "text" in b]  # type: ignore[index]


def test_pipeline_show_in_slack_blocks_repeats_no_field(ws: MemoryWorkspace) -> None:
    ws.command("alice", '/pipeline add Acme "ML Engineer"')
    [d] = ws.command("alice", "/pipeline show acme")
    blocks = slack_render.blocks(d.reply)
    texts = "\n".join(_section_texts(blocks))
    assert "Role: ML Engineer" not in texts  # the Role field says it
    assert str(blocks).count("ML Engineer") == 2  # the lead's label and the Role field
    assert "Acme (ML Engineer): applied, moved today." in texts
    assert "Role: ML Engineer" in d.reply.text  # the notification still reads alone


def test_pipeline_list_and_offer_compare_fields_only_once(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/pipeline add Acme")
    ws.command("alice", "/pipeline offer acme deadline 2026-12-04 base 120k")
    ws.command("alice", "/pipeline add Beta")
    ws.command("alice", "/pipeline offer beta deadline 2026-12-20 base 110k")
    [d] = ws.command("alice", "/pipeline list")
    assert d.reply.lead == ""
    blocks = slack_render.blocks(d.reply)
    assert sum(str(b).count("- Acme") for b in blocks) == 1
    [d] = ws.command("alice", "/offer")
    blocks = slack_render.blocks(d.reply)
    assert sum(str(b).count("base 120,000") for b in blocks) == 1
    assert "On pay alone, Acme leads" in "\n".join(_section_texts(blocks))


def test_console_prints_a_card_once(ws: MemoryWorkspace) -> None:
    buf = io.StringIO()
    console = Console(ws, buf, user="alice")
    console.feed('/pipeline add Acme "ML Engineer"')
    out = buf.getvalue()
    assert "Role: ML Engineer" in out
    assert "  Role: ML Engineer" not in out  # the text says it; the fields are not printed again
