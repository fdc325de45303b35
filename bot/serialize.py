"""Outbound messages as JSON, so the outbox can hold them across restarts and replicas."""

from __future__ import annotations

import base64
from typing import Any

from bot.types import (
    DM,
    Attachment,
    Button,
    Channel,
    Conversation,
    Ephemeral,
    Field,
    InPlace,
    Outbound,
    Reply,
    Room,
    Target,
    User,
)


def _user(u: User) -> dict[str, Any]:
    return {
        "platform": u.platform,
        "workspace_id": u.workspace_id,
        "user_id": u.user_id,
        "display_name": u.display_name,
    }


def _conv(c: Conversation) -> dict[str, Any]:
    return {"kind": c.kind, "id": c.id, "name": c.name}


def _file(a: Attachment) -> dict[str, Any]:
    return {"filename": a.filename, "mime": a.mime, "data": base64.b64encode(a.data).decode()}


def target_to_dict(t: Target) -> dict[str, Any]:
    match t:
        case DM(user=u):
            return {"type": "dm", "user": _user(u)}
        case Channel(conversation=c, platform=p, workspace_id=w, thread=thread):
            out = {"type": "channel", "conversation": _conv(c), "platform": p, "workspace": w}
            return {**out, "thread": thread} if thread else out
        case Ephemeral(user=u, conversation=c):
            return {"type": "ephemeral", "user": _user(u), "conversation": _conv(c)}
        case InPlace(user=u, conversation=c, whole=whole):
            return {"type": "inplace", "user": _user(u), "conversation": _conv(c), "whole": whole}
        case Room(key=key, users=users, channel=channel, name=name):
            return {
                "type": "room",
                "key": key,
                "users": [_user(u) for u in users],
                "channel": target_to_dict(channel) if channel is not None else None,
                "name": name,
            }
    raise TypeError(f"cannot serialise target {t!r}")


def target_from_dict(d: dict[str, Any], platform: str = "") -> Target:
    """`platform` is where rows queued before channel targets carried their own came from."""
    kind = d["type"]
    if kind == "dm":
        return DM(User(**d["user"]))
    if kind == "channel":
        return Channel(
            Conversation(**d["conversation"]),
            d.get("platform") or platform,
            d.get("workspace", ""),
            d.get("thread", ""),
        )
    if kind == "ephemeral":
        return Ephemeral(User(**d["user"]), Conversation(**d["conversation"]))
    if kind == "inplace":
        whole = bool(d.get("whole", False))
        return InPlace(User(**d["user"]), Conversation(**d["conversation"]), whole)
    if kind == "room":
        channel = target_from_dict(d["channel"], platform) if d.get("channel") else None
        return Room(
            d["key"],
            tuple(User(**u) for u in d["users"]),
            channel if isinstance(channel, Channel) else None,
            d.get("name", ""),
        )
    raise ValueError(f"unknown target type {kind!r}")


def reply_to_dict(r: Reply) -> dict[str, Any]:
    return {
        "text": r.text,
        "title": r.title,
        "fields": [[f.name, f.value, f.inline] for f in r.fields],
        "buttons": [[b.action, b.value, b.label, b.style] for b in r.buttons],
        "color": r.color,
        "footer": r.footer,
        "image": _file(r.image) if r.image else None,
        "files": [_file(f) for f in r.files],
        "lead": r.lead,
    }


def _file_from(d: dict[str, Any]) -> Attachment:
    return Attachment(d["filename"], base64.b64decode(d["data"]), d["mime"])


def outbound_from_dict(d: dict[str, Any]) -> Outbound:
    r = d["reply"]
    reply = Reply(
        text=r["text"],
        title=r.get("title"),
        fields=tuple(Field(n, v, i) for n, v, i in r.get("fields", [])),
        buttons=tuple(Button(a, v, lbl, s) for a, v, lbl, s in r.get("buttons", [])),
        color=r.get("color"),
        footer=r.get("footer"),
        lead=r.get("lead"),
        image=_file_from(r["image"]) if r.get("image") else None,
        files=tuple(_file_from(f) for f in r.get("files", [])),
    )
    # Rows written before Outbound's fields were typed kept them in a string dict, "meta".
    legacy = d.get("meta") or {}
    return Outbound(
        target_from_dict(d["target"], str(legacy.get("platform", ""))),
        reply,
        refusal=bool(d.get("refusal", legacy.get("refusal") == "true")),
        key=str(d.get("key") or legacy.get("outbox_key") or ""),
        uncertain=bool(d.get("uncertain", bool(legacy.get("uncertain")))),
    )


def outbound_to_dict(o: Outbound) -> dict[str, Any]:
    return {
        "target": target_to_dict(o.target),
        "reply": reply_to_dict(o.reply),
        "refusal": o.refusal,
        "key": o.key,
        "uncertain": o.uncertain,
    }
