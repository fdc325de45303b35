"""Reply -> Embed, persistent View, files and Modal. Pure functions, snapshot-tested.

Buttons are DynamicItems: their whole state is the custom_id (`action|value`), so a click on a
message sent weeks ago, before any number of restarts, still reaches the router."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.types import Attachment, Button, Form, Reply

# Discord's documented limits; past them the API answers 400 for the whole message.
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FIELDS_MAX = 25
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
BUTTON_LABEL_MAX = 80
BUTTONS_MAX = 25
MODAL_TITLE_MAX = 45
MODAL_FIELDS_MAX = 5
INPUT_LABEL_MAX = 45
INPUT_PLACEHOLDER_MAX = 100
INPUT_VALUE_MAX = 4000

STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}
COLORS = {
    "primary": 0x5865F2,
    "success": 0x57F287,
    "green": 0x57F287,
    "warning": 0xFEE75C,
    "yellow": 0xFEE75C,
    "danger": 0xED4245,
    "red": 0xED4245,
    "info": 0x5865F2,
    "blue": 0x5865F2,
}
DEFAULT_COLOR = 0x5865F2

_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)


def neutralize(text: str) -> str:
    """Defuse @everyone/@here even where AllowedMentions would not reach (e.g. a copy-paste)."""
    return _MASS_MENTION.sub("@\u200b\\1", text)


def _clip(text: str, limit: int) -> str:
    text = neutralize(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def color_of(name: str | None) -> int:
    if not name:
        return DEFAULT_COLOR
    low = name.strip().lower()
    if low in COLORS:
        return COLORS[low]
    if re.fullmatch(r"#?[0-9a-f]{6}", low):
        return int(low.lstrip("#"), 16)
    raise ValueError(f"unknown reply colour {name!r}")


def _file_name(name: str) -> str:
    """Discord refers to attachments by name (attachment://...): keep it to safe characters."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip("._") or "file"
    return safe[:100]


def to_embed(reply: Reply) -> discord.Embed:
    embed = discord.Embed(
        title=_clip(reply.title, TITLE_MAX) if reply.title else None,
        description=_clip(reply.card_text, DESCRIPTION_MAX) or None,
        colour=color_of(reply.color),
    )
    for f in reply.fields[:FIELDS_MAX]:
        embed.add_field(
            name=_clip(f.name, FIELD_NAME_MAX) or "\u200b",
            value=_clip(f.value, FIELD_VALUE_MAX) or "\u200b",
            inline=f.inline,
        )
    if reply.footer:
        embed.set_footer(text=_clip(reply.footer, FOOTER_MAX))
    if reply.image is not None:
        embed.set_image(url=f"attachment://{_file_name(reply.image.filename)}")
    _fit(embed)
    return embed


def _fit(embed: discord.Embed) -> None:
    """Discord caps an embed's characters in total: shorten the description (keeping its
    start), then drop trailing fields, then shorten the footer, until it fits."""
    over = len(embed) - EMBED_TOTAL_MAX
    if over > 0 and embed.description:
        keep = max(200, len(embed.description) - over - 1)
        if keep < len(embed.description):
            embed.description = embed.description[:keep] + "…"
    while len(embed) > EMBED_TOTAL_MAX and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    over = len(embed) - EMBED_TOTAL_MAX
    if over > 0 and embed.footer.text:
        embed.set_footer(text=embed.footer.text[: max(0, len(embed.footer.text) - over - 1)] + "…")


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"(?P<action>[^|]{1,99})\|(?P<value>[^\n]*)",
):
    """One core Button. The callback hands the custom_id to whatever handler the client has."""

    def __init__(self, button: Button) -> None:
        super().__init__(
            discord.ui.Button(
                label=_clip(button.label or button.action, BUTTON_LABEL_MAX),
                style=STYLES[button.style],
                custom_id=button.custom_id,
            )
        )
        self.button = button

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> ActionButton:
        label = getattr(item, "label", None) or match["action"]
        return cls(Button(match["action"], match["value"], label))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler: Callable[[discord.Interaction[Any], str], Awaitable[None]] | None = getattr(
            interaction.client, "on_cohort_click", None
        )
        if handler is not None:
            await handler(interaction, self.button.custom_id)


def to_view(reply: Reply) -> discord.ui.View | None:
    """A persistent View (no timeout) of the reply's buttons, 5 to a row; None without buttons."""
    if not reply.buttons:
        return None
    if len(reply.buttons) > BUTTONS_MAX:
        raise ValueError(f"{len(reply.buttons)} buttons; a Discord message holds {BUTTONS_MAX}")
    ids = [b.custom_id for b in reply.buttons]
    if len(set(ids)) != len(ids):
        raise ValueError("two buttons share a custom_id; Discord refuses the message")
    view = discord.ui.View(timeout=None)
    for i, button in enumerate(reply.buttons):
        item = ActionButton(button)
        item.row = i // 5
        view.add_item(item)
    return view


def to_file(att: Attachment) -> discord.File:
    return discord.File(io.BytesIO(att.data), filename=_file_name(att.filename))


def to_files(reply: Reply) -> list[discord.File]:
    files = [to_file(a) for a in reply.files]
    if reply.image is not None:
        files.append(to_file(reply.image))
    return files


def message_kwargs(reply: Reply) -> dict[str, Any]:
    """Everything `send`/`send_message`/`followup.send` take for one reply."""
    kwargs: dict[str, Any] = {
        "embed": to_embed(reply),
        "allowed_mentions": discord.AllowedMentions.none(),
    }
    view = to_view(reply)
    if view is not None:
        kwargs["view"] = view
    files = to_files(reply)
    if files:
        kwargs["files"] = files
    return kwargs


SubmitHandler = Callable[[discord.Interaction[Any], Form, dict[str, str]], Awaitable[None]]


def modal_id(form: Form, nonce: str) -> str:
    """`nonce:action|value`: the nonce keeps two members' open modals apart in discord.py's
    store (keyed by custom_id); action and value let a submit after a restart be routed."""
    custom_id = f"{nonce}:{form.action}|{form.value}"
    if len(custom_id) > 100:
        raise ValueError(f"form id too long for Discord ({len(custom_id)}): {custom_id[:40]}")
    return custom_id


def parse_modal_id(custom_id: str) -> tuple[str, str] | None:
    """(action, value) from a modal's custom_id, or None when it is not one of ours."""
    _, sep, rest = custom_id.partition(":")
    if not sep or "|" not in rest:
        return None
    action, _, value = rest.partition("|")
    return action, value


TYPED_DATE_MAX = 100  # a date or time typed in words ("next tuesday 2pm")


class FormModal(discord.ui.Modal):
    """A core Form as a modal; its submit goes to the handler with the field values by name."""

    def __init__(self, form: Form, on_submit: SubmitHandler, nonce: str = "0") -> None:
        super().__init__(title=_clip(form.title, MODAL_TITLE_MAX), custom_id=modal_id(form, nonce))
        if len(form.fields) > MODAL_FIELDS_MAX:
            raise ValueError(f"{len(form.fields)} fields; a Discord modal holds {MODAL_FIELDS_MAX}")
        self.form = form
        self._handler = on_submit
        self.inputs: dict[str, discord.ui.TextInput[Any]] = {}
        for f in form.fields:
            # Discord's modals have no pickers: a date or time is typed, its format shown in
            # the placeholder, and read by the core in the member's zone.
            longest = min(f.max_length if f.kind == "text" else TYPED_DATE_MAX, INPUT_VALUE_MAX)
            text: discord.ui.TextInput[Any] = discord.ui.TextInput(
                label=_clip(f.label, INPUT_LABEL_MAX),
                custom_id=f.name,
                style=discord.TextStyle.paragraph if f.multiline else discord.TextStyle.short,
                required=f.required,
                max_length=longest,
                placeholder=_clip(f.hint, INPUT_PLACEHOLDER_MAX) or None,
                default=f.initial[:longest] or None,
            )
            self.inputs[f.name] = text
            self.add_item(text)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        values = {name: item.value or "" for name, item in self.inputs.items()}
        await self._handler(interaction, self.form, values)


def view_components(view: discord.ui.View | None) -> list[dict[str, Any]]:
    return [] if view is None else view.to_components()
