"""Figure 2: a signed `/drill` over HTTP into the served Slack app, against the same request
into a bare Bolt app that acks with fixed text, behind the same HTTP server code.

Both are served by `adapters.serve`'s HTTP front (uvicorn with serve's ASGI app), as `cohortbot
serve` does; the scheduler thread is left out so that a first catch-up tick (a whole fan-out
at 18:00 UTC) does not run underneath the measurement."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from pydantic import SecretStr
from slack_bolt import App as BoltApp
from slack_bolt import BoltResponse
from slack_bolt.request import BoltRequest

from adapters.serve import EVENTS_PATH, Runtime
from adapters.slack import SlackBot
from adapters.slack.settings import load_slack_settings
from bench.common import Database, Results, Row, median, ms, percentile
from tests.slack_fake import SECRET, FakeSlack, post

TEXT = "Here is your drill."


class BareSlack:
    """Just enough of SlackBot for the serve handler: a Bolt app that acks with fixed text."""

    def __init__(self, fake: FakeSlack) -> None:
        from slack_sdk import WebClient

        self.adapter = None
        self.bolt = BoltApp(
            client=WebClient(token="xoxb-bench", base_url=fake.api_url),  # noqa: S106
            signing_secret=SECRET,
            token_verification_enabled=False,
        )

        @self.bolt.command("/drill")
        def drill(ack: Any) -> None:
            ack(TEXT)

    def dispatch(self, body: str, headers: dict[str, Any], query: str = "") -> BoltResponse:
        return self.bolt.dispatch(BoltRequest(body=body, query=query, headers=headers))

    def oauth_page(self, *args: Any) -> None:
        return None

    def close(self) -> None:
        return


def _serve(runtime: Runtime) -> Runtime:
    # Only the HTTP front: Runtime.start() would also start the scheduler (see above).
    runtime._start_http(slack_http=True)
    return runtime


def _body(fake: FakeSlack, member: int, cohort_size: int, tag: str) -> str:
    w = (member - 1) // cohort_size + 1
    return urlencode(
        {
            "token": "legacy-ignored",
            "team_id": f"T{w:06d}",
            "team_domain": "cohort",
            "channel_id": f"C{w:06d}",
            "channel_name": f"cohort-{w}",
            "user_id": f"U{member:08d}",
            "user_name": f"member{member}",
            "command": "/drill",
            "text": "",
            "api_app_id": "A1",
            "response_url": fake.response_url(tag),
            "trigger_id": f"trig-{tag}",
        }
    )


def round_trip(
    results: Results,
    kind: str,
    db: Database,
    *,
    reps: int,
    members: int,
    cohort_size: int,
    warmup: int = 10,
) -> None:
    app = db.app()
    fake = FakeSlack().start()
    slack = load_slack_settings(
        bot_token=SecretStr("xoxb-bench"),
        signing_secret=SecretStr(SECRET),
        api_base_url=fake.api_url,
    )
    settings = app.settings
    bot = SlackBot(app, slack, channel_interval=0)
    ours = _serve(Runtime(app, settings, port=0, host="127.0.0.1", slack=bot))
    bare = _serve(Runtime(app, settings, port=0, host="127.0.0.1", slack=BareSlack(fake)))  # type: ignore[arg-type]
    urls = {
        "ours": f"{ours.url}{EVENTS_PATH}",
        "bare": f"{bare.url}{EVENTS_PATH}",
    }
    ack: dict[str, list[float]] = {"ours": [], "bare": []}
    answered: list[float] = []
    step = max(1, members // (reps + warmup))
    try:
        for i in range(reps + warmup):  # the first few warm up both and are not counted
            member = 1 + (i * step) % members
            for which in ("ours", "bare"):
                tag = f"{which}-{i}"
                started = time.monotonic()
                ans = post(urls[which], _body(fake, member, cohort_size, tag), secret=SECRET)
                if ans.status != 200:
                    raise RuntimeError(f"{which} answered HTTP {ans.status}: {ans.body[:200]}")
                if which == "bare" and TEXT not in ans.body:
                    raise RuntimeError(f"the bare app answered {ans.body[:200]!r}")
                if which == "ours":
                    path = f"/respond/{tag}"
                    fake.wait_for(
                        lambda p=path: any(c.path == p for c in fake.all("respond")),  # type: ignore[misc]
                        what=f"the answer to {tag}",
                    )
                    call = next(c for c in fake.all("respond") if c.path == path)
                    if "drill" not in call.text().lower():
                        raise RuntimeError(f"/drill answered {call.text()[:200]!r}")
                if i >= warmup:
                    ack[which].append(ans.seconds)
                    if which == "ours":
                        answered.append(call.at - started)
    finally:
        for runtime in (ours, bare):
            runtime.stop()  # closes `bot` too
        fake.stop()
    ratio = median(ack["ours"]) / median(ack["bare"])
    results.add(
        Row(
            "2 Slack /drill",
            kind,
            "HTTP round trip (signed request to ack) p50 (p99)",
            f"{ms(median(ack['ours']))} ({ms(percentile(ack['ours'], 99))})",
            f"{ms(median(ack['bare']))} ({ms(percentile(ack['bare'], 99))}) bare Bolt",
            ratio,
            "p50 <= 1.5x",
            ratio <= 1.5,
        )
    )
    answer_ratio = median(answered) / median(ack["bare"])
    results.add(
        Row(
            "2 Slack /drill",
            kind,
            "until the drill reaches response_url p50 (p99)",
            f"{ms(median(answered))} ({ms(percentile(answered, 99))})",
            f"{ms(median(ack['bare']))} bare Bolt's fixed text",
            answer_ratio,
            "",
            None,
            "the real work: member lookup, FSRS pick, DB write, one Web API call",
        )
    )
