"""Neutral value types that cross the boundary between the core and every adapter."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Platform = Literal["console", "memory", "slack", "discord"]
Source = Literal["slash", "button", "modal", "text"]
Style = Literal["primary", "secondary", "danger", "success"]

# A moment in a reply's text, which each platform shows its own way: Discord as `<t:unix:F>`
# (in each reader's zone) or `<t:unix:R>` (a countdown), Slack as `<!date^...>`, text-only
# places as the plain words the core wrote. Invisible separators mark it, so a renderer that
# knows none of this still shows readable words once `instants()` has run.
InstantStyle = Literal["F", "R"]  # the full date and time, or relative ("in 3 days")
_INSTANT = re.compile("\u2063t:(-?\\d+):([FR])\\|([^\u2063]*)\u2063")


def instant(at: datetime, plain: str, style: InstantStyle = "F") -> str:
    """`at` (aware) in a reply's text; `plain` is what text-only readers see."""
    return f"\u2063t:{int(at.timestamp())}:{style}|{plain}\u2063"


def instants(text: str, show: Callable[[int, InstantStyle, str], str] | None = None) -> str:
    """The text with every instant shown by `show(unix, style, plain)`; by default as plain."""
    return _INSTANT.sub(
        lambda m: (show or _plain)(int(m.group(1)), m.group(2), m.group(3)),  # type: ignore[arg-type]
        text,
    )


def _plain(_unix: int, _style: InstantStyle, plain: str) -> str:
    return plain


# Discord's custom_id holds at most 100 characters; Slack's action_id 255. State lives in the id.
CUSTOM_ID_LIMIT = 100


@dataclass(frozen=True)
class User:
    platform: str
    workspace_id: str
    user_id: str
    display_name: str
    is_admin: bool = False
    timezone: str | None = None  # the platform's own idea of the zone, if it has one
    # is_admin is the platform's fresh word both ways (Slack's users.info, read within the
    # minute), so a demotion there takes the organizer's rights here; else it only promotes.
    admin_checked: bool = False


@dataclass(frozen=True)
class Conversation:
    kind: Literal["dm", "channel"]
    id: str
    name: str | None = None


@dataclass(frozen=True)
class Invocation:
    """One command or click, already parsed where the platform gives structure (Discord)."""

    command: str  # the top-level command, e.g. "settings"
    args: str  # the raw text after the command, "" when options came structured
    user: User
    conversation: Conversation
    source: Source = "slash"
    options: dict[str, str] | None = None  # structured options, with "sub" for the sub-command


@dataclass(frozen=True)
class Button:
    action: str
    value: str = ""
    label: str = ""
    style: Style = "secondary"

    def __post_init__(self) -> None:
        if len(self.custom_id) > CUSTOM_ID_LIMIT:
            raise ValueError(f"button id too long ({len(self.custom_id)}): {self.custom_id[:40]}")
        if "|" in self.action:
            raise ValueError("a button action may not contain '|'")

    @property
    def custom_id(self) -> str:
        return f"{self.action}|{self.value}"

    @staticmethod
    def parse(custom_id: str) -> tuple[str, str]:
        action, _, value = custom_id.partition("|")
        return action, value


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    mime: str = "application/octet-stream"


# The longest answer any platform lets a member type in one input: Discord's modal text input
# (4,000); Slack's plain_text_input stops at 3,000 and its renderer clips the form to that.
ANSWER_LIMIT = 4000


# What a form field holds. Where a platform has pickers (Slack), a date, a time of day or a
# moment is picked; elsewhere it is typed, and the field's `hint` says the format.
FieldKind = Literal["text", "date", "time"]
# How a picked value reaches the form handler, and how `FormField.initial` is written: a date as
# 2026-12-05 and a time as 14:30, both in the form's zone. Typed text arrives as typed, and the
# core reads both (bot/dates.py `read_date`, `read_time`). A moment is a date field and a time
# field: each platform shows those two in the member's zone without converting anything.
_HINTS: dict[str, str] = {
    "date": "YYYY-MM-DD, or e.g. 5 Dec",
    "time": "HH:MM (24h), or e.g. 2:30pm",
}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    multiline: bool = False
    required: bool = True
    max_length: int = 2000
    placeholder: str = ""
    kind: FieldKind = "text"
    initial: str = ""  # shown filled in; see the formats above

    @property
    def hint(self) -> str:
        """The placeholder where the value is typed: the format a date or time takes."""
        return self.placeholder or _HINTS.get(self.kind, "")


@dataclass(frozen=True)
class Form:
    """A form that Slack and Discord show as a modal; the console takes the fields inline."""

    action: str
    title: str
    fields: tuple[FormField, ...]
    value: str = ""
    # The member's zone (IANA name): dates and times in the form are read and shown in it, and
    # Slack's time picker names it under the field.
    zone: str = ""


@dataclass(frozen=True)
class Reply:
    text: str
    title: str | None = None
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    color: str | None = None
    footer: str | None = None
    image: Attachment | None = None
    files: tuple[Attachment, ...] = ()
    form: Form | None = None  # opens a modal instead of posting, where the platform can
    # One rule for cards whose text repeats their fields: `text` stays whole for readers that
    # show text alone (Slack's notification, the console); a card that shows the fields (Slack
    # blocks, a Discord embed) shows `lead` above them instead of `text`, so nothing appears
    # twice. None means the text says what the fields do not (a letter and its "When"), and
    # cards show both.
    lead: str | None = None

    @property
    def card_text(self) -> str:
        """What a card shows next to the fields: `lead` when set, else `text`."""
        return self.text if self.lead is None else self.lead

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("a Reply always carries text")


@dataclass(frozen=True)
class Ephemeral:
    """Seen only by `user`, in `conversation` (a DM on Discord when no interaction is open)."""

    user: User
    conversation: Conversation


@dataclass(frozen=True)
class DM:
    user: User


@dataclass(frozen=True)
class Channel:
    """A post everyone in the channel sees, in the workspace it belongs to (`workspace_id` is
    the platform's own id: a Slack team, a Discord guild), so no adapter looks it up again."""

    conversation: Conversation
    platform: str
    workspace_id: str
    # A post that opens a discussion: replies go in a thread of this name on it (Discord
    # starts a public thread on the message; a Slack message has its own thread anyway).
    thread: str = ""


@dataclass(frozen=True)
class InPlace:
    """Replace the message whose button was pressed."""

    user: User
    conversation: Conversation
    # The reply is the message's whole new content (a list's page turned), not the outcome of
    # a press shown under what the message said, which a platform may keep.
    whole: bool = False


@dataclass(frozen=True)
class Room:
    """A small group's own place (a mock pair's): where the platform has one, a private space
    with the bot and `users` only (a Slack group DM, a Discord private thread in `channel`);
    elsewhere a copy in each member's DM. `key` names it for good ("pair-12"): the adapter
    opens it once and finds it again by that key (bot/rooms.py). `name` is its title."""

    key: str
    users: tuple[User, ...]
    channel: Channel | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if not self.users:
            raise ValueError("a room has members")


Target = Ephemeral | DM | Channel | InPlace | Room

# A link to a room in a message's text (the pairing DM's "your room"), which each adapter
# shows its own way once the room is open (Slack and Discord `<#id>`), else as `plain`.
_ROOM_LINK = re.compile("\u2063r:([\\w-]+)\\|([^\u2063]*)\u2063")


def room_link(key: str, plain: str) -> str:
    """A link to the room `key` in a reply's text; `plain` is what text-only readers see."""
    return f"\u2063r:{key}|{plain}\u2063"


def room_keys(text: str) -> list[str]:
    """The rooms a text links to, in order, each once."""
    return list(dict.fromkeys(m.group(1) for m in _ROOM_LINK.finditer(text)))


def room_links(text: str, show: Callable[[str, str], str] | None = None) -> str:
    """The text with every room link shown by `show(key, plain)`; by default as plain."""
    return _ROOM_LINK.sub(lambda m: (show or _plain_room)(m.group(1), m.group(2)), text)


def _plain_room(_key: str, plain: str) -> str:
    return plain


@dataclass(frozen=True)
class Outbound:
    target: Target
    reply: Reply
    # A refusal (bad arguments, not allowed): the member's change was not made.
    refusal: bool = False
    # The submitted form's field a refusal is about (bot/errors.py UserError.field), "" if none.
    field: str = ""
    # The message's identity for the platforms' duplicate checks (Discord's nonce, Slack's
    # message metadata): the outbox row's key, or the key an adapter gave a reply it handed
    # to the outbox after a failed first try. Empty for a reply sent straight back.
    key: str = ""
    # An earlier try may have reached the platform: look for it before sending again.
    uncertain: bool = False

    @property
    def platform(self) -> str:
        """The platform whose adapter sends it, read from the target."""
        target = self.target
        if isinstance(target, Channel):
            return target.platform
        if isinstance(target, Room):
            return target.users[0].platform
        return target.user.platform

    @property
    def workspace_id(self) -> str:
        """The platform's own id of the workspace it goes to."""
        target = self.target
        if isinstance(target, Channel):
            return target.workspace_id
        if isinstance(target, Room):
            return target.users[0].workspace_id
        return target.user.workspace_id


@dataclass(frozen=True)
class Answer:
    """What a command, click or form produced. `replies` answer the member where they acted
    (privately: an ephemeral in a channel, a message in their DM, a replaced message, a form);
    an adapter sends them through its own reply handle (a response_url, an interaction).
    `elsewhere` go anywhere else (another member's DM, a channel post, this member's DM when
    they acted in a channel) and are sent like any scheduled message."""

    replies: tuple[Outbound, ...] = ()
    elsewhere: tuple[Outbound, ...] = ()

    @property
    def all(self) -> list[Outbound]:
        return [*self.replies, *self.elsewhere]

    @staticmethod
    def sort(outbounds: list[Outbound], user: User, conversation: Conversation) -> Answer:
        """Tell the replies to `user`, who acted in `conversation`, from the rest."""
        replies: list[Outbound] = []
        elsewhere: list[Outbound] = []
        for ob in outbounds:
            (replies if _answers(ob, user, conversation) else elsewhere).append(ob)
        return Answer(tuple(replies), tuple(elsewhere))


def _answers(ob: Outbound, user: User, conversation: Conversation) -> bool:
    target = ob.target
    if isinstance(target, Ephemeral | InPlace):
        return target.user.user_id == user.user_id and target.conversation.id == conversation.id
    if isinstance(target, DM):
        # In their DM, a DM to them is the answer; a form opens where they acted, as a modal.
        mine = target.user.user_id == user.user_id
        return mine and (conversation.kind == "dm" or ob.reply.form is not None)
    return False
