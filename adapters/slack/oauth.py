"""Installs to many workspaces: Slack's OAuth flow on our own database.

Bot tokens are stored encrypted (Fernet, COHORTBOT_SECRET_KEY); `Installations` answers
"which token for team T" for Bolt's authorization (no Web API call before the ack, unlike
Bolt's default, which runs auth.test on every request) and for our own sends."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.slack.settings import SlackSettings
from bot.config import SettingsError
from bot.db.slack_models import SlackInstallation, SlackOAuthState

log = logging.getLogger("cohortbot.slack.oauth")

STATE_TTL = timedelta(minutes=10)
CACHE_SECONDS = 60.0  # a token revoked while cached fails loudly and is dropped on uninstall


class NotInstalled(Exception):
    """No token for this workspace: never installed, or uninstalled since."""


class TokenCipher:
    """Fernet with rotation: the first key encrypts, every key decrypts."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("empty key")
        self._fernet = MultiFernet([Fernet(k) for k in parts])

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()


def cipher_from(settings: SlackSettings) -> TokenCipher:
    """The cipher, or SettingsError with one line: OAuth without a usable key must not start
    (settings copied in code skip pydantic's validation, so this checks again)."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if not key.strip():
        raise SettingsError(
            "Setting COHORTBOT_SECRET_KEY is required when SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET are set: it encrypts the stored bot tokens"
        )
    try:
        return TokenCipher(key)
    except ValueError:
        raise SettingsError(
            "Setting COHORTBOT_SECRET_KEY is invalid: not a Fernet key (32 url-safe base64 bytes)"
        ) from None


def _ids(enterprise_id: str | None, team_id: str | None, org_wide: bool | None) -> tuple[str, str]:
    # An org-wide install answers for every team of the enterprise: stored with team "".
    return (enterprise_id or "", "" if org_wide else (team_id or ""))


class SQLInstallationStore(InstallationStore):
    """One row per workspace (or org-wide install), bot token encrypted. User tokens are not
    kept: the bot asks for none."""

    def __init__(self, sessions: sessionmaker[Session], cipher: TokenCipher) -> None:
        self.sessions = sessions
        self.cipher = cipher

    @property
    def logger(self) -> logging.Logger:
        return log

    def save(self, installation: Installation) -> None:
        if not installation.bot_token:
            raise ValueError("an installation without a bot token")
        ent, team = _ids(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        values: dict[str, Any] = {
            "is_enterprise_install": bool(installation.is_enterprise_install),
            "app_id": installation.app_id,
            "team_name": (installation.team_name or "")[:200] or None,
            "bot_id": installation.bot_id,
            "bot_user_id": installation.bot_user_id,
            "bot_scopes": ",".join(installation.bot_scopes or [])[:1000],
            "bot_token": self.cipher.encrypt(installation.bot_token),
            "installer_user_id": installation.user_id,
            "installed_at": datetime.fromtimestamp(installation.installed_at, UTC),
        }
        with self.sessions.begin() as session:
            row = session.scalar(
                select(SlackInstallation).where(
                    SlackInstallation.enterprise_id == ent, SlackInstallation.team_id == team
                )
            )
            if row is None:
                session.add(SlackInstallation(enterprise_id=ent, team_id=team, **values))
            else:  # a reinstall (new scopes, new token) replaces the old one
                for name, value in values.items():
                    setattr(row, name, value)
        log.info("Slack workspace installed", extra={"team": team, "enterprise": ent})

    def save_bot(self, bot: Bot) -> None:
        raise NotImplementedError("installations are saved whole, through save()")

    def _row(
        self, session: Session, enterprise_id: str | None, team_id: str | None, org: bool | None
    ) -> SlackInstallation | None:
        ent, team = _ids(enterprise_id, team_id, org)
        query = select(SlackInstallation).where(SlackInstallation.team_id == team)
        if enterprise_id is not None or not team:
            # Our own sends know the team alone; Slack's requests name the enterprise too.
            query = query.where(SlackInstallation.enterprise_id == ent)
        row = session.scalar(query.order_by(SlackInstallation.id).limit(1))
        if row is None and ent and team:
            # A workspace of an org that installed the app org-wide.
            row = session.scalar(
                select(SlackInstallation).where(
                    SlackInstallation.enterprise_id == ent, SlackInstallation.team_id == ""
                )
            )
        return row

    def _token(self, row: SlackInstallation) -> str | None:
        try:
            return self.cipher.decrypt(row.bot_token)
        except InvalidToken:
            # The key changed without keeping the old one: the workspace must reinstall.
            log.error("a stored Slack token can't be decrypted", extra={"team": row.team_id})
            return None

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        with self.sessions() as session:
            row = self._row(session, enterprise_id, team_id, is_enterprise_install)
            if row is None or (user_id is not None and user_id != row.installer_user_id):
                return None
            token = self._token(row)
            if token is None:
                return None
            return Installation(
                app_id=row.app_id,
                enterprise_id=row.enterprise_id or None,
                team_id=row.team_id or None,
                team_name=row.team_name,
                bot_token=token,
                bot_id=row.bot_id,
                bot_user_id=row.bot_user_id,
                bot_scopes=row.bot_scopes,
                user_id=row.installer_user_id,
                is_enterprise_install=row.is_enterprise_install,
                installed_at=row.installed_at.timestamp(),
            )

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = self.find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return found.to_bot() if found else None

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        ent, team = enterprise_id or "", team_id or ""
        with self.sessions.begin() as session:
            session.execute(
                delete(SlackInstallation).where(
                    SlackInstallation.enterprise_id == ent, SlackInstallation.team_id == team
                )
            )

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # no user tokens are kept, so one user's revocation changes nothing
            self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class SQLOAuthStateStore(OAuthStateStore):
    """The `state` of each install page, used once, within ten minutes, on any replica."""

    def __init__(self, sessions: sessionmaker[Session], ttl: timedelta = STATE_TTL) -> None:
        self.sessions = sessions
        self.ttl = ttl

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.sessions.begin() as session:
            session.execute(delete(SlackOAuthState).where(SlackOAuthState.expires_at < now))
            session.add(SlackOAuthState(state=state, expires_at=now + self.ttl))
        return state

    def consume(self, state: str) -> bool:
        if not state or len(state) > 64:
            return False
        with self.sessions.begin() as session:
            result = session.execute(
                delete(SlackOAuthState).where(
                    SlackOAuthState.state == state, SlackOAuthState.expires_at >= datetime.now(UTC)
                )
            )
            return int(getattr(result, "rowcount", 0) or 0) == 1


class Installations(Authorize):
    """Tokens per workspace from the store, cached briefly; Bolt's `authorize` and our
    `client_for(team)` both read through it."""

    def __init__(
        self,
        store: SQLInstallationStore,
        make_client: Callable[[str], WebClient],
        ttl: float = CACHE_SECONDS,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Bolt's Authorize has no annotations
        self.store = store
        self.make_client = make_client
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Installation | None, WebClient | None]] = {}
        self._lock = threading.Lock()

    def _lookup(self, team_id: str, enterprise_id: str | None = None) -> tuple[Any, Any]:
        key = f"{enterprise_id or ''}:{team_id}"
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit and hit[0] > now:
            return hit[1], hit[2]
        found = self.store.find_installation(enterprise_id=enterprise_id, team_id=team_id)
        client = self.make_client(found.bot_token) if found and found.bot_token else None
        with self._lock:
            self._cache[key] = (now + self.ttl, found, client)
        return found, client

    def forget(self, team_id: str) -> None:
        with self._lock:
            for key in [k for k in self._cache if k.endswith(f":{team_id}")]:
                del self._cache[key]

    def client_for(self, team_id: str) -> WebClient:
        _, client = self._lookup(team_id)
        if client is None:
            raise NotInstalled(f"Cohortbot is not installed in Slack workspace {team_id}")
        found: WebClient = client
        return found

    def __call__(
        self,
        *,
        context: Any,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        found, _ = self._lookup(team_id or "", enterprise_id)
        if found is None:
            return None
        return AuthorizeResult(
            enterprise_id=found.enterprise_id,
            team_id=found.team_id,
            team=found.team_name,
            bot_user_id=found.bot_user_id,
            bot_id=found.bot_id,
            bot_token=found.bot_token,
            bot_scopes=found.bot_scopes,
            user_id=user_id,
        )
