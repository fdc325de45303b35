"""Many workspaces: the OAuth install flow over real HTTP (install page, Slack's redirect, the
fake's oauth.v2.access), tokens encrypted in our database, one workspace's data never seen
from another, cleanup on uninstall. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from adapters.slack import SlackBot
from adapters.slack.oauth import TokenCipher
from adapters.slack.settings import SlackSettings, load_slack_settings
from bot.app import App
from bot.config import SettingsError
from bot.db.models import Member, Workspace
from bot.db.pipeline_models import Application
from bot.db.slack_models import SlackInstallation, SlackOAuthState
from bot.delivery import DeliveryError, Undeliverable
from bot.types import DM, Channel, Conversation, Outbound, Reply, User
from tests.conftest import snapshot
from tests.slack_fake import FakeSlack, SlackRig, token_for
from tests.slack_fixtures import served_slack

KEY = Fernet.generate_key().decode()


@pytest.fixture
def rig(app: App) -> Iterator[SlackRig]:
    fake = FakeSlack(users={"UADMIN": {"is_admin": True}}).start()
    try:
        with served_slack(
            app,
            fake,
            client_id="111.222",
            client_secret=SecretStr("client-secret"),
            secret_key=SecretStr(KEY),
        ) as served:
            yield served
    finally:
        fake.stop()


@dataclass
class Page:
    status: int
    body: str
    headers: dict[str, str]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kw: object) -> None:
        return None


def get(url: str, cookie: str | None = None) -> Page:
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=10) as resp:
            return Page(
                resp.status, resp.read().decode(), {k.lower(): v for k, v in resp.headers.items()}
            )
    except urllib.error.HTTPError as exc:
        return Page(exc.code, exc.read().decode(), {k.lower(): v for k, v in exc.headers.items()})


def start_install(rig: SlackRig) -> tuple[str, str]:
    """Open the install page: (state in the Add to Slack link, the state cookie)."""
    page = get(f"{rig.runtime.url}/slack/install")
    assert page.status == 200
    link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page.body)
    assert link, page.body
    state = re.search(r"state=([^&\"]+)", link.group(1))
    assert state
    assert "client_id=111.222" in link.group(1)
    assert (
        "scope=commands,chat:write,im:write,im:history,users:read,files:write,mpim:write"
        in link.group(1)
    )
    cookie = page.headers["set-cookie"].split(";")[0]
    return state.group(1), cookie


def install(rig: SlackRig, team: str) -> Page:
    state, cookie = start_install(rig)
    page = get(f"{rig.runtime.url}/slack/oauth_redirect?code=code-{team}&state={state}", cookie)
    assert page.status == 200, page.body
    return page


def rows(app: App) -> list[SlackInstallation]:
    with app.sessions() as s:
        return list(s.scalars(select(SlackInstallation).order_by(SlackInstallation.team_id)))


def test_install_stores_the_token_encrypted(rig: SlackRig, app: App) -> None:
    install(rig, "T1")
    [access] = rig.fake.delivered("oauth.v2.access")
    assert access.body["code"] == "code-T1"
    basic = access.headers["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(basic).decode() == "111.222:client-secret"
    [row] = rows(app)
    assert (row.team_id, row.enterprise_id, row.bot_user_id) == ("T1", "", "UBOTT1")
    assert row.installer_user_id == "UINSTALLER"
    assert "xoxb" not in row.bot_token
    assert TokenCipher(KEY).decrypt(row.bot_token) == token_for("T1")
    assert "xoxb-" not in repr(snapshot(app.engine))
    # Installing again (new scopes, a new token) replaces the row; it never duplicates.
    install(rig, "T1")
    assert len(rows(app)) == 1
    with app.sessions() as s:
        assert s.scalars(select(SlackOAuthState)).all() == []  # every state used once


@pytest.mark.parametrize("bad", ["no cookie", "other state", "used twice", "bad code"])
def test_a_callback_that_does_not_match_its_install_page_installs_nothing(
    rig: SlackRig, app: App, bad: str
) -> None:
    state, cookie = start_install(rig)
    url = f"{rig.runtime.url}/slack/oauth_redirect?code=code-T1&state={state}"
    if bad == "no cookie":
        page = get(url)
    elif bad == "other state":
        other, _ = start_install(rig)
        page = get(url.replace(state, other), cookie)
    elif bad == "used twice":
        assert get(url, cookie).status == 200
        with app.sessions() as s:
            s.execute(SlackInstallation.__table__.delete())
            s.commit()
        page = get(url, cookie)
    else:
        page = get(url.replace("code-T1", "stolen"), cookie)
    assert page.status >= 400
    assert rows(app) == []


def test_two_workspaces_same_user_see_only_their_own_data(rig: SlackRig, app: App) -> None:
    install(rig, "T1")
    install(rig, "T2")
    one, two = rig, rig.as_team("T2")
    one.command("/pipeline add Acme")
    rig.fake.wait_messages(1)
    two.command("/pipeline list")  # same user id U1, same channel id, other workspace
    msgs = rig.fake.wait_messages(2)
    assert msgs[1].path == "/respond/T2-U1-C1"
    assert "empty" in msgs[1].body["text"]
    assert "Acme" not in msgs[1].text()
    with app.sessions() as s:
        members = s.execute(
            select(Workspace.external_id, Member.platform_user_id).join(
                Member, Member.workspace_id == Workspace.id
            )
        ).all()
        acme = s.scalar(select(Application.id))
    assert sorted(members) == [("T1", "U1"), ("T2", "U1")]
    # A button value naming T1's application, pressed in T2, is refused.
    two.click(f"pipeline.pick|show:{acme}:")
    msgs = rig.fake.wait_messages(3)
    assert msgs[2].path == "/respond/T2-click-U1"
    assert "isn't for you" in msgs[2].body["text"]
    assert "Acme" not in msgs[2].text()
    # Each workspace's calls carry its own token.
    two.command("/settings show", channel="D1")
    rig.fake.wait_for(lambda: rig.fake.delivered("chat.postMessage"), what="a DM in T2")
    [dm] = rig.fake.delivered("chat.postMessage")
    assert dm.headers["Authorization"] == f"Bearer {token_for('T2')}"
    tokens = {c.body["user"]: set() for c in rig.fake.delivered("users.info")}
    for c in rig.fake.delivered("users.info"):
        tokens[c.body["user"]].add(c.headers["Authorization"])
    assert tokens["U1"] == {f"Bearer {token_for('T1')}", f"Bearer {token_for('T2')}"}


def test_a_workspace_that_never_installed_gets_nothing_done(rig: SlackRig, app: App) -> None:
    install(rig, "T1")
    before = snapshot(app.engine)
    ans = rig.as_team("T9").command("/pipeline add Acme")
    assert ans.status == 200
    rig.fake.wait_messages(1)  # Bolt's short "not installed" note through response_url
    [note] = rig.fake.messages()
    assert note.path == "/respond/T9-U1-C1"
    assert "isn't installed" in note.body["text"]
    assert snapshot(app.engine) == before


def test_uninstall_deletes_the_token_and_keeps_member_data(rig: SlackRig, app: App) -> None:
    install(rig, "T1")
    install(rig, "T2")
    two = rig.as_team("T2")
    two_user = User("slack", "T2", "U1", "u1")
    two.command("/pipeline add Acme")
    rig.fake.wait_messages(1)
    # Revoking only user tokens (we keep none) changes nothing.
    two.event({"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": []}}, "Ev1")
    assert two.event({"type": "app_uninstalled"}, "Ev2").status == 200
    rig.fake.wait_for(lambda: [r.team_id for r in rows(app)] == ["T1"], what="the cleanup")
    with app.sessions() as s:
        assert s.scalar(select(Application.company)) == "Acme"  # kept for a reinstall
    # A scheduled post to T2's channel now fails for good, without retries.
    two.command("/cohort setup", user="UADMIN", channel="C22")  # refused: not installed
    with pytest.raises(DeliveryError) as err:
        rig.bot.adapter.deliver(Outbound(DM(two_user), Reply("Your daily drill")))
    assert not err.value.retryable
    assert not isinstance(err.value, Undeliverable)  # the member did nothing wrong
    # T1 carries on.
    rig.fake.wait_for(
        lambda: any(m.path == "/respond/T2-UADMIN-C22" for m in rig.fake.messages()),
        what="the note to T2",
    )
    [refused] = [m for m in rig.fake.messages() if m.path == "/respond/T2-UADMIN-C22"]
    assert "isn't installed" in refused.body["text"]
    rig.command("/settings show")
    rig.fake.wait_for(lambda: any(m.path == "/respond/U1-C1" for m in rig.fake.messages()))
    [shown] = [m for m in rig.fake.messages() if m.path == "/respond/U1-C1"]
    assert "Time zone" in shown.text()
    # tokens_revoked naming the bot removes T1's token too.
    rig.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOTT1"]}}, "Ev3")
    rig.fake.wait_for(lambda: rows(app) == [], what="the revocation")


def test_oauth_without_a_usable_key_refuses_to_start(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    monkeypatch.delenv("COHORTBOT_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError) as missing:
        load_slack_settings()
    assert str(missing.value).startswith("Setting COHORTBOT_SECRET_KEY is required")
    monkeypatch.setenv("COHORTBOT_SECRET_KEY", "hunter2")
    with pytest.raises(SettingsError) as invalid:
        load_slack_settings()
    assert str(invalid.value).startswith("Setting COHORTBOT_SECRET_KEY is invalid")
    assert "hunter2" not in str(invalid.value)
    for err in (missing.value, invalid.value):
        assert "\n" not in str(err)
    # Settings built in code skip validation: the Slack app checks again.
    settings = SlackSettings.model_construct(
        client_id="1", client_secret=SecretStr("s"), secret_key=None
    )
    with pytest.raises(SettingsError, match="COHORTBOT_SECRET_KEY is required"):
        SlackBot(app, settings)
    monkeypatch.setenv("COHORTBOT_SECRET_KEY", KEY)
    assert load_slack_settings().oauth


def test_scheduled_channel_post_uses_the_channels_workspace(rig: SlackRig, app: App) -> None:
    install(rig, "T1")
    install(rig, "T2")
    admin = rig.as_team("T2")
    admin.command("/cohort setup", user="UADMIN", channel="C22")
    rig.fake.wait_for(lambda: rig.fake.delivered("chat.postMessage"), what="the setup post")
    before = len(rig.fake.delivered("chat.postMessage"))
    rig.bot.adapter.deliver(
        Outbound(Channel(Conversation("channel", "C22", "cohort"), "slack", "T2"), Reply("Week 1"))
    )
    post = rig.fake.delivered("chat.postMessage")[before]
    assert post.body["channel"] == "C22"
    assert post.headers["Authorization"] == f"Bearer {token_for('T2')}"
    assert json.loads(json.dumps(post.body["blocks"]))[0]["type"] == "section"
