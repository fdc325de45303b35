"""Small helpers for what members type and what the bot shows back."""

from __future__ import annotations

import unicodedata

from bot.errors import UserError


def clean(value: str, *, what: str, limit: int, multiline: bool = False) -> str:
    """Refuse over-long input with its limit; drop control characters that break rendering."""
    if len(value) > limit:
        raise UserError(
            f"That {what} is {len(value):,} characters long; the limit is {limit:,}. "
            "Nothing was saved."
        )
    kept = []
    for ch in value:
        if ch in "\n\t" and multiline:
            kept.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch not in "\u200d":
            continue
        else:
            kept.append(ch)
    return "".join(kept).strip()


def clip(value: str, limit: int = 80) -> str:
    """Shorten a value quoted back in an error message."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def as_id(text: str) -> int | None:
    """A row id from a button value: plain ASCII digits that fit a database integer, or None
    (a forged 40-digit value must be refused, not overflow the driver)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        return None
    return int(text)
