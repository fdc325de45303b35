"""The content banks and `cohortbot content validate`: the shipped banks pass, broken copies fail
with the file and line an organizer needs, and organizer directories merge with unique ids. The
installed script runs once as a subprocess; the other checks run its command line in-process."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.config import load_settings
from bot.content import (
    LETTER_KINDS,
    LETTER_PLACEHOLDERS,
    QUESTION_TOPICS,
    TRACKS,
    Content,
    ContentError,
    Problem,
    builtin_content_dir,
    get_content,
    load_content,
    parse_number,
)
from tests.cli import Ran, invoke_cohortbot, run_cohortbot, without_platforms

BUILTIN = builtin_content_dir()
OK_LINE = re.compile(
    r"^OK: (\d+) drills \((.*)\); (\d+) questions; (\d+) letters; (\d+) frameworks; "
    r"(\d+) plan stages\.$"
)


def cohortbot_process(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, run as an organizer would run it."""
    return run_cohortbot(*args, cwd=cwd, env=without_platforms(**env))


def cohortbot(monkeypatch: pytest.MonkeyPatch, *args: str, cwd: Path, **env: str) -> Ran:
    """The same command line, in this process."""
    return invoke_cohortbot(monkeypatch, *args, cwd=cwd, env=without_platforms(**env))


# --- the shipped banks ----------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_validates_shipped_content(tmp_path: Path, content: Content) -> None:
    proc = cohortbot_process("content", "validate", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    m = OK_LINE.match(lines[0])
    assert m, lines[0]
    assert int(m[1]) == len(content.drills)
    assert m[2] == ", ".join(f"{t} {len(content.drills_in(t))}" for t in TRACKS)
    assert (int(m[3]), int(m[4]), int(m[5]), int(m[6])) == (
        len(content.questions),
        len(content.letters),
        len(content.frameworks),
        10,
    )


@pytest.mark.slow
def test_cli_validates_explicit_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    proc = cohortbot(monkeypatch, "content", "validate", str(BUILTIN), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("OK: ")


MINIMUMS = {
    "behavioral": 40,
    "system-design": 20,
    "ml-design": 10,
    "ml-fundamentals": 25,
    "coding": 20,
    "probability": 25,
    "research": 10,
    "negotiation": 25,
    "offer-evaluation": 10,
}


@pytest.mark.parametrize(("track", "minimum"), MINIMUMS.items())
def test_track_minimum(content: Content, track: str, minimum: int) -> None:
    assert len(content.drills_in(track)) >= minimum


def test_every_track_has_a_minimum() -> None:
    # A new track must get its own floor here, not slip through untested.
    assert set(MINIMUMS) == set(TRACKS)


def test_questions_cover_every_topic(content: Content) -> None:
    assert len(content.questions) >= 60
    uncovered = [t for t in QUESTION_TOPICS if not content.questions_on(t)]
    assert uncovered == []


def test_every_letter_kind_has_a_template(content: Content) -> None:
    kinds = {letter.kind for letter in content.letters.values()}
    assert kinds == set(LETTER_KINDS)
    for kind in ("salary-expectations", "where-else"):
        assert f"{kind}:early" in content.letters
        assert f"{kind}:late" in content.letters


def test_every_letter_renders(content: Content) -> None:
    values = {key: f"<{key}>" for key in LETTER_PLACEHOLDERS}
    for key, letter in content.letters.items():
        for part in (letter.subject, letter.body):
            rendered = part.format(**values)
            # A stray brace would reach the recruiter verbatim.
            assert "{" not in rendered and "}" not in rendered, (key, rendered)


def test_plan_has_ten_stages(content: Content) -> None:
    assert len(content.plan) == 10
    assert len({s.id for s in content.plan}) == 10


def test_star_framework_steps(content: Content) -> None:
    steps = [s.key for s in content.frameworks["star"].steps]
    assert steps == ["situation", "task", "action", "result", "learning", "evolution"]


# --- broken copies --------------------------------------------------------------------------------


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def edit_entry(text: str, anchor: str, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` once, within the list entry whose first line holds ``anchor``."""
    lines = text.splitlines(keepends=True)
    start = line_of(text, anchor) - 1
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("  - ")), len(lines))
    for i in range(start, end):
        if old in lines[i]:
            lines[i] = lines[i].replace(old, new, 1)
            return "".join(lines)
    raise AssertionError(f"{old!r} not in entry {anchor!r}")


def insert_after(text: str, anchor: str, new_line: str) -> str:
    lines = text.splitlines(keepends=True)
    at = line_of(text, anchor)
    lines.insert(at, new_line + "\n")
    return "".join(lines)


def first_id(text: str) -> str:
    m = re.search(r"^  - id: (\S+)$", text, re.MULTILINE)
    assert m
    return m[1]


@dataclass(frozen=True)
class Breakage:
    file: str  # relative to the content directory
    edit: Callable[[str], str]
    needle: Callable[[str], str]  # picks, in the edited text, the line that must be reported
    message: str


BEH = "beh-conflict-teammate"
DICE = "prob-two-dice-sum-seven"

BREAKAGES: dict[str, Breakage] = {
    "bad-field-value": Breakage(
        "drills/behavioral.yaml",
        lambda t: edit_entry(t, f"- id: {BEH}", "difficulty: medium", "difficulty: impossible"),
        lambda t: f"- id: {BEH}",
        f"{BEH}: difficulty: Input should be 'easy', 'medium' or 'hard'",
    ),
    "duplicate-id-across-files": Breakage(
        "drills/coding.yaml",
        lambda t: t.replace(f"- id: {first_id(t)}\n", f"- id: {BEH}\n", 1),
        lambda t: f"- id: {BEH}",
        f"duplicate drill id {BEH!r}",
    ),
    "unknown-track": Breakage(
        "drills/behavioral.yaml",
        lambda t: insert_after(t, f"- id: {BEH}", "    track: interpretive-dance"),
        lambda t: f"- id: {BEH}",
        f"{BEH}: track: unknown track 'interpretive-dance'; known: {', '.join(TRACKS)}",
    ),
    "missing-answer": Breakage(
        "drills/probability.yaml",
        lambda t: edit_entry(t, f"- id: {DICE}", '    answer: "1/6"\n', ""),
        lambda t: f"- id: {DICE}",
        f"{DICE}: entry: a probability drill needs an exact 'answer'",
    ),
    "non-numeric-answer": Breakage(
        "drills/probability.yaml",
        lambda t: edit_entry(t, f"- id: {DICE}", 'answer: "1/6"', 'answer: "one in six"'),
        lambda t: f"- id: {DICE}",
        f"{DICE}: entry: answer 'one in six' is not a number, fraction or percent",
    ),
    "unknown-placeholder": Breakage(
        "letters.yaml",
        lambda t: edit_entry(t, "- kind: thank-you", "{interview_date}", "{interview_day}"),
        lambda t: "- kind: thank-you",
        "thank-you: entry: unknown placeholder {interview_day}; known: "
        + ", ".join("{" + p + "}" for p in LETTER_PLACEHOLDERS),
    ),
    "invalid-yaml": Breakage(
        "drills/probability.yaml",
        lambda t: edit_entry(t, f"- id: {DICE}", "difficulty: easy", "difficulty: easy: really"),
        lambda t: "difficulty: easy: really",
        # libyaml (used when PyYAML has it) words this differently from the pure-Python parser.
        "not valid YAML: mapping values are not allowed "
        + ("in this context" if hasattr(yaml, "CSafeLoader") else "here"),
    ),
    "unknown-extra-field": Breakage(
        "drills/behavioral.yaml",
        lambda t: insert_after(t, f"- id: {BEH}", "    colour: teal"),
        lambda t: f"- id: {BEH}",
        f"{BEH}: colour: Extra inputs are not permitted",
    ),
}


def broken_copy(tmp_path: Path, breakage: Breakage) -> tuple[Path, Problem]:
    root = tmp_path / "content"
    shutil.copytree(BUILTIN, root)
    path = root / breakage.file
    original = path.read_text(encoding="utf-8")
    edited = breakage.edit(original)
    assert edited != original, "the edit did not change anything"
    path.write_text(edited, encoding="utf-8")
    line = line_of(edited, breakage.needle(edited))
    return root, Problem(str(path), line, breakage.message)


@pytest.mark.slow
@pytest.mark.parametrize("name", BREAKAGES)
def test_broken_copy_is_refused_with_file_and_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    root, expected = broken_copy(tmp_path, BREAKAGES[name])

    with pytest.raises(ContentError) as info:
        load_content([root])
    assert info.value.problems == [expected]

    proc = cohortbot(monkeypatch, "content", "validate", str(root), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [str(expected)]
    assert "1 problem(s) found." in proc.stderr
    assert "OK:" not in proc.stdout


@pytest.mark.slow
def test_every_problem_is_reported_not_just_the_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root, first = broken_copy(tmp_path, BREAKAGES["bad-field-value"])
    letters = root / "letters.yaml"
    edited = BREAKAGES["unknown-placeholder"].edit(letters.read_text(encoding="utf-8"))
    letters.write_text(edited, encoding="utf-8")
    second = Problem(
        str(letters), line_of(edited, "- kind: thank-you"), BREAKAGES["unknown-placeholder"].message
    )

    with pytest.raises(ContentError) as info:
        load_content([root])
    assert set(info.value.problems) == {first, second}

    proc = cohortbot(monkeypatch, "content", "validate", str(root), cwd=tmp_path)
    assert proc.returncode == 1
    assert set(proc.stdout.splitlines()) == {str(first), str(second)}
    assert "2 problem(s) found." in proc.stderr


def test_missing_directory_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    proc = cohortbot(monkeypatch, "content", "validate", str(missing), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [f"{missing}:0: no such content directory"]


# --- organizer directories ------------------------------------------------------------------------

EXTRA_BANK = """\
track: behavioral
drills:
  - id: org-hackathon-pivot
    prompt: Tell me about a hackathon project you had to change direction on halfway through.
    tags: [ambiguity, adaptability]
    difficulty: easy
    framework: star
    checklist:
      - Says what made the first direction fail, with the signal that showed it
      - Explains how the team agreed on the new direction under time pressure
    hints:
      - Keep the setting short; the pivot itself is the story.
"""


def organizer_dir(tmp_path: Path, bank: str) -> Path:
    extra = tmp_path / "organizer"
    (extra / "drills").mkdir(parents=True)
    (extra / "drills" / "ours.yaml").write_text(bank, encoding="utf-8")
    return extra


def test_organizer_bank_is_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: Content
) -> None:
    extra = organizer_dir(tmp_path, EXTRA_BANK)

    merged = load_content([BUILTIN, extra])
    assert set(merged.drills) == set(content.drills) | {"org-hackathon-pivot"}
    assert merged.drills["org-hackathon-pivot"].track == "behavioral"

    # The same directory reaches the bot through the environment variable.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COHORTBOT_CONTENT_DIRS", f" {extra} ,")
    settings = load_settings()
    assert settings.extra_content_dirs == (str(extra),)
    assert "org-hackathon-pivot" in get_content(settings.extra_content_dirs).drills

    proc = cohortbot(monkeypatch, "content", "validate", str(BUILTIN), str(extra), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    m = OK_LINE.match(proc.stdout.strip())
    assert m and int(m[1]) == len(content.drills) + 1


@pytest.mark.slow
def test_organizer_bank_reusing_a_builtin_id_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bank = EXTRA_BANK.replace("org-hackathon-pivot", BEH)
    extra = organizer_dir(tmp_path, bank)
    expected = Problem(
        str(extra / "drills" / "ours.yaml"),
        line_of(bank, f"- id: {BEH}"),
        f"duplicate drill id {BEH!r}",
    )

    with pytest.raises(ContentError) as info:
        load_content([BUILTIN, extra])
    assert info.value.problems == [expected]

    proc = cohortbot(monkeypatch, "content", "validate", str(BUILTIN), str(extra), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [str(expected)]

    # The bot itself refuses to start on it rather than silently shadowing the built-in drill.
    proc = cohortbot(
        monkeypatch,
        "console",
        cwd=tmp_path,
        COHORTBOT_CONTENT_DIRS=str(extra),
        COHORTBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Content problems" in proc.stderr
    assert str(expected) in proc.stderr


# --- exact answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1/6", 1 / 6),
        ("0.1667", 0.1667),
        ("16.7%", 0.167),
        ("1e-3", 0.001),
        (" 3 ", 3.0),
        ("671/1296", 671 / 1296),
    ],
)
def test_parse_number(text: str, value: float) -> None:
    got = parse_number(text)
    assert got is not None
    assert got == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text", ["", "   ", "one sixth", "1/0", "1/6/2", "%", "abc%", "0x10"])
def test_parse_number_refuses_garbage(text: str) -> None:
    assert parse_number(text) is None


def test_every_probability_answer_parses(content: Content) -> None:
    for drill in content.drills_in("probability"):
        assert drill.answer is not None and parse_number(drill.answer) is not None, drill.id


# --- cross-file checks ----------------------------------------------------------------------------


def only_problem(root_dirs: list[Path]) -> Problem:
    with pytest.raises(ContentError) as info:
        load_content(root_dirs)
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


def test_unknown_framework_names_file_and_line(tmp_path: Path) -> None:
    breakage = Breakage(
        "drills/behavioral.yaml",
        lambda t: edit_entry(t, f"- id: {BEH}", "framework: star", "framework: starr"),
        lambda t: f"- id: {BEH}",
        "",
    )
    root, expected = broken_copy(tmp_path, breakage)
    problem = only_problem([root])
    assert "unknown framework 'starr'" in problem.message
    assert (problem.file, problem.line) == (expected.file, expected.line)


def test_duplicate_prompt_names_file_and_line(tmp_path: Path, content: Content) -> None:
    prompt = content.drills[BEH].prompt
    bank = EXTRA_BANK.replace(
        "Tell me about a hackathon project you had to change direction on halfway through.", prompt
    )
    extra = organizer_dir(tmp_path, bank)
    problem = only_problem([BUILTIN, extra])
    assert f"same prompt as {BEH}" in problem.message
    assert (problem.file, problem.line) == (
        str(extra / "drills" / "ours.yaml"),
        line_of(bank, "- id: org-hackathon-pivot"),
    )


# --- checklists recognise their own model answers (issue 13) -------------------------------------


def test_every_model_answer_meets_its_own_checklist(content: Content) -> None:
    from bot.features.drills.feedback import checklist_coverage

    low: dict[str, float] = {}
    for drill in content.drills.values():
        if drill.model_answer and drill.checklist:
            cover = checklist_coverage(drill.model_answer, drill.checklist)
            share = sum(c.covered for c in cover) / len(cover)
            if share < 0.8:
                low[drill.id] = round(share, 2)
    assert not low, low


def test_pasted_model_answer_scores_fully(content: Content) -> None:
    from bot.features.drills.feedback import checklist_coverage

    drill = content.drills["neg-phone-or-email"]
    assert drill.model_answer is not None
    assert all(c.covered for c in checklist_coverage(drill.model_answer, drill.checklist))


def test_number_required_model_answer_quotes_the_top_as_a_starting_point(content: Content) -> None:
    answer = content.drills["neg-number-required-form"].model_answer or ""
    assert "placeholder" not in answer and "starting point" in answer


def test_alternatives_letter_says_what_is_true_to_every_company(content: Content) -> None:
    body = content.letters["alternatives"].body
    assert "most like to join" not in body
    assert "{offer_company}" in body and "{offer_deadline}" in body and "interested" in body


# --- validation refuses stored answers that miss their own checklist (issue 13) ------------------

OFF_CHECKLIST_BANK = """\
track: behavioral
drills:
  - id: org-off-checklist
    prompt: Tell me about a time you rescued a launch that was about to miss its date.
    framework: star
    checklist:
      - Names the launch date and what slipping it would have cost customers
      - Shows which scope was cut and which was kept, with the reason
      - Reports the date the launch actually shipped and how it was received
    hints:
      - Spend most of the time on the choices you made about scope.
    example_answer: >-
      I once spent a summer volunteering at a wildlife sanctuary, feeding the owls and repairing
      fences with a small crew of retired carpenters, which I enjoyed very much indeed.
"""


@pytest.mark.slow
def test_validate_refuses_an_example_answer_off_its_own_checklist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    extra = organizer_dir(tmp_path, OFF_CHECKLIST_BANK)
    problem = only_problem([BUILTIN, extra])
    assert problem.message.startswith("org-off-checklist: the example answer covers 0 of 3")
    assert (problem.file, problem.line) == (
        str(extra / "drills" / "ours.yaml"),
        line_of(OFF_CHECKLIST_BANK, "- id: org-off-checklist"),
    )

    proc = cohortbot(monkeypatch, "content", "validate", str(BUILTIN), str(extra), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [str(problem)]
    assert "OK:" not in proc.stdout


def test_validate_refuses_a_model_answer_off_its_own_checklist(tmp_path: Path) -> None:
    bank = (
        OFF_CHECKLIST_BANK.replace("track: behavioral", "track: ml-fundamentals")
        .replace("    framework: star\n", "")
        .replace("example_answer", "model_answer")
    )
    extra = organizer_dir(tmp_path, bank)
    problem = only_problem([BUILTIN, extra])
    assert "org-off-checklist: the model answer covers 0 of 3" in problem.message
    assert "Names the launch date" in problem.message  # says what to add, not just a score


def test_shipped_example_answers_pass_validation(content: Content) -> None:
    # Loading the shipped banks ran the same check; here, that it had something to check.
    assert sum(bool(d.example_answer) for d in content.drills_in("behavioral")) >= 40
