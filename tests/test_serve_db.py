"""A silent database partition (issue 15, item 9): PostgreSQL behind a proxy that stops
forwarding without telling anyone. `/healthz` says 503 within a second or two instead of
hanging, a command is acknowledged at once and its member hears "try again in a moment" inside
Slack's 3-second window, nothing it tried is applied later, and nothing committed before the
cut is lost. Once the line is back, everything works again without a restart."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from bot.app import build_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db import migrate
from bot.db.session import make_engine
from bot.router import BUSY
from tests.conftest import PG_URL, START, pg_engine, private_schema
from tests.slack_fake import FakeSlack, SlackRig
from tests.slack_fixtures import served_slack
from tests.tcp_proxy import TcpProxy

# Slow: the served HTTP front with the database cut.
pytestmark = pytest.mark.slow


@pytest.fixture
def cut_rig() -> Iterator[tuple[SlackRig, TcpProxy]]:
    with private_schema("cut") as schema:
        direct = pg_engine(schema)
        migrate.upgrade(direct)
        direct.dispose()
        proxy = TcpProxy(("127.0.0.1", 5432)).start()
        proxied = PG_URL.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        engine = make_engine(proxied, connect_args={"options": f"-csearch_path={schema}"})
        settings = load_settings(database_url=proxied, rate_limit_per_minute=30)
        app = build_app(settings, ManualClock(START), engine=engine, upgrade=False)
        fake = FakeSlack().start()
        try:
            with served_slack(app, fake, bot_token=SecretStr("xoxb-test")) as rig:
                yield rig, proxy
        finally:
            fake.stop()
            proxy.stop()
            engine.dispose()


def health(rig: SlackRig) -> tuple[int, dict[str, object], float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{rig.runtime.url}/healthz", timeout=10) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    return status, json.loads(body), time.monotonic() - started


def test_partition_is_answered_fast_and_nothing_is_lost(
    cut_rig: tuple[SlackRig, TcpProxy],
) -> None:
    rig, proxy = cut_rig
    rig.command("/settings tz Asia/Kolkata")
    rig.fake.wait_messages(1)
    assert health(rig)[0] == 200

    proxy.cut()
    for _ in range(3):  # the first probe and the ones that share a probe still running
        status, body, seconds = health(rig)
        assert status == 503
        assert str(body["database"]).startswith("unreachable")
        assert seconds < 2.0, f"/healthz took {seconds:.2f}s"

    sent = time.monotonic()
    ack = rig.command("/settings tz Europe/Paris")
    assert ack.status == 200
    assert ack.seconds < 1.5, f"acked in {ack.seconds:.2f}s"
    [_, busy] = rig.fake.wait_messages(2, timeout=10)
    answered = time.monotonic() - sent
    assert BUSY in busy.text()
    assert answered < 3.0, f"'try again' after {answered:.2f}s"

    proxy.restore()
    deadline = time.monotonic() + 15
    while health(rig)[0] != 200:
        assert time.monotonic() < deadline, "still unhealthy after the line came back"
    rig.command("/settings show")
    [*_, shown] = rig.fake.wait_messages(3, timeout=10)
    assert "Asia/Kolkata" in shown.text()  # kept; the refused change never landed
    with rig.runtime.core.engine.connect() as conn:
        zones = conn.execute(text("SELECT timezone FROM member_settings")).scalars().all()
    assert zones == ["Asia/Kolkata"]
