"""Names that grow when case-folded (issue 15, item 14): 51 or more `ß` or `ﬃ` in a company name
failed on PostgreSQL with "Sorry, something went wrong" (the folded key outgrew its column)."""

from __future__ import annotations

import pytest

from adapters.memory import MemoryWorkspace
from bot.router import SORRY


@pytest.mark.parametrize("letter", ["ß", "ﬁ", "ﬃ"])
def test_company_names_that_fold_longer_are_kept_and_found(
    ws: MemoryWorkspace, letter: str
) -> None:
    name = letter * 99  # within the 100-character limit as typed; 198 or 297 once folded
    added = ws.command("ada", f"/pipeline add {name} engineer")
    assert SORRY not in added[-1].text and "Added" in added[-1].text, added[-1].text
    shown = ws.command("ada", f"/pipeline show {name}")
    assert SORRY not in shown[-1].text and name in shown[-1].text
    moved = ws.command("ada", f"/pipeline move {letter * 10} screen")  # a prefix finds it
    assert "screen" in moved[-1].text.lower(), moved[-1].text
    again = ws.command("ada", f"/pipeline add {name.upper()} engineer")  # the same company
    assert SORRY not in again[-1].text
    assert len(ws.command("ada", "/pipeline list")[-1].text.split(letter * 99)) == 2
