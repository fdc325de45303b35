"""The Slack app over real HTTP: signed requests into the served Bolt app, its Web API calls
going to a local fake that records whole payloads. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.dates import fmt_when
from bot.router import registered_paths
from tests.conftest import snapshot
from tests.slack_fake import SlackRig


def texts(call: Any) -> str:
    """The readable text of a recorded message: fallback plus every block, as JSON."""
    return json.dumps({"text": call.body.get("text"), "blocks": call.body.get("blocks")})


def test_command_is_acked_empty_then_answered_ephemerally(rig: SlackRig) -> None:
    ans = rig.command("/settings tz Europe/Berlin")
    assert ans.status == 200
    assert ans.body == ""
    [msg] = rig.fake.wait_messages(1)
    assert msg.method == "respond"
    assert msg.path == "/respond/U1-C1"
    assert msg.body["response_type"] == "ephemeral"
    assert msg.body["replace_original"] is False
    assert "Europe/Berlin" in msg.body["text"]
    assert msg.body["blocks"][0]["type"] == "header"
    assert not rig.fake.all("chat.postMessage")


def test_time_zone_comes_from_users_info_once(rig: SlackRig) -> None:
    rig.command("/settings show", user="U2")
    [msg] = rig.fake.wait_messages(1)
    fields = [f["text"] for b in msg.body["blocks"] for f in b.get("fields", [])]
    assert any("Asia/Tokyo" in f for f in fields)
    rig.command("/settings show", user="U2")
    rig.fake.wait_messages(2)
    assert len(rig.fake.all("users.info")) == 1  # cached after first contact


def test_healthz(rig: SlackRig) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{rig.runtime.url}/healthz", timeout=5) as resp:
        body = json.loads(resp.read())
    assert resp.status == 200
    assert body["ok"] is True
    assert body["database"] == "ok"
    assert body["slack"] == "http"


@pytest.mark.parametrize(
    "kind", ["wrong signature", "no signature", "old timestamp", "other secret"]
)
def test_unsigned_or_stale_requests_get_401_and_write_nothing(rig: SlackRig, kind: str) -> None:
    rig.command("/settings tz Asia/Kolkata")  # a member with a real row exists
    rig.fake.wait_messages(1)
    before_calls = len(rig.fake.calls)
    before = snapshot(rig.runtime.core.engine)
    kw: dict[str, Any] = {}
    if kind == "wrong signature":
        kw["signature"] = "v0=" + "0" * 64
    elif kind == "no signature":
        kw["secret"] = None
    elif kind == "old timestamp":
        kw["timestamp"] = int(time.time()) - 6 * 60
    else:
        kw["secret"] = "not-the-secret"
    ans = rig.command("/settings tz Europe/Paris", **kw)
    assert ans.status == 401
    # The rejected request never reached a listener: no Web API call, no row changed.
    rig.command("/settings show")
    rig.fake.wait_messages(2)
    assert snapshot(rig.runtime.core.engine) == before or _only_activity(rig, before)
    assert [c.method for c in rig.fake.calls[before_calls:]] == ["respond"]
    shown = rig.fake.messages()[-1]
    assert "Asia/Kolkata" in texts(shown)


def _only_activity(rig: SlackRig, before: dict[str, list[tuple[object, ...]]]) -> bool:
    """`/settings show` touches last_active_at, its own request key and rate; every other
    row must be as it was."""
    after = snapshot(rig.runtime.core.engine)
    moved = {"members", "seen_requests", "member_rates"}
    return {k: v for k, v in after.items() if k not in moved} == {
        k: v for k, v in before.items() if k not in moved
    }


def test_slow_web_api_still_acks_fast_and_answers_after(rig: SlackRig) -> None:
    rig.fake.delay = 5.0
    acks = [
        rig.command("/settings tz Europe/Rome", user="U5"),
        rig.command("/cohortbot", user="U6"),
        rig.command("/settings show", user="U7", channel="D7"),
    ]
    for ack in acks:
        assert ack.status == 200
        assert ack.seconds < 1.5, f"acked in {ack.seconds:.2f}s"
    msgs = rig.fake.wait_messages(3, timeout=40)
    assert {m.path for m in msgs if m.method == "respond"} == {"/respond/U5-C1", "/respond/U6-C1"}
    [dm] = [m for m in msgs if m.method == "chat.postMessage"]
    assert dm.body["channel"] == "DU7"  # opened with conversations.open, not the channel


def test_rate_limited_post_is_sent_exactly_once_after_retry_after(rig: SlackRig) -> None:
    rig.fake.rate_limit = {"chat.postMessage": 1, "respond": 1}
    rig.command("/settings show", user="U8", channel="D8")  # DM: chat.postMessage
    rig.command("/settings show", user="U9")  # channel: response_url
    rig.fake.wait_messages(2, timeout=20)
    posts = rig.fake.all("chat.postMessage")
    assert [p.status for p in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 1.0  # waited for Retry-After
    responds = rig.fake.all("respond")
    assert [r.status for r in responds] == [429, 200]
    assert len(rig.fake.messages()) == 2


def test_retried_request_runs_once(rig: SlackRig) -> None:
    first = rig.command("/settings tz Europe/Madrid", trigger_id="same")
    again = rig.command(
        "/settings tz Europe/Madrid",
        trigger_id="same",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert first.status == again.status == 200
    assert again.headers.get("x-slack-no-retry") == "1"
    rig.command("/settings show", user="U3")  # a later request, to know the queue drained
    rig.fake.wait_for(lambda: any(m.path == "/respond/U3-C1" for m in rig.fake.messages()))
    rig.fake.wait_messages(2)
    assert [m.path for m in rig.fake.messages()].count("/respond/U1-C1") == 1


@pytest.mark.parametrize(
    "line",
    ["/settings tz <!channel>", "/settings tracks @everyone", "/settings days <@U999>&x"],
)
def test_values_never_ping_anyone(rig: SlackRig, line: str) -> None:
    rig.command(line)
    [msg] = rig.fake.wait_messages(1)
    raw = msg.text()
    for bad in ("<!channel>", "@everyone", "<@U999>"):
        assert bad not in raw
        assert bad not in json.loads(raw).get("text", "")
    assert "&lt;" in raw or "@\\u2060everyone" in raw


def test_button_press_is_routed_and_checked(rig: SlackRig) -> None:
    rig.command("/settings forget-me")
    [ask] = rig.fake.wait_messages(1)
    buttons = [e for b in ask.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    forget = next(b for b in buttons if b["style"] == "danger")
    rig.click(forget["value"], user="U4")  # someone else's button
    rig.fake.wait_messages(2)
    refused = rig.fake.messages()[-1]
    assert refused.path == "/respond/click-U4"
    assert refused.body["response_type"] == "ephemeral"
    assert "someone else" in refused.body["text"]
    rig.click(forget["value"], user="U1")
    rig.fake.wait_messages(3)
    done = rig.fake.messages()[-1]
    assert done.path == "/respond/click-U1"
    assert "deleted" in done.body["text"]


def test_export_file_goes_to_the_members_dm(rig: SlackRig) -> None:
    rig.command("/settings export")
    rig.fake.wait_for(lambda: rig.fake.delivered("files.completeUploadExternal"), what="upload")
    [url] = rig.fake.delivered("files.getUploadURLExternal")
    assert url.body["filename"].startswith("cohortbot-export-")
    [upload] = rig.fake.delivered("upload")
    assert json.loads(upload.raw)["tables"]
    [done] = rig.fake.delivered("files.completeUploadExternal")
    assert done.body["channel_id"] == "DU1"  # never the channel
    [note] = rig.fake.wait_messages(1)
    assert note.body["response_type"] == "ephemeral"
    assert "direct messages" in texts(note)


def test_form_opens_a_modal_and_submission_reaches_the_core(rig: SlackRig) -> None:
    if "pipeline add" not in registered_paths():
        pytest.skip("the pipeline feature is not in this build")
    rig.command("/pipeline add", trigger_id="trig-form")
    rig.fake.wait_for(lambda: rig.fake.delivered("views.open"), what="views.open")
    [opened] = rig.fake.delivered("views.open")
    assert opened.body["trigger_id"] == "trig-form"
    view = opened.body["view"]
    assert view["type"] == "modal"
    assert json.loads(view["private_metadata"])["c"] == "C1"
    names = [b["block_id"] for b in view["blocks"]]
    assert "company" in names
    assert not rig.fake.messages()  # the modal is the answer
    ans = rig.submit_view(view, {"company": "Acme & Sons <!here>", "role": "", "stage": ""})
    assert ans.status == 200
    [msg] = rig.fake.wait_messages(1)
    assert msg.method == "chat.postEphemeral"  # no response_url on modals
    assert msg.body["channel"] == "C1"
    assert msg.body["user"] == "U1"
    assert "Acme &amp; Sons" in texts(msg)
    assert "<!here>" not in msg.text()


def _open_home(rig: SlackRig, user: str = "U1", event_id: str = "Ev1") -> dict[str, Any]:
    before = len(rig.fake.delivered("views.publish"))
    ans = rig.event(
        {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"},
        event_id=event_id,
    )
    assert ans.status == 200
    rig.fake.wait_for(
        lambda: len(rig.fake.delivered("views.publish")) > before, what="views.publish"
    )
    home = rig.fake.delivered("views.publish")[-1]
    assert home.body["user_id"] == user
    return home.body["view"]


def test_app_home_shows_the_members_board_dates_and_practice(rig: SlackRig) -> None:
    rig.command("/settings tz Europe/Oslo")
    rig.fake.wait_messages(1)
    rig.command('/pipeline add "Acme & Co" stage onsite')
    rig.fake.wait_messages(2)
    day = (datetime.now(UTC) + timedelta(days=10)).date()  # the rig runs on the real clock
    rig.command(f"/pipeline interview Acme {day.isoformat()} 15:00 kind final")
    rig.fake.wait_messages(3)
    at = datetime.combine(day, datetime.min.time().replace(hour=15), ZoneInfo("Europe/Oslo"))
    view = _open_home(rig)
    assert view["type"] == "home"
    blob = json.dumps(view)
    assert "*onsite (1)*\\nAcme &amp; Co" in blob
    assert f"{fmt_when(at, ZoneInfo('Europe/Oslo'))}: final with Acme &amp; Co" in blob
    assert "Europe/Oslo" in blob and "/settings tz" in blob
    [actions] = [b for b in view["blocks"] if b["type"] == "actions"]
    assert [e["value"] for e in actions["elements"]] == ["drill.next|", "home.add|"]
    # Someone else's home shows their own (empty) board, never U1's.
    other = json.dumps(_open_home(rig, "U2", "Ev2"))
    assert "Acme" not in other
    assert "pipeline" in other.lower()
    # The home is a view, never a message in a channel.
    assert not rig.fake.all("chat.postMessage")


def test_app_home_buttons_start_a_drill_and_open_the_add_form(rig: SlackRig) -> None:
    _open_home(rig)
    rig.home_click("drill.next|")
    [drill] = rig.fake.wait_messages(1)
    assert drill.method == "chat.postMessage"
    assert drill.body["channel"] == "DU1"  # no channel on the Home tab: the member's DM
    rig.home_click("home.add|")
    rig.fake.wait_for(lambda: rig.fake.delivered("views.open"), what="the add form")
    [opened] = rig.fake.delivered("views.open")
    view = opened.body["view"]
    assert view["blocks"][0]["block_id"] == "company"
    rig.submit_view(view, {"company": "Globex", "role": "", "stage": "screen", "link": ""})
    rig.fake.wait_messages(2)
    assert "Globex" in texts(rig.fake.messages()[-1])
    assert "*screen (1)*\\nGlobex" in json.dumps(_open_home(rig, event_id="Ev9"))


def test_pipeline_with_an_offer_stays_private(rig: SlackRig) -> None:
    needed = {"pipeline add", "pipeline offer", "pipeline list"}
    if not needed <= registered_paths():
        pytest.skip("the pipeline feature is not in this build")
    # One at a time: each waits for its answer, as a member typing would.
    rig.command('/pipeline add Acme "ML Engineer"')
    rig.fake.wait_messages(1)
    rig.command("/pipeline add Globex")
    rig.fake.wait_messages(2)
    rig.command("/pipeline offer Acme deadline 2026-12-04 base 120000")
    rig.fake.wait_messages(3)
    rig.command("/pipeline list")
    msgs = rig.fake.wait_messages(4)
    assert all(m.method == "respond" and m.body["response_type"] == "ephemeral" for m in msgs)
    assert "Acme" in texts(msgs[-1])
    assert "Globex" in texts(msgs[-1])
    # Nothing about a member's pipeline went to a channel.
    assert not rig.fake.all("chat.postMessage")
    assert not rig.fake.all("chat.postEphemeral")


def test_drill_loop_through_buttons_and_a_modal(rig: SlackRig) -> None:
    if not {"drill next"} <= registered_paths():
        pytest.skip("the drill feature is not in this build")
    rig.command("/drill next behavioral")
    [drill] = rig.fake.wait_messages(1)
    assert drill.body["response_type"] == "ephemeral"
    buttons = [e for b in drill.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    answer = next(b for b in buttons if b["value"].startswith("drill.answer|"))
    rig.click(answer["value"])
    rig.fake.wait_for(lambda: rig.fake.delivered("views.open"), what="the answer modal")
    [opened] = rig.fake.delivered("views.open")
    view = opened.body["view"]
    [field] = [b["block_id"] for b in view["blocks"]]
    story = (
        "Situation: our nightly batch took 9 hours. Task: I owned cutting it. Action: I "
        "profiled it, moved the joins into SQL and cached lookups. Result: 40 minutes, "
        "and the team got mornings back. Learning: measure before guessing."
    )
    assert rig.submit_view(view, {field: story}).status == 200
    rig.fake.wait_messages(2)
    feedback = rig.fake.messages()[-1]
    assert feedback.method == "chat.postEphemeral"
    assert (feedback.body["channel"], feedback.body["user"]) == ("C1", "U1")
    assert "no longer" not in feedback.body["text"]
    assert "went wrong" not in feedback.body["text"]
