"""Helpers the test modules share: members typing commands into the memory workspace, the
Slack app driven in-process (signed requests into Bolt's `dispatch`, as Bolt's own tests do),
reading what the fake Web API recorded, and waiting on a condition instead of sleeping."""

from __future__ import annotations

import email.message
import io
import itertools
import json
import threading
import time
import urllib.request
import urllib.response
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, event

from adapters.memory import Delivery, MemoryWorkspace
from adapters.slack import SlackBot
from adapters.slack.settings import SlackSettings, load_slack_settings
from bot.app import App
from bot.content import Content, builtin_content_dir, load_content
from bot.types import User
from tests.scheduling import only_jobs
from tests.slack_fake import SECRET, Call, FakeSlack, SlackRig

# -- the memory workspace ------------------------------------------------------------------


def text_of(out: list[Delivery]) -> str:
    """Everything a list of deliveries says, one message a line."""
    return "\n".join(d.text for d in out)


def say(ws: MemoryWorkspace, line: str, who: str = "bob") -> str:
    """Member `who` types `line`; the text of every answer (there is always one)."""
    out = ws.command(who, line)
    assert out, line
    return text_of(out)


def with_nudges(ws: MemoryWorkspace, zone: str, who: str = "bob") -> None:
    """Member `who` lives in `zone`, and only the nudge job runs when the clock moves."""
    ws.command(who, f"/settings tz {zone}")
    only_jobs(ws, "nudges")


def member(n: int | str, platform: str = "memory", workspace: str = "W1") -> User:
    """Member `n` of a workspace, named m<n> with the id U<n>, as bulk-queueing tests make them."""
    return User(platform, workspace, f"U{n}", f"m{n}")


def builtin_content() -> Content:
    return load_content([builtin_content_dir()])


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement `engine` runs inside the block, as sent: for set-based checks
    (a cost that must not grow with the members or the rows in play)."""
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# -- waiting ---------------------------------------------------------------------------------


def wait_until(
    cond: Callable[[], object], what: str = "the condition", timeout: float = 20.0
) -> None:
    """Poll `cond` every few milliseconds until it holds; fail after `timeout` seconds. The
    deadline only bounds a broken run: a passing one waits exactly as long as it must."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f}s for {what}")
        time.sleep(0.005)


# -- Slack -----------------------------------------------------------------------------------


def slack_text(call: Call) -> str:
    """The readable text of a recorded Slack message: fallback plus every block, as JSON."""
    return json.dumps({"text": call.body.get("text"), "blocks": call.body.get("blocks")})


def slack_run(rig: SlackRig, line: str, user: str = "U1", channel: str = "C1") -> Call:
    """One command, waiting for its answer, as a member typing would."""
    before = len(rig.fake.messages())
    assert rig.command(line, user=user, channel=channel).status == 200
    return rig.fake.wait_messages(before + 1)[before]


class _InProcess(urllib.request.BaseHandler):
    """urllib's handler for inproc://slack-<n>/...: the signed request goes into that Bolt app's
    `dispatch` in this process, and its BoltResponse comes back as an HTTP response would
    (non-2xx raise HTTPError as usual). Everything else about the request (the body, the
    signature and timestamp headers the rig computes) is what Slack sends over HTTP."""

    bots: dict[str, SlackBot] = {}  # noqa: RUF012 (one registry for the process)
    _lock = threading.Lock()

    def inproc_open(self, req: urllib.request.Request) -> urllib.response.addinfourl:
        bot = self.bots[req.host]
        data = req.data if isinstance(req.data, bytes) else b""
        path, _, query = req.selector.partition("?")
        assert path == "/slack/events", path
        resp = bot.dispatch(data.decode(), dict(req.header_items()), query)
        headers = email.message.Message()
        for name, values in resp.headers.items():
            for value in values if isinstance(values, list | tuple) else [values]:
                headers[name] = str(value)
        body = resp.body.encode() if isinstance(resp.body, str) else bytes(resp.body or b"")
        return urllib.response.addinfourl(io.BytesIO(body), headers, req.full_url, resp.status)


_counter = itertools.count(1)
_installed = False


def _install_in_process_transport() -> None:
    global _installed
    with _InProcess._lock:
        if not _installed:
            # The default handlers stay (http, https, proxies): only inproc:// is added.
            urllib.request.install_opener(urllib.request.build_opener(_InProcess()))
            _installed = True


@dataclass
class InProcessRuntime:
    """What a SlackRig needs of a runtime, without the HTTP server: the core and a URL."""

    core: App
    host: str

    @property
    def url(self) -> str:
        return f"inproc://{self.host}"


def slack_settings(fake: FakeSlack, **settings: object) -> SlackSettings:
    """Slack's settings block for a rig: the tests' signing secret, the Web API at `fake`,
    and `settings` (SlackSettings' field names: bot_token, client_id ...) on top."""
    given: dict[str, object] = {"signing_secret": SecretStr(SECRET), "api_base_url": fake.api_url}
    return load_slack_settings(**(given | settings))


@contextmanager
def slack_in_process(app: App, fake: FakeSlack, **settings: object) -> Iterator[SlackRig]:
    """The real Bolt app, driven through `SlackBot.dispatch` in this process, calling `fake` as
    Slack's Web API; the same rig as tests/slack_fixtures.served_slack minus the HTTP server."""
    bot = SlackBot(app, slack_settings(fake, **settings), channel_interval=0)
    host = f"slack-{next(_counter)}"
    _install_in_process_transport()
    _InProcess.bots[host] = bot
    try:
        yield SlackRig(fake, InProcessRuntime(app, host), bot)
    finally:
        del _InProcess.bots[host]
        bot.close()


def slack_users() -> dict[str, dict[str, Any]]:
    """The members the fake Web API knows: an admin and one member in Tokyo."""
    return {"UADMIN": {"is_admin": True}, "U2": {"tz": "Asia/Tokyo"}}
