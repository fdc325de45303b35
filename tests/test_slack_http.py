"""The Slack app: signed requests into the real Bolt app, its Web API calls going to a local
fake that records whole payloads. Most tests drive the app in-process through
`SlackBot.dispatch` (fixture `slack`), as Bolt's own tests do; those about the served endpoint
itself (the empty ack, health, acks while the Web API is stuck) go over real HTTP (`rig`).
On SQLite only: what is checked here is Slack's side; the flows' rows are checked on both
databases through the memory workspace."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.dates import fmt_when
from bot.router import registered_paths
from tests.conftest import snapshot
from tests.helpers import slack_text as texts
from tests.helpers import wait_until
from tests.slack_fake import SlackRig

pytestmark = pytest.mark.sqlite_only


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


def test_time_zone_comes_from_users_info_once(slack: SlackRig) -> None:
    slack.command("/settings show", user="U2")
    [msg] = slack.fake.wait_messages(1)
    fields = [f["text"] for b in msg.body["blocks"] for f in b.get("fields", [])]
    assert any("Asia/Tokyo" in f for f in fields)
    slack.command("/settings show", user="U2")
    slack.fake.wait_messages(2)
    assert len(slack.fake.all("users.info")) == 1  # cached after first contact


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
def test_unsigned_or_stale_requests_get_401_and_write_nothing(slack: SlackRig, kind: str) -> None:
    slack.command("/settings tz Asia/Kolkata")  # a member with a real row exists
    slack.fake.wait_messages(1)
    before_calls = len(slack.fake.calls)
    before = snapshot(slack.runtime.core.engine)
    kw: dict[str, Any] = {}
    if kind == "wrong signature":
        kw["signature"] = "v0=" + "0" * 64
    elif kind == "no signature":
        kw["secret"] = None
    elif kind == "old timestamp":
        kw["timestamp"] = int(time.time()) - 6 * 60
    else:
        kw["secret"] = "not-the-secret"
    ans = slack.command("/settings tz Europe/Paris", **kw)
    assert ans.status == 401
    # The rejected request never reached a listener: no Web API call, no row changed.
    slack.command("/settings show")
    slack.fake.wait_messages(2)
    assert snapshot(slack.runtime.core.engine) == before or _only_activity(slack, before)
    assert [c.method for c in slack.fake.calls[before_calls:]] == ["respond"]
    shown = slack.fake.messages()[-1]
    assert "Asia/Kolkata" in texts(shown)


def _only_activity(rig: SlackRig, before: dict[str, list[tuple[object, ...]]]) -> bool:
    """`/settings show` touches last_active_at, its own request key and rate; every other
    row must be as it was."""
    after = snapshot(rig.runtime.core.engine)
    moved = {"members", "seen_requests", "member_rates"}
    return {k: v for k, v in after.items() if k not in moved} == {
        k: v for k, v in before.items() if k not in moved
    }


class HeldWebApi(dict[str, float]):
    """Extra delays for the fake (`FakeSlack.delays`) under which every Web API call, as it
    arrives, waits until `release()`: a Web API as slow as the test wants, without a fixed
    sleep. `arrived` counts the calls held so far."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = 0
        self._released = threading.Event()
        self._lock = threading.Lock()

    def get(self, method: str, default: float = 0.0) -> float:  # type: ignore[override]
        with self._lock:
            self.arrived += 1
        assert self._released.wait(timeout=30), "the test never released the Web API"
        return super().get(method, default)

    def release(self) -> None:
        self._released.set()


def test_slow_web_api_still_acks_fast_and_answers_after(rig: SlackRig) -> None:
    held = HeldWebApi()
    rig.fake.delays = held
    before = len(rig.fake.calls)  # auth.test, when the app started
    try:
        acks = [
            rig.command("/settings tz Europe/Rome", user="U5"),
            rig.command("/cohortbot", user="U6"),
            rig.command("/settings show", user="U7", channel="D7"),
        ]
        for ack in acks:
            assert ack.status == 200
            assert ack.seconds < 1.5, f"acked in {ack.seconds:.2f}s"
        # The listeners have reached the Web API (users.info, conversations.open) and wait
        # on it, while every request was already acknowledged.
        wait_until(lambda: held.arrived >= 3, "the listeners to call the held Web API")
        assert len(rig.fake.calls) == before
    finally:
        held.release()
    msgs = rig.fake.wait_messages(3)
    assert {m.path for m in msgs if m.method == "respond"} == {"/respond/U5-C1", "/respond/U6-C1"}
    [dm] = [m for m in msgs if m.method == "chat.postMessage"]
    assert dm.body["channel"] == "DU7"  # opened with conversations.open, not the channel


@pytest.mark.slow
def test_rate_limited_post_is_sent_exactly_once_after_retry_after(slack: SlackRig) -> None:
    slack.fake.rate_limit = {"chat.postMessage": 1, "respond": 1}
    slack.command("/settings show", user="U8", channel="D8")  # DM: chat.postMessage
    slack.command("/settings show", user="U9")  # channel: response_url
    slack.fake.wait_messages(2, timeout=20)
    posts = slack.fake.all("chat.postMessage")
    assert [p.status for p in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 1.0  # waited for Retry-After
    responds = slack.fake.all("respond")
    assert [r.status for r in responds] == [429, 200]
    assert len(slack.fake.messages()) == 2


def test_retried_request_runs_once(slack: SlackRig) -> None:
    first = slack.command("/settings tz Europe/Madrid", trigger_id="same")
    again = slack.command(
        "/settings tz Europe/Madrid",
        trigger_id="same",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert first.status == again.status == 200
    assert again.headers.get("x-slack-no-retry") == "1"
    slack.command("/settings show", user="U3")  # a later request, to know the queue drained
    slack.fake.wait_for(lambda: any(m.path == "/respond/U3-C1" for m in slack.fake.messages()))
    slack.fake.wait_messages(2)
    assert [m.path for m in slack.fake.messages()].count("/respond/U1-C1") == 1


@pytest.mark.parametrize(
    "line",
    ["/settings tz <!channel>", "/settings tracks @everyone", "/settings days <@U999>&x"],
)
def test_values_never_ping_anyone(slack: SlackRig, line: str) -> None:
    slack.command(line)
    [msg] = slack.fake.wait_messages(1)
    raw = msg.text()
    for bad in ("<!channel>", "@everyone", "<@U999>"):
        assert bad not in raw
        assert bad not in json.loads(raw).get("text", "")
    assert "&lt;" in raw or "@\\u2060everyone" in raw


def test_button_press_is_routed_and_checked(slack: SlackRig) -> None:
    slack.command("/settings forget-me")
    [ask] = slack.fake.wait_messages(1)
    buttons = [e for b in ask.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    forget = next(b for b in buttons if b["style"] == "danger")
    slack.click(forget["value"], user="U4")  # someone else's button
    slack.fake.wait_messages(2)
    refused = slack.fake.messages()[-1]
    assert refused.path == "/respond/click-U4"
    assert refused.body["response_type"] == "ephemeral"
    assert "someone else" in refused.body["text"]
    slack.click(forget["value"], user="U1")
    slack.fake.wait_messages(3)
    done = slack.fake.messages()[-1]
    assert done.path == "/respond/click-U1"
    assert "deleted" in done.body["text"]


def test_export_file_goes_to_the_members_dm(slack: SlackRig) -> None:
    slack.command("/settings export")
    slack.fake.wait_for(
        lambda: bool(slack.fake.delivered("files.completeUploadExternal")), what="upload"
    )
    [url] = slack.fake.delivered("files.getUploadURLExternal")
    assert url.body["filename"].startswith("cohortbot-export-")
    [upload] = slack.fake.delivered("upload")
    assert json.loads(upload.raw)["tables"]
    [done] = slack.fake.delivered("files.completeUploadExternal")
    assert done.body["channel_id"] == "DU1"  # never the channel
    [note] = slack.fake.wait_messages(1)
    assert note.body["response_type"] == "ephemeral"
    assert "direct messages" in texts(note)


def test_form_opens_a_modal_and_submission_reaches_the_core(slack: SlackRig) -> None:
    if "pipeline add" not in registered_paths():
        pytest.skip("the pipeline feature is not in this build")
    slack.command("/pipeline add", trigger_id="trig-form")
    slack.fake.wait_for(lambda: bool(slack.fake.delivered("views.open")), what="views.open")
    [opened] = slack.fake.delivered("views.open")
    assert opened.body["trigger_id"] == "trig-form"
    view = opened.body["view"]
    assert view["type"] == "modal"
    assert json.loads(view["private_metadata"])["c"] == "C1"
    names = [b["block_id"] for b in view["blocks"]]
    assert "company" in names
    assert not slack.fake.messages()  # the modal is the answer
    ans = slack.submit_view(view, {"company": "Acme & Sons <!here>", "role": "", "stage": ""})
    assert ans.status == 200
    [msg] = slack.fake.wait_messages(1)
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
    view: dict[str, Any] = home.body["view"]
    return view


def test_app_home_shows_the_members_board_dates_and_practice(slack: SlackRig) -> None:
    slack.command("/settings tz Europe/Oslo")
    slack.fake.wait_messages(1)
    slack.command('/pipeline add "Acme & Co" stage onsite')
    slack.fake.wait_messages(2)
    day = (slack.runtime.core.clock.now() + timedelta(days=10)).date()
    slack.command(f"/pipeline interview Acme {day.isoformat()} 15:00 kind final")
    slack.fake.wait_messages(3)
    at = datetime.combine(day, datetime.min.time().replace(hour=15), ZoneInfo("Europe/Oslo"))
    view = _open_home(slack)
    assert view["type"] == "home"
    blob = json.dumps(view)
    assert "*onsite (1)*\\nAcme &amp; Co" in blob
    assert f"{fmt_when(at, ZoneInfo('Europe/Oslo'))}: final with Acme &amp; Co" in blob
    assert "Europe/Oslo" in blob and "/settings tz" in blob
    [actions] = [b for b in view["blocks"] if b["type"] == "actions"]
    assert [e["value"] for e in actions["elements"]] == ["drill.next|", "home.add|"]
    # Someone else's home shows their own (empty) board, never U1's.
    other = json.dumps(_open_home(slack, "U2", "Ev2"))
    assert "Acme" not in other
    assert "pipeline" in other.lower()
    # The home is a view, never a message in a channel.
    assert not slack.fake.all("chat.postMessage")


def test_app_home_buttons_start_a_drill_and_open_the_add_form(slack: SlackRig) -> None:
    _open_home(slack)
    slack.home_click("drill.next|")
    [drill] = slack.fake.wait_messages(1)
    assert drill.method == "chat.postMessage"
    assert drill.body["channel"] == "DU1"  # no channel on the Home tab: the member's DM
    slack.home_click("home.add|")
    slack.fake.wait_for(lambda: bool(slack.fake.delivered("views.open")), what="the add form")
    [opened] = slack.fake.delivered("views.open")
    view = opened.body["view"]
    assert view["blocks"][0]["block_id"] == "company"
    slack.submit_view(view, {"company": "Globex", "role": "", "stage": "screen", "link": ""})
    slack.fake.wait_messages(2)
    assert "Globex" in texts(slack.fake.messages()[-1])
    assert "*screen (1)*\\nGlobex" in json.dumps(_open_home(slack, event_id="Ev9"))


def test_pipeline_with_an_offer_stays_private(slack: SlackRig) -> None:
    needed = {"pipeline add", "pipeline offer", "pipeline list"}
    if not needed <= registered_paths():
        pytest.skip("the pipeline feature is not in this build")
    # One at a time: each waits for its answer, as a member typing would.
    slack.command('/pipeline add Acme "ML Engineer"')
    slack.fake.wait_messages(1)
    slack.command("/pipeline add Globex")
    slack.fake.wait_messages(2)
    slack.command("/pipeline offer Acme deadline 2026-12-04 base 120000")
    slack.fake.wait_messages(3)
    slack.command("/pipeline list")
    msgs = slack.fake.wait_messages(4)
    assert all(m.method == "respond" and m.body["response_type"] == "ephemeral" for m in msgs)
    assert "Acme" in texts(msgs[-1])
    assert "Globex" in texts(msgs[-1])
    # Nothing about a member's pipeline went to a channel.
    assert not slack.fake.all("chat.postMessage")
    assert not slack.fake.all("chat.postEphemeral")


def test_drill_loop_through_buttons_and_a_modal(slack: SlackRig) -> None:
    if not {"drill next"} <= registered_paths():
        pytest.skip("the drill feature is not in this build")
    slack.command("/drill next behavioral")
    [drill] = slack.fake.wait_messages(1)
    assert drill.body["response_type"] == "ephemeral"
    buttons = [e for b in drill.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    answer = next(b for b in buttons if b["value"].startswith("drill.answer|"))
    slack.click(answer["value"])
    slack.fake.wait_for(lambda: bool(slack.fake.delivered("views.open")), what="the answer modal")
    [opened] = slack.fake.delivered("views.open")
    view = opened.body["view"]
    [field] = [b["block_id"] for b in view["blocks"]]
    story = (
        "Situation: our nightly batch took 9 hours. Task: I owned cutting it. Action: I "
        "profiled it, moved the joins into SQL and cached lookups. Result: 40 minutes, "
        "and the team got mornings back. Learning: measure before guessing."
    )
    assert slack.submit_view(view, {field: story}).status == 200
    slack.fake.wait_messages(2)
    feedback = slack.fake.messages()[-1]
    assert feedback.method == "chat.postEphemeral"
    assert (feedback.body["channel"], feedback.body["user"]) == ("C1", "U1")
    assert "no longer" not in feedback.body["text"]
    assert "went wrong" not in feedback.body["text"]
