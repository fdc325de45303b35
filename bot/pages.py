"""A long list as pages: each page fits one message on every platform and says "page k of n";
its Previous and Next buttons turn the page in place (`Ctx.turn`: the pressed message is
replaced). A list is read again on every press, so a page past the end of a list that shrank
shows its last page. The buttons carry the owner's member id, and a press by anyone else is
refused: on Discord an edit shows in the message for everyone who can see it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import NotAllowed
from bot.types import Button

# What one page may hold, within the tightest platform: Discord's embed (description 4,096,
# fields of 1,024, at most 25 of them, 6,000 characters in all). The items get PAGE_CHARS;
# the title, a lead sentence and the footer fit in what is left of the 6,000. Slack holds it
# too: a field or a 3,000-character section is one block of its 50.
PAGE_CHARS = 3_600
FIELD_CHARS = 1_000
# A page's title is Slack's header, which holds 150 characters (Discord's title 256).
TITLE_CHARS = 150


def split(sizes: Sequence[int], per_page: int, chars: int = PAGE_CHARS) -> list[range]:
    """Consecutive items (`sizes`: characters each) into pages of at most `per_page` items and
    `chars` characters; an item alone always makes a page. At least one page, maybe empty."""
    pages: list[range] = []
    start = used = 0
    for i, size in enumerate(sizes):
        if i > start and (i - start >= per_page or used + size > chars):
            pages.append(range(start, i))
            start, used = i, 0
        used += size
    pages.append(range(start, len(sizes)))
    return pages


def clamp(page: int, count: int) -> int:
    return min(max(page, 1), max(count, 1))


def of(page: int, count: int) -> str:
    return f"page {page} of {count}"


@dataclass(frozen=True)
class Turn:
    """A page button's value: whose list, which page, and the list's own state (a letter's
    kind and company)."""

    owner: int
    page: int
    rest: str = ""

    @property
    def value(self) -> str:
        return f"{self.owner}:{self.page}:{self.rest}"

    @staticmethod
    def parse(value: str) -> Turn:
        owner, _, tail = value.partition(":")
        page, _, rest = tail.partition(":")
        # ASCII digits only: str.isdigit() takes "²", which int() then refuses.
        return Turn(_number(owner, -1), _number(page, 1), rest)

    def check(self, member_id: int) -> None:
        if self.owner != member_id:
            raise NotAllowed("Those page buttons belong to someone else's list; nothing changed.")


def _number(text: str, default: int) -> int:
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else default


def pressed(value: str, member_id: int) -> Turn:
    """The page a button asks for, refused unless the member pressing owns the list."""
    turn = Turn.parse(value)
    turn.check(member_id)
    return turn


def buttons(action: str, owner: int, page: int, count: int, rest: str = "") -> tuple[Button, ...]:
    """Previous and Next, where there is a page to go to."""
    out: list[Button] = []
    if page > 1:
        out.append(Button(action, Turn(owner, page - 1, rest).value, "Previous"))
    if page < count:
        out.append(Button(action, Turn(owner, page + 1, rest).value, "Next", "primary"))
    return tuple(out)


__all__ = [
    "FIELD_CHARS",
    "PAGE_CHARS",
    "TITLE_CHARS",
    "Turn",
    "buttons",
    "clamp",
    "of",
    "pressed",
    "split",
]
