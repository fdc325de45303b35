"""Hostile input to every command, button and form: the bot answers briefly and kindly, no
exception escapes, and a refusal writes nothing.

Invocations are generated from the command tree itself (every leaf path, every option, as
typed text and as the structured options Discord sends), with values drawn from real-looking
input and from what an attacker or a confused member would type: unicode, control characters,
100 kB strings, Slack and Discord mention syntax, SQL and template syntax.

"Refusal" means the router answered with a usage reply or with a UserError's message; it marks
those outbound messages with Outbound.refusal, and the tests then check with a full snapshot of
every table that nothing was written.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Engine

import bot.router as router_mod
from adapters.discord import render as discord_render
from adapters.memory import MemoryWorkspace
from adapters.slack import render as slack_render
from bot import commands, features
from bot.app import build_app
from bot.clock import ManualClock
from bot.commands import Command, Option
from bot.config import Settings, load_settings
from bot.content import Content
from bot.db.session import make_engine
from bot.router import BUSY, QUOTE_MARK, SORRY, registered_actions
from bot.types import Ephemeral, InPlace, Invocation, Outbound, User
from tests.conftest import START, pg_engine, snapshot, truncate_all

# Slow: every command, button and form with hostile input.
pytestmark = pytest.mark.slow

features.load_all()  # the actions and forms register on import

# -- hostile values ---------------------------------------------------------------------------

MENTIONS = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C123|general>",
    "<https://evil.example|click me>",
    "@everyone",
    "@here",
    "@channel",
    "<@123>",
    "<@!123>",
    "<@&456>",
    "<#789>",
)
INJECTIONS = (
    "'; DROP TABLE members; --",
    "' OR '1'='1",
    'Robert"); DROP TABLE applications;--',
    "1; SELECT pg_sleep(5)",
    "{name}",
    "{0}",
    "{__class__}",
    "{0.__class__.__mro__}",
    "{member.settings}",
    "%s",
    "%(company)s",
    "%n%n%n",
    "${x}",
    "{{7*7}}",
    "{% for x in y %}",
    "<script>alert(1)</script>",
    "\\",
    '"',
    "'",
    '"unterminated',
    "|",
    "a|b|c",
)
ODD = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[31mred\x1b[0m",
    "\r\n\r\n",
    "\t",
    "\u202eevil",  # right-to-left override
    "\ufeff",
    "\u200b",
    "Z̷͉̓a̵̗͝l̶̰̆g̷̱̈o̵͚̓",
    "💥" * 50,
    "👩‍👩‍👧‍👦",
    "ß",
    "İ",
    "ﬃ",
    "Ⅻ",
    "١٢٣",  # Arabic-Indic digits: int("١٢٣") == 123 in Python
    "-0",
    "0" * 30,
    "99999999999999999999999",
    "-1",
    "1e309",
    "NaN",
    "9999-12-31",
    "0000-00-00",
    "31/02/2026",
    "yesterday",
    "in 900 years",
    "25:61",
    "Etc/GMT+14",
    "../../etc/passwd",
    "con.txt",
)
BIG = ("x" * 100_000, "é" * 2_001, "y " * 1_500, "a" * 1_999)

REALISTIC = (
    "acme",
    "Acme",
    "Globex Corp",
    "Europe/Berlin",
    "America/New_York",
    "next friday 2pm",
    "dec 4 5pm",
    "2026-12-05",
    "09:00",
    "7:45",
    "mon,wed,fri",
    "weekdays",
    "behavioral",
    "screen",
    "onsite",
    "offer",
    "120k",
    "EUR",
    "3",
    "0",
    "In my last role I led a migration; the result was a 30% cut in latency.",
    "now",
    "leaderboard",
    "fri",
    "16:00",
    "add",
)

text_piece = st.one_of(
    st.sampled_from(MENTIONS + INJECTIONS + ODD),
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=30),
)
hostile = st.one_of(
    st.sampled_from(MENTIONS + INJECTIONS + ODD + BIG),
    st.lists(text_piece, min_size=1, max_size=4).map(" ".join),
    st.text(max_size=200),
)


def value_for(opt: Option) -> st.SearchStrategy[str]:
    """A value for one option: often one that passes the parser, often not."""
    if opt.type == "choice":
        good: st.SearchStrategy[str] = st.sampled_from(opt.choices)
    elif opt.type == "int":
        good = st.integers(-(10**13), 10**13).map(str)
    else:
        good = st.sampled_from(REALISTIC)
    return st.one_of(good, good, hostile)


def _quote(value: str) -> str:
    return f'"{value}"' if " " in value and '"' not in value else value


@st.composite
def typed_args(draw: st.DrawFn, leaf: Command, sub: str | None) -> str:
    """The text after the command, as a member would type it (or mangle it)."""
    if draw(st.integers(0, 5)) == 0:
        return draw(hostile)  # the whole line is junk
    parts = [sub] if sub else []
    for opt in leaf.options:
        if not opt.required and draw(st.booleans()):
            continue
        value = draw(value_for(opt))
        parts.extend([opt.name, value] if opt.keyword else [_quote(value)])
    if draw(st.integers(0, 4)) == 0:
        parts.append(draw(hostile))  # something extra at the end
    return " ".join(parts)


@st.composite
def structured_options(draw: st.DrawFn, leaf: Command, sub: str | None) -> dict[str, str]:
    """Options the way Discord delivers them: a dict, each value from its own field."""
    opts = {"sub": sub} if sub else {}
    for opt in leaf.options:
        if opt.required or draw(st.booleans()):
            opts[opt.name] = draw(value_for(opt))
    if draw(st.integers(0, 6)) == 0:
        opts[draw(st.sampled_from(("zzz", "__class__", "sub", "company")))] = draw(hostile)
    return opts


def leaf_of(path: str) -> tuple[Command, str, str | None]:
    top, _, sub = path.partition(" ")
    cmd = commands.find(top)
    assert cmd is not None
    if not sub:
        return cmd, top, None
    leaf = cmd.sub(sub)
    assert leaf is not None
    return leaf, top, sub


# -- the checks -------------------------------------------------------------------------------

REPLY_LIMIT = 4000  # Discord's embed description is 4096; Slack's fallback text 4000
_LIVE_SLACK = re.compile(r"<[!@#]|(?<![\w.])@(here|channel|everyone)\b", re.IGNORECASE)
_LIVE_DISCORD = re.compile(r"@(everyone|here)\b", re.IGNORECASE)


class Refusals:
    """Refusals are the replies the router marks with Outbound.refusal (usage and user errors)."""

    @staticmethod
    def any(outs: list[Outbound]) -> bool:
        return any(o.refusal for o in outs)


def check_replies(outs: list[Outbound], user: User, caplog: pytest.LogCaptureFixture) -> None:
    """Short, friendly, rendered safely on both platforms, and seen by the right people."""
    assert outs, "every command gets an answer"
    crashes = [r for r in caplog.records if r.exc_info or r.levelname in ("ERROR", "CRITICAL")]
    assert not crashes, crashes[0].getMessage() + "\n" + str(crashes[0].exc_info)
    for o in outs:
        r = o.reply
        assert r.text.strip()
        assert r.text not in (SORRY, BUSY), r.text
        assert "Traceback" not in r.text and "Error:" not in r.text, r.text
        # Over-long text is quoted back to copy, whole (the renderers clip it where a platform
        # must); what the bot says around it stays short.
        said = r.text.split(QUOTE_MARK)[0]
        shown = said + "".join(f.name + f.value for f in r.fields) + (r.title or "")
        assert len(shown) <= REPLY_LIMIT, (len(shown), r.text[:200])
        if isinstance(o.target, Ephemeral | InPlace):
            assert o.target.user.user_id == user.user_id, "an ephemeral reply for someone else"
        slack = json.dumps(slack_render.message(r), ensure_ascii=False)
        assert not _LIVE_SLACK.search(slack_render.fallback_text(r))
        assert "<!channel>" not in slack and "<!here>" not in slack
        embed = discord_render.message_kwargs(r)["embed"].to_dict()
        assert not _LIVE_DISCORD.search(json.dumps(embed, ensure_ascii=False))


def run_checked(
    ws: MemoryWorkspace,
    engine: Engine,
    refusals: Refusals,
    caplog: pytest.LogCaptureFixture,
    call: Callable[[], list[Outbound]],
    user: User,
) -> None:
    caplog.clear()
    before = snapshot(engine)
    outs = call()  # no try/except: an exception escaping the router fails the test
    if refusals.any(outs):
        assert snapshot(engine) == before, "a refusal must write nothing"
    check_replies(outs, user, caplog)
    for sent in ws.flush():  # what the command queued for now goes out without a hitch
        assert sent.text not in (SORRY, BUSY)
    assert not [r for r in caplog.records if r.exc_info], "a send crashed"


def seed(ws: MemoryWorkspace) -> None:
    """Give the members something to act on, so hostile values reach the deep code paths."""
    for line in (
        "/cohort setup Europe/Berlin 2026-12-01",
        '/pipeline add Acme "ML Engineer"',
        "/pipeline add Globex",
        "/pipeline interview acme tomorrow 10:00",
        "/pipeline offer globex deadline in 5 days base 120k currency EUR",
        "/drill behavioral",
    ):
        ws.command("alice", line, admin=True)
    ws.command("bob", "/pipeline add Initech")
    ws.command("bob", "/drill")


def who(ws: MemoryWorkspace, name: str) -> User:
    return ws.user(name, admin=name == "alice")


@pytest.fixture(scope="module")
def seeded_sqlite(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded SQLite file per module, copied for each test: seeding costs once."""
    path = tmp_path_factory.mktemp("abuse") / "seeded.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    clock = ManualClock(START)
    exports = path.parent / "exports"
    seed(
        MemoryWorkspace(build_app(quiet(f"sqlite:///{path}", exports), clock, engine=engine), clock)
    )
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def quiet(url: str, exports: Path | None = None) -> Settings:
    # The flood limit has its own tests; here every example must reach the handlers.
    return load_settings(
        database_url=url, rate_limit_per_minute=0, export_dir=str(exports or "exports")
    )


@pytest.fixture
def abuse(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MemoryWorkspace, Engine, Refusals]]:
    """A seeded workspace on SQLite (default) or, parametrized with "postgres", PostgreSQL."""
    clock = ManualClock(START)
    if getattr(request, "param", "sqlite") == "postgres":
        url, schema = request.getfixturevalue("pg_schema")
        engine = pg_engine(schema)
        truncate_all(engine)
        ws = MemoryWorkspace(
            build_app(quiet(url, tmp_path / "exports"), clock, engine=engine, upgrade=False), clock
        )
        seed(ws)
    else:
        path = tmp_path / "bot.db"
        shutil.copy(request.getfixturevalue("seeded_sqlite"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        ws = MemoryWorkspace(
            build_app(quiet(url, tmp_path / "exports"), clock, engine=engine, upgrade=False), clock
        )
    ws.user("alice", admin=True)
    yield ws, engine, Refusals()
    engine.dispose()


SETTINGS = hsettings(
    max_examples=12,
    deadline=None,  # a shared machine: time is checked by the suite's total, not per example
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
members = st.sampled_from(("alice", "bob"))


@pytest.mark.parametrize("path", commands.all_paths())
@SETTINGS
@given(data=st.data())
def test_every_command(
    path: str,
    abuse: tuple[MemoryWorkspace, Engine, Refusals],
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    """Typed as text (Slack, the console) or as structured options (Discord)."""
    ws, engine, refusals = abuse
    leaf, top, sub = leaf_of(path)
    name = data.draw(members, label="member")
    where = data.draw(st.sampled_from((ws.channel(), ws.dm(name))), label="where")
    if data.draw(st.integers(0, 3), label="structured") == 0:
        opts = data.draw(structured_options(leaf, sub), label="options")
        inv = Invocation(top, "", who(ws, name), where, options=opts)
    else:
        args = data.draw(typed_args(leaf, sub), label="args")
        inv = Invocation(top, args, who(ws, name), where)
    run_checked(ws, engine, refusals, caplog, lambda: ws.app.router.handle(inv).all, inv.user)


@hsettings(SETTINGS, max_examples=40)
@given(
    command=st.one_of(st.sampled_from([c.name for c in commands.TREE]), hostile),
    args=hostile,
    name=members,
)
def test_unknown_and_mangled_commands(
    abuse: tuple[MemoryWorkspace, Engine, Refusals],
    caplog: pytest.LogCaptureFixture,
    command: str,
    args: str,
    name: str,
) -> None:
    ws, engine, refusals = abuse
    inv = Invocation(command, args, who(ws, name), ws.channel())
    run_checked(ws, engine, refusals, caplog, lambda: ws.app.router.handle(inv).all, inv.user)


@pytest.mark.parametrize("action", sorted(registered_actions()))
@hsettings(SETTINGS, max_examples=8)
@given(
    value=st.one_of(
        hostile,
        st.integers(-(10**12), 10**12).map(str),
        st.lists(st.one_of(st.integers(0, 9999).map(str), text_piece), max_size=4).map("|".join),
    ),
    name=members,
)
def test_every_button_with_forged_values(
    action: str,
    abuse: tuple[MemoryWorkspace, Engine, Refusals],
    caplog: pytest.LogCaptureFixture,
    value: str,
    name: str,
) -> None:
    ws, engine, refusals = abuse
    user = who(ws, name)
    run_checked(
        ws,
        engine,
        refusals,
        caplog,
        lambda: ws.app.router.click(user, ws.channel(), f"{action}|{value}").all,
        user,
    )


@pytest.mark.parametrize("form", sorted(router_mod._FORMS))
@hsettings(SETTINGS, max_examples=12)
@given(
    value=st.one_of(hostile, st.integers(0, 9999).map(str)),
    fields=st.dictionaries(
        st.sampled_from(
            ("company", "role", "stage", "link", "answer", "text", "career", "culture", "x")
        ),
        st.one_of(hostile, st.sampled_from(REALISTIC)),
        max_size=5,
    ),
    name=members,
)
def test_every_form_with_hostile_fields(
    form: str,
    abuse: tuple[MemoryWorkspace, Engine, Refusals],
    caplog: pytest.LogCaptureFixture,
    value: str,
    fields: dict[str, str],
    name: str,
) -> None:
    ws, engine, refusals = abuse
    user = who(ws, name)
    run_checked(
        ws,
        engine,
        refusals,
        caplog,
        lambda: ws.app.router.submit(user, ws.channel(), form, value, fields).all,
        user,
    )


@pytest.mark.parametrize("abuse", ["postgres"], indirect=True)
@hsettings(SETTINGS, max_examples=40)
@given(
    path=st.sampled_from(commands.all_paths()),
    data=st.data(),
)
def test_commands_on_postgres(
    abuse: tuple[MemoryWorkspace, Engine, Refusals],
    caplog: pytest.LogCaptureFixture,
    path: str,
    data: st.DataObject,
) -> None:
    """A sample of the same on PostgreSQL, which refuses what SQLite lets through (NUL bytes,
    over-long values in bounded columns)."""
    ws, engine, refusals = abuse
    leaf, top, sub = leaf_of(path)
    args = data.draw(typed_args(leaf, sub), label="args")
    name = data.draw(members, label="member")
    inv = Invocation(top, args, who(ws, name), ws.channel())
    run_checked(ws, engine, refusals, caplog, lambda: ws.app.router.handle(inv).all, inv.user)


@pytest.mark.parametrize(
    "custom_id",
    [
        "offer.score|" + "9" * 40 + ":career:3",
        "pipeline.thanked|" + "9" * 40,
        "nudge.declined|" + "9" * 40,
        "nudge.altsent|" + "9" * 30 + ":" + "9" * 30,
    ],
)
def test_huge_ids_in_button_values_are_refused(ws: MemoryWorkspace, custom_id: str) -> None:
    # Found by the property tests above: a 40-digit id used to overflow the SQLite driver.
    [d] = ws.press_id("bob", custom_id)
    assert "isn't for you" in d.text


# -- long answers (issue 12, defect 11) ---------------------------------------------------------


def _long_answer(n: int) -> str:
    sentence = "In my last role I led the migration, measured the result and learned a lot. "
    return (sentence * (n // len(sentence) + 1))[:n].strip() + "."


def test_an_answer_as_long_as_a_platform_takes_gets_feedback(ws: MemoryWorkspace) -> None:
    [served] = ws.command("alice", "/drill behavioral")
    drill_id = (served.reply.footer or "").split(" ")[0]
    answer = _long_answer(2500)
    [d] = ws.command("alice", "/drill answer " + answer)
    assert d.reply.title == f"Feedback on {drill_id}", d.text[:300]
    # Discord's modal takes 4,000 characters; the form's submit is accepted whole.
    [d] = ws.submit("alice", "drill.answer", drill_id, {"answer": _long_answer(3999)})
    assert d.reply.title == f"Feedback on {drill_id}", d.text[:300]


def test_a_refused_answer_is_quoted_back_with_what_to_do(ws: MemoryWorkspace) -> None:
    ws.command("alice", "/drill behavioral")
    before = snapshot(ws.app.engine)
    answer = _long_answer(4500)
    [d] = ws.command("alice", "/drill answer " + answer)
    assert d.outbound.refusal
    assert d.text.startswith("Your text is 4,500 characters long; the limit is 4,000. Nothing was")
    assert "Shorten it, or send it in two parts" in d.text
    assert d.text.endswith(f"{QUOTE_MARK}\n\n{answer}")
    assert snapshot(ws.app.engine) == before


def test_answer_limits_reach_the_platforms() -> None:
    from bot.features.drills.handlers import answer_form
    from bot.types import ANSWER_LIMIT

    drill = next(iter(features_content().drills.values()))
    form = answer_form(drill).form
    assert form is not None and form.fields[0].max_length == ANSWER_LIMIT == 4000
    slack = slack_render.modal(form, "{}")
    assert slack["blocks"][0]["element"]["max_length"] == 3000
    modal = discord_render.FormModal(form, _no_submit)
    assert modal.inputs["answer"].max_length == 4000
    leaf = commands.find("drill")
    assert leaf is not None and (answer := leaf.sub("answer")) is not None
    assert answer.options[0].max_length == 4000


async def _no_submit(*_: object) -> None:
    return None


def features_content() -> Content:
    from bot.content import get_content

    return get_content(())


@pytest.mark.sqlite_only
@pytest.mark.parametrize("structured", [False, True])
def test_a_huge_unknown_command_is_not_echoed_whole(ws: MemoryWorkspace, structured: bool) -> None:
    """Found by the generated commands above: the name of an unknown command came back whole
    (100 kB of it) in "I don't know the command"."""
    name = "x" * 100_000
    inv = Invocation(name, "", who(ws, "bob"), ws.channel(), options={} if structured else None)
    [out] = ws.app.router.handle(inv).all
    assert out.refusal and out.reply.text.startswith("I don't know the command /xxx")
    assert len(out.reply.text) < 200
