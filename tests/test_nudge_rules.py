"""The nudge rules' registry: a rule is one registered function in one module, and the
engine gives it everything else (waking hours, the dedupe, Done / Snooze / Stop these, the
wake-ups of a jumping clock); every kind is known to the pipeline's cancelling."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import Select, select

from adapters.memory import MemoryWorkspace
from bot.db.models import Member
from bot.features import load_all
from bot.features.nudges import engine
from bot.features.nudges.engine import Nudge, Pipeline, nudge_buttons, rule
from bot.features.pipeline.queries import NUDGE_KINDS
from bot.jobs import JobEnv
from bot.types import Reply
from tests.helpers import statements
from tests.scheduling import dms_to, only_jobs

KIND = "test-hello"


def test_every_rule_kind_is_cancelled_with_its_process() -> None:
    load_all()
    kinds = {r.kind for r in engine.registered()}
    assert kinds | set(engine.OLD_EXTENSION_KINDS) == set(NUDGE_KINDS)
    assert all(r.label for r in engine.registered())


def test_a_new_rule_is_one_registered_function(ws: MemoryWorkspace) -> None:
    """A rule added in one place (here, in the test) is sent once, in waking hours, and its
    Stop these button works, with nothing else edited."""
    fire_at = datetime(2026, 11, 24, 3, 0, tzinfo=ws.clock.now().tzinfo)  # 03:00 UTC: night

    def members(now: datetime, stale_days: int) -> Select[int]:
        return select(Member.id).where(Member.display_name == "bob")

    def instants(session: object, env: JobEnv, after: datetime) -> Iterable[datetime]:
        return [fire_at]

    @rule(KIND, "hellos", candidates=members, instants=instants)
    def hello(p: Pipeline) -> Iterator[Nudge]:
        subject = f"m{p.member_id}"
        reply = Reply("Hello from a new rule.", buttons=nudge_buttons(KIND, subject))
        yield Nudge(
            KIND,
            subject,
            fire_at,
            fire_at + timedelta(days=2),
            lambda at: reply,
            date(2026, 11, 24),
        )

    try:
        ws.command("bob", "/drill stats")
        only_jobs(ws, "nudges")
        out = dms_to(ws.advance(timedelta(days=3)), "bob")
        hellos = [d for d in out if d.text.startswith("Hello from a new rule")]
        assert len(hellos) == 1  # once, though every run after 03:00 calls for it
        # Moved out of the night into the member's waking hours (from 09:00; UTC here).
        assert hellos[0].at == datetime(2026, 11, 24, 9, 0, tzinfo=fire_at.tzinfo)
        stop = next(b for b in hellos[0].reply.buttons if b.label == "Stop these")
        [stopped] = ws.press("bob", stop)
        assert stopped.text == "Stopped: no more hellos."
    finally:
        engine._RULES.pop(KIND, None)


def test_a_run_reads_its_candidates_pipelines_in_as_many_statements_for_two_as_for_eight(
    ws: MemoryWorkspace,
) -> None:
    """Set-based: the job read each candidate's pipeline with a query and three more for its
    history, interviews and offer, so a run's statements grew with the members in play."""
    only_jobs(ws, "nudges")
    runner = ws.app.jobs

    def run_with_offers(names: list[str]) -> int:
        for name in names:
            ws.command(name, "/pipeline add Acme stage onsite")
            ws.command(name, "/pipeline add Globex stage applied")
            ws.command(name, "/pipeline add Initech stage screen")
            ws.command(name, "/pipeline offer Acme deadline 2026-12-04 17:00")
        with statements(ws.app.engine) as ran:
            queued = runner.run_at(ws.clock.now(), runner.jobs)
        assert queued >= 2 * len(names)  # an alternatives letter per other company, at least
        return len(ran)

    two = run_with_offers(["bob", "carol"])
    eight = run_with_offers([f"member{i}" for i in range(8)])
    assert eight == two
