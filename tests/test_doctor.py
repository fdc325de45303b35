"""`cohortbot doctor` as an operator runs it, settings from the environment: the installed
script in a child process where what the process prints is the point (no secret in it), else the
same command line in this process; and the PostgreSQL advisory lock that lets replicas run
`cohortbot db upgrade` together (separate processes)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from adapters.slack.settings import check as slack_check
from adapters.slack.settings import load_slack_settings
from bot.config import load_settings
from bot.db import migrate
from bot.db.session import make_engine
from bot.doctor import check_platforms
from tests.cli import EXE, Ran, invoke_cohortbot, run_cohortbot
from tests.conftest import PG_URL, private_schema

# Slow: each check migrates or probes a database and loads the content; a few run the
# installed script as a subprocess.
pytestmark = pytest.mark.slow

DISCORD = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123"
SIGNING = "doctor-signing-secret-8f2a"
SLACK = "xoxb-doctor-bot-token-77"
# Installs to many workspaces: no bot token at all, which serve accepts.
OAUTH = {"client_id": "111.222", "client_secret": "client-secret", "secret_key": "A" * 43 + "="}


def operator_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """This environment less every setting, then the database in tmp_path and `env`."""
    full = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COHORTBOT_", "SLACK_", "DISCORD_"))
    }
    full.setdefault("COHORTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    full.update(env)
    return full


def doctor_process(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `cohortbot doctor`, in a child process."""
    return run_cohortbot("doctor", cwd=tmp_path, env=operator_env(tmp_path, **env))


def doctor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> Ran:
    """`cohortbot doctor`, in this process."""
    return invoke_cohortbot(monkeypatch, "doctor", cwd=tmp_path, env=operator_env(tmp_path, **env))


def lines_of(out: str, name: str) -> str:
    """The check's line and its fix line."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("[") and f"] {name}:" in line:
            nxt = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith("   ") else ""
            return line + "\n" + nxt
    raise AssertionError(f"no {name} check in:\n{out}")


@pytest.fixture
def migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def test_all_good_exits_zero_and_prints_no_secret(tmp_path: Path, migrated: str) -> None:
    proc = doctor_process(
        tmp_path,
        SLACK_BOT_TOKEN=SLACK,
        SLACK_SIGNING_SECRET=SIGNING,
        DISCORD_TOKEN=DISCORD,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for name in ("settings", "database", "migrations", "content", "slack", "discord"):
        assert lines_of(out, name).startswith("[ok  ]"), out
    assert out.rstrip().endswith("All good.")
    for secret in (SLACK, SIGNING, DISCORD):
        assert secret not in out + proc.stderr


def test_bad_setting_is_named_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    proc = doctor(monkeypatch, tmp_path, COHORTBOT_STALE_DAYS="0")
    assert proc.returncode == 1
    check = lines_of(proc.stdout, "settings")
    assert check.startswith("[FAIL]")
    assert "COHORTBOT_STALE_DAYS" in check and ".env.example" in check


def test_unreachable_database_fails_and_hides_the_password(tmp_path: Path) -> None:
    proc = doctor_process(
        tmp_path, COHORTBOT_DATABASE_URL="postgresql+psycopg://bot:hunter2pw@127.0.0.1:1/cohortbot"
    )
    assert proc.returncode == 1
    check = lines_of(proc.stdout, "database")
    assert check.startswith("[FAIL]") and "cannot reach" in check
    assert "COHORTBOT_DATABASE_URL" in check
    assert "hunter2pw" not in proc.stdout + proc.stderr


def test_sqlite_not_created_or_behind_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    proc = doctor(monkeypatch, tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert lines_of(proc.stdout, "database").startswith("[warn]")
    assert not (tmp_path / "bot.db").exists(), "the doctor must not create the database"
    make_engine(f"sqlite:///{tmp_path / 'bot.db'}").connect().close()  # empty file
    proc = doctor(monkeypatch, tmp_path)
    check = lines_of(proc.stdout, "migrations")
    assert check.startswith("[warn]") and "cohortbot db upgrade" in check
    assert proc.returncode == 0


def test_database_from_a_newer_version_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, migrated: str
) -> None:
    engine = make_engine(migrated)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
    engine.dispose()
    proc = doctor(monkeypatch, tmp_path)
    assert proc.returncode == 1
    check = lines_of(proc.stdout, "migrations")
    assert check.startswith("[FAIL]") and "does not know" in check


def test_content_problems_fail_with_file_and_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, migrated: str
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "drills.yaml").write_text("drills:\n  - id: x\n    track: nowhere\n")
    proc = doctor(monkeypatch, tmp_path, COHORTBOT_CONTENT_DIRS=str(extra))
    assert proc.returncode == 1
    check = lines_of(proc.stdout, "content")
    assert check.startswith("[FAIL]") and "drills.yaml" in check
    assert "cohortbot content validate" in check


def test_inconsistent_credentials_fail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, migrated: str
) -> None:
    proc = doctor(monkeypatch, tmp_path, SLACK_BOT_TOKEN=SLACK, DISCORD_TOKEN="Bot " + DISCORD)
    assert proc.returncode == 1
    slack = lines_of(proc.stdout, "slack")
    assert slack.startswith("[FAIL]") and "SLACK_SIGNING_SECRET" in slack
    assert "Socket Mode" in slack
    discord = lines_of(proc.stdout, "discord")
    assert discord.startswith("[FAIL]") and "remove the 'Bot ' prefix" in discord
    assert SLACK not in proc.stdout and DISCORD not in proc.stdout


@pytest.mark.parametrize(
    ("env", "name", "status", "words"),
    [
        ({}, "platforms", "warn", "only the console"),
        ({"app_token": "xapp-1", "bot_token": SLACK}, "slack", "ok", "Socket Mode"),
        ({"app_token": "xapp-1"}, "slack", "fail", "SLACK_BOT_TOKEN is not"),
        ({"app_token": "xoxb-1", "bot_token": SLACK}, "slack", "fail", "xapp-"),
        ({"bot_token": "xoxp-1", "signing_secret": "s"}, "slack", "fail", "user"),
        (OAUTH | {"signing_secret": "s"}, "slack", "ok", "/slack/install"),
        (OAUTH, "slack", "fail", "SLACK_SIGNING_SECRET is not set"),
        ({"discord_token": "  "}, "discord", "fail", "empty"),
        ({"discord_token": "123456789012345678"}, "discord", "fail", "does not look"),
        ({"discord_token": DISCORD}, "discord", "ok", "set"),
    ],
)
def test_credential_rules(env: dict[str, str], name: str, status: str, words: str) -> None:
    if name == "slack":  # the Slack adapter's own block and check
        check = slack_check(load_slack_settings(**env))
    else:
        settings = load_settings(**env)
        [check] = [c for c in check_platforms(settings, (lambda: None,)) if c.name == name]
    assert check.status == status
    assert words in check.detail + check.fix


# -- PostgreSQL: migration state, and replicas upgrading at once ------------------------------


@pytest.fixture
def empty_schema() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema on the test database."""
    with private_schema("d") as schema:
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)


def test_postgres_not_migrated_fails_until_db_upgrade(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_schema: str
) -> None:
    proc = doctor(monkeypatch, tmp_path, COHORTBOT_DATABASE_URL=empty_schema)
    assert proc.returncode == 1
    assert lines_of(proc.stdout, "database").startswith("[ok  ]")
    check = lines_of(proc.stdout, "migrations")
    assert check.startswith("[FAIL]") and "schema empty" in check
    assert "cohortbot db upgrade" in check
    up = invoke_cohortbot(
        monkeypatch,
        "db",
        "upgrade",
        cwd=tmp_path,
        env=operator_env(tmp_path, COHORTBOT_DATABASE_URL=empty_schema),
    )
    assert up.returncode == 0, up.stderr
    proc = doctor(monkeypatch, tmp_path, COHORTBOT_DATABASE_URL=empty_schema)
    assert lines_of(proc.stdout, "migrations").startswith("[ok  ]")


def test_replicas_upgrading_at_once_on_postgres_all_succeed(
    tmp_path: Path, empty_schema: str
) -> None:
    """Three `cohortbot db upgrade` processes on one fresh schema, as replicas starting together
    do: without the advisory lock they collide on CREATE TABLE and all but one fail."""
    env = operator_env(tmp_path, COHORTBOT_DATABASE_URL=empty_schema)
    procs = [
        subprocess.Popen(
            [str(EXE), "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        results.append((p.returncode, out, err[-2000:]))
    assert all(code == 0 for code, _, _ in results), results
    assert len({out for _, out, _ in results}) == 1  # all report the same, newest revision
    engine = make_engine(empty_schema)
    try:
        assert migrate.is_up_to_date(engine)
    finally:
        engine.dispose()
