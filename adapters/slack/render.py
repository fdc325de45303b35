"""Block Kit for the neutral Reply: a pure function of its input, snapshot-tested.

Every string that reaches Slack goes through `escape`: `&`, `<` and `>` are Slack's control
characters (`<!channel>`, `<@U123>`, links), so an unescaped value could ping a whole channel.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.types import Button, Field, Form, FormField, InstantStyle, Reply, instants

Block = dict[str, Any]

# Slack's documented limits; beyond them the API refuses the whole message.
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTONS_PER_ACTIONS = 25
BLOCKS_PER_MESSAGE = 50
FALLBACK_LIMIT = 4000
MODAL_TITLE_LIMIT = 24
METADATA_LIMIT = 3000

_BROADCAST = re.compile(r"(?<![\w.])@(here|channel|everyone)\b", re.IGNORECASE)


def escape(text: str) -> str:
    """Slack-safe text: control characters as entities, broadcast words defused.

    `@channel` only pings when Slack parses it (link_names); a zero-width joiner after the `@`
    makes sure it never does, whatever the message options."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return instants(_BROADCAST.sub(lambda m: "@\u2060" + m.group(1), out), _slack_date)


def _slack_date(unix: int, style: InstantStyle, plain: str) -> str:
    """A moment in the reader's own zone (Slack's date formatting), `plain` where it cannot."""
    shown = "{ago}" if style == "R" else "{date_short_pretty} {time}"
    return f"<!date^{unix}^{shown}|{plain}>"


def unescape(text: str) -> str:
    """Slack sends typed text with the three control characters as entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(text: str, limit: int) -> list[str]:
    """Split long text on line breaks where possible, never mid-entity."""
    out: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
            amp = rest.rfind("&", cut - 6, cut)
            if amp > 0 and ";" not in rest[amp:cut]:
                cut = amp
        out.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        out.append(rest)
    return out


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _clip(escape(text), limit), "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def fallback_text(reply: Reply) -> str:
    """The notification text: readable alone, escaped, within Slack's length."""
    head = f"{reply.title}: " if reply.title and not reply.text.startswith(reply.title) else ""
    return _clip(escape(head + reply.text), FALLBACK_LIMIT)


def _field_text(f: Field) -> str:
    return _clip(f"*{escape(f.name)}*\n{escape(f.value)}", FIELD_LIMIT)


def button(b: Button, action_id: str) -> dict[str, Any]:
    el: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(b.label or b.action, BUTTON_TEXT_LIMIT),
        "value": b.custom_id,
    }
    # Slack has two styles; "success" reads as the primary choice, "secondary" as the default.
    if b.style in ("primary", "success"):
        el["style"] = "primary"
    elif b.style == "danger":
        el["style"] = "danger"
    return el


def _actions(buttons: tuple[Button, ...]) -> list[Block]:
    blocks: list[Block] = []
    seen: set[str] = set()
    elements: list[dict[str, Any]] = []
    for i, b in enumerate(buttons):
        # action_id must be unique within a message; the state travels in `value`.
        action_id = b.custom_id if b.custom_id not in seen else f"{b.custom_id}#{i}"
        seen.add(action_id)
        elements.append(button(b, action_id))
    for start in range(0, len(elements), BUTTONS_PER_ACTIONS):
        blocks.append(
            {"type": "actions", "elements": elements[start : start + BUTTONS_PER_ACTIONS]}
        )
    return blocks


def blocks(reply: Reply) -> list[Block]:
    """Header, text sections, fields, footer and buttons. Colour has no Block Kit equivalent,
    and images travel as uploaded files (Block Kit images need a public URL)."""
    out: list[Block] = []
    if reply.title:
        out.append({"type": "header", "text": plain(reply.title, HEADER_LIMIT)})
    for part in _chunks(escape(reply.card_text), SECTION_LIMIT):
        out.append({"type": "section", "text": mrkdwn(part)})
    inline = [f for f in reply.fields if f.inline]
    for start in range(0, len(inline), FIELDS_PER_SECTION):
        chunk = inline[start : start + FIELDS_PER_SECTION]
        out.append({"type": "section", "fields": [mrkdwn(_field_text(f)) for f in chunk]})
    for f in reply.fields:
        if not f.inline:
            out.append({"type": "section", "text": mrkdwn(_field_text(f))})
    if reply.footer:
        out.append({"type": "context", "elements": [mrkdwn(_clip(escape(reply.footer), 2000))]})
    actions = _actions(reply.buttons)
    room = BLOCKS_PER_MESSAGE - len(actions)
    if len(out) > room:
        out = [*out[: room - 1], {"type": "context", "elements": [mrkdwn("(shortened)")]}]
    return out + actions


def message(reply: Reply) -> dict[str, Any]:
    """The `text` + `blocks` pair every message API takes."""
    return {"text": fallback_text(reply), "blocks": blocks(reply)}


_SPENT = {"actions"}  # blocks a spent message loses: its buttons (an input block too)
_SPENT_ACCESSORIES = {"button", "overflow", "static_select", "datepicker", "timepicker"}


def replaced(reply: Reply, original: list[Block] | None) -> dict[str, Any]:
    """A message whose button was pressed, as it should read afterwards: what it said (when
    Slack sent it with the press; an ephemeral's never is), without its buttons, then what
    the press did. The outcome always fits: the old content is what gets shortened."""
    after = blocks(reply)
    kept: list[Block] = []
    for b in original or []:
        if b.get("type") in _SPENT or b.get("type") == "input":
            continue
        accessory = b.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") in _SPENT_ACCESSORIES:
            b = {k: v for k, v in b.items() if k != "accessory"}
        kept.append(b)
    if kept:
        room = BLOCKS_PER_MESSAGE - len(after) - 1
        if len(kept) > room:
            kept = [*kept[: max(room - 1, 0)], {"type": "context", "elements": [mrkdwn("…")]}]
        after = [*kept, {"type": "divider"}, *after]
    return {"text": fallback_text(reply), "blocks": after}


# -- modals ---------------------------------------------------------------------------------

FORM_CALLBACK = "cohortbot.form"
FIELD_ACTION = "value"


def form_metadata(form: Form, channel_id: str, kind: str) -> str:
    meta = json.dumps({"a": form.action, "v": form.value, "c": channel_id, "k": kind})
    if len(meta) > METADATA_LIMIT:
        raise ValueError("form state too long for a Slack modal")
    return meta


def field_element(f: FormField, zone: str = "") -> dict[str, Any]:
    """A form field as the input element Slack has for it: a date or a time as a picker
    (a time shown in the member's zone, which Slack names under it), text as a text input."""
    element: dict[str, Any]
    if f.kind == "date":
        element = {"type": "datepicker", "action_id": FIELD_ACTION}
        if _ISO_DATE.fullmatch(f.initial):
            element["initial_date"] = f.initial
    elif f.kind == "time":
        element = {"type": "timepicker", "action_id": FIELD_ACTION}
        if _HH_MM.fullmatch(f.initial):
            element["initial_time"] = f.initial
        if zone:
            element["timezone"] = zone
    else:
        element = {
            "type": "plain_text_input",
            "action_id": FIELD_ACTION,
            "multiline": f.multiline,
            "max_length": min(f.max_length, 3000),
        }
        if f.initial:
            element["initial_value"] = f.initial[: element["max_length"]]
    if f.placeholder:
        element["placeholder"] = plain(f.placeholder, 150)
    return element


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HH_MM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


def modal(form: Form, metadata: str) -> dict[str, Any]:
    """A form as a modal; the channel travels in private_metadata for the answer."""
    inputs: list[Block] = []
    for f in form.fields:
        element = field_element(f, form.zone)
        inputs.append(
            {
                "type": "input",
                "block_id": f.name,
                "label": plain(f.label, 2000),
                "optional": not f.required,
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "private_metadata": metadata,
        "title": plain(form.title, MODAL_TITLE_LIMIT),
        "submit": plain("Submit", 24),
        "close": plain("Cancel", 24),
        "blocks": inputs,
    }


ERROR_LIMIT = 300  # a message beside a field: a sentence or two, the typed text stays above


def field_for(message: str, view_blocks: list[Block], named: str = "") -> str:
    """The input a refusal is about: the field the core named (UserError.field) when the modal
    has it; else the first whose name or label the message names, else the first input (the
    modal must name one for its errors)."""
    inputs = [b for b in view_blocks if b.get("type") == "input" and b.get("block_id")]
    if named and any(b["block_id"] == named for b in inputs):
        return named
    lowered = message.lower()
    for b in inputs:
        label = str((b.get("label") or {}).get("text") or "").lower()
        names = {str(b["block_id"]).lower(), label, label.split(" (")[0]}
        if any(n and re.search(rf"\b{re.escape(n)}\b", lowered) for n in names):
            return str(b["block_id"])
    return str(inputs[0]["block_id"]) if inputs else ""


def error_text(message: str) -> str:
    return _clip(message, ERROR_LIMIT)


def form_values(state: dict[str, Any]) -> dict[str, str]:
    """Field name -> value, from a view_submission's state.values, in the core's forms (see
    bot/types.py FieldKind): typed text; a picked date 2026-12-05 and time 14:30 as Slack
    sends them."""
    out: dict[str, str] = {}
    for block_id, actions in (state.get("values") or {}).items():
        entry = actions.get(FIELD_ACTION) or {}
        kind = entry.get("type")
        if kind == "datepicker":
            out[block_id] = str(entry.get("selected_date") or "")
        elif kind == "timepicker":
            out[block_id] = str(entry.get("selected_time") or "")
        else:
            out[block_id] = str(entry.get("value") or "")
    return out


HOME_BLOCKS_LIMIT = 100


def home(reply: Reply) -> dict[str, Any]:
    """The App Home tab from the core's home Reply. A view has no notification, so the text
    (the fallback of a message) is shown only when there are no fields to show instead."""
    out: list[Block] = []
    if reply.title:
        out.append({"type": "header", "text": plain(reply.title, HEADER_LIMIT)})
    if reply.buttons:
        out.extend(_actions(reply.buttons))
    if reply.fields:
        # In the order given: runs of inline fields side by side, the others full width.
        run: list[Field] = []
        for f in (*reply.fields, None):
            if f is not None and f.inline and len(run) < FIELDS_PER_SECTION:
                run.append(f)
                continue
            if run:
                out.append({"type": "section", "fields": [mrkdwn(_field_text(x)) for x in run]})
                run = []
            if f is not None and f.inline:
                run.append(f)
            elif f is not None:
                out.append({"type": "divider"})
                out.append({"type": "section", "text": mrkdwn(_field_text(f))})
                out.append({"type": "divider"})
    else:
        for part in _chunks(escape(reply.text), SECTION_LIMIT):
            out.append({"type": "section", "text": mrkdwn(part)})
    if reply.footer:
        out.append({"type": "context", "elements": [mrkdwn(_clip(escape(reply.footer), 2000))]})
    return {"type": "home", "blocks": out[:HOME_BLOCKS_LIMIT]}
