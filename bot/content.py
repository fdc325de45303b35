"""Loading and validating the content banks under ``content/`` (and organizer extras).

Every problem is reported with its file and line so that an organizer editing YAML by hand
can find it; nothing half-valid is ever loaded into the bot.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.numbers import drill_problems

TRACKS: dict[str, str] = {
    "behavioral": "Behavioural and culture fit",
    "system-design": "System design",
    "ml-design": "ML system design",
    "ml-fundamentals": "ML fundamentals",
    "coding": "Coding interview approach",
    "probability": "Probability and statistics puzzles",
    "research": "Research roles",
    "negotiation": "Negotiation role-play",
    "offer-evaluation": "Offer evaluation",
}
# Other spellings members type for a track name (half the cohort writes British English).
TRACK_SPELLINGS = {"behavioural": "behavioral", "behaviour": "behavioral", "behavior": "behavioral"}

QUESTION_TOPICS: dict[str, str] = {
    "role": "The role itself",
    "team": "The team",
    "culture": "Culture and ways of working",
    "growth": "Growth and learning",
    "company-direction": "The company's direction",
    "startup-health": "Startup health: runway and product-market fit",
    "remote": "Remote and hybrid work",
    "ml-stack": "ML stack and process",
    "first-months": "The first 3, 6 and 12 months",
}

LETTER_KINDS: dict[str, str] = {
    "thank-you": "Thank-you mail after an interview",
    "alternatives": "I have an offer elsewhere; can you speed up?",
    "extension": "Ask for more time on an offer deadline",
    "exploding": "Answer to an offer that expires in 24-72 hours",
    "confirm": "Restate an offer call in writing",
    "follow-up": "Follow up on a stale application",
    "feedback": "After weak interview feedback",
    "salary-expectations": "What are your salary expectations?",
    "where-else": "Where else are you interviewing?",
    "decline": "Decline an offer or process after choosing another",
    "motivation": "Cold outreach to a company",
}

# Everything a letter may refer to; the pipeline can fill each one.
LETTER_PLACEHOLDERS: dict[str, str] = {
    "name": "the member's display name",
    "company": "the company the letter goes to",
    "role": "the role applied for at that company",
    "offer_company": "the company that made an offer",
    "offer_deadline": "that offer's deadline, with weekday",
    "interview_date": "the last interview with this company, with weekday",
    "proposed_deadline": "a later business day to propose as the new deadline",
}

DIFFICULTIES = ("easy", "medium", "hard")
_ID = r"^[a-z0-9][a-z0-9-]{1,62}$"


class ContentError(Exception):
    """Raised when content does not validate; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def parse_number(text: str) -> float | None:
    """Read an exact-answer string: ``1/6``, ``0.1667``, ``16.7%``, ``1e-3``."""
    s = text.strip().replace(" ", "")
    if re.fullmatch(r"-?\d+,\d{1,2}%?|-?0,\d+%?", s):
        s = s.replace(",", ".")  # a decimal comma: 0,5 or 16,7%
    s = s.replace(",", "")  # thousands separators: 1,068
    if not s:
        return None
    percent = s.endswith("%")
    if percent:
        s = s[:-1]
    try:
        value = float(Fraction(s))
    except (ValueError, ZeroDivisionError):
        return None
    return value / 100 if percent else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class FrameworkStep(_Strict):
    key: str = Field(pattern=_ID)
    name: str = Field(min_length=2)
    tip: str = Field(min_length=10)
    cues: list[str] = Field(default_factory=list)


class Framework(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=2)
    summary: str = Field(min_length=10)
    steps: list[FrameworkStep] = Field(min_length=2)


class Drill(_Strict):
    id: str = Field(pattern=_ID)
    track: str
    prompt: str = Field(min_length=10, max_length=2000)
    tags: list[str] = Field(default_factory=list)
    difficulty: Literal["easy", "medium", "hard"] = "medium"
    framework: str | None = None
    checklist: list[str] = Field(default_factory=list)
    hints: list[str] = Field(min_length=1)
    model_answer: str | None = None
    # A first-person story a member could have told: shown after the model answer on "Skip to
    # answer", because a worked example teaches the shape of a story better than a checklist.
    example_answer: str | None = Field(default=None, min_length=80, max_length=4000)
    answer: str | None = None
    # No longer read: the prompt states the precision the grader accepts (bot.numbers). Kept
    # so that organizer files written for the old grader still load.
    tolerance: float = Field(default=0.005, ge=0, le=0.5)
    worked: str | None = None
    principles: list[str] = Field(default_factory=list)
    stages: dict[str, str] = Field(default_factory=dict)

    @field_validator("track")
    @classmethod
    def _known_track(cls, v: str) -> str:
        if v not in TRACKS:
            raise ValueError(f"unknown track {v!r}; known: {', '.join(TRACKS)}")
        return v

    @model_validator(mode="after")
    def _feedback_for_track(self) -> Drill:
        t = self.track
        if t == "probability":
            if not self.answer:
                raise ValueError("a probability drill needs an exact 'answer'")
            if parse_number(self.answer) is None:
                raise ValueError(f"answer {self.answer!r} is not a number, fraction or percent")
            if not self.worked:
                raise ValueError("a probability drill needs a 'worked' solution")
            # The grader reads its precision from the prompt and must accept the worked value.
            if problems := drill_problems(self.answer, self.prompt, self.worked):
                raise ValueError("; ".join(problems))
        else:
            if len(self.checklist) < 2:
                raise ValueError("needs a 'checklist' of at least two points")
        if self.example_answer and self.model_answer and self.example_answer == self.model_answer:
            raise ValueError("'example_answer' repeats 'model_answer'; give a different example")
        if t in ("ml-fundamentals", "negotiation") and not self.model_answer:
            raise ValueError(f"a {t} drill needs a 'model_answer'")
        if t == "negotiation" and not self.principles:
            raise ValueError("a negotiation drill needs the 'principles' at stake")
        if t == "system-design":
            missing = {"clarify", "sketch", "refine", "review"} - set(self.stages)
            if missing:
                raise ValueError(f"a system-design drill needs 'stages' for {sorted(missing)}")
        return self


class Question(_Strict):
    id: str = Field(pattern=_ID)
    topic: str
    text: str = Field(min_length=10, max_length=400)
    why: str | None = None

    @field_validator("topic")
    @classmethod
    def _known_topic(cls, v: str) -> str:
        if v not in QUESTION_TOPICS:
            raise ValueError(f"unknown topic {v!r}; known: {', '.join(QUESTION_TOPICS)}")
        return v


class Letter(_Strict):
    kind: str
    variant: Literal["early", "late"] | None = None
    title: str = Field(min_length=3)
    when: str = Field(min_length=10)
    how: str = Field(min_length=10)
    subject: str = Field(min_length=3)
    body: str = Field(min_length=40)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in LETTER_KINDS:
            raise ValueError(f"unknown letter kind {v!r}; known: {', '.join(LETTER_KINDS)}")
        return v

    @model_validator(mode="after")
    def _known_placeholders(self) -> Letter:
        for part in (self.subject, self.body):
            for name in placeholders_in(part):
                if name not in LETTER_PLACEHOLDERS:
                    raise ValueError(
                        f"unknown placeholder {{{name}}}; known: "
                        + ", ".join("{" + p + "}" for p in LETTER_PLACEHOLDERS)
                    )
        return self

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.variant}" if self.variant else self.kind


def placeholders_in(text: str) -> set[str]:
    try:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise ValueError(f"broken braces in template: {exc}") from exc


class PlanStage(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=3)
    days: int = Field(ge=1, le=120)
    purpose: str = Field(min_length=20)
    actions: list[str] = Field(min_length=1)


@dataclass
class Content:
    """Everything the bot knows, merged from every content directory."""

    drills: dict[str, Drill] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)
    letters: dict[str, Letter] = field(default_factory=dict)
    frameworks: dict[str, Framework] = field(default_factory=dict)
    plan: list[PlanStage] = field(default_factory=list)
    origin: dict[str, tuple[str, int]] = field(default_factory=dict, repr=False)

    def drills_in(self, track: str) -> list[Drill]:
        return [d for d in self.drills.values() if d.track == track]

    def questions_on(self, topic: str) -> list[Question]:
        return [q for q in self.questions.values() if q.topic == topic]


# --- YAML with line numbers -------------------------------------------------------------------


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster


class _LineLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe loader that remembers the line of every mapping, for precise error messages."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_lines(v) for k, v in obj.items() if k != "__line__"}
    if isinstance(obj, list):
        return [_strip_lines(v) for v in obj]
    return obj


_SECTIONS: dict[str, type[_Strict]] = {
    "drills": Drill,
    "questions": Question,
    "letters": Letter,
    "frameworks": Framework,
    "plan": PlanStage,
}


def _field_line(item: dict[str, Any], loc: tuple[Any, ...]) -> int:
    """Line of the deepest mapping the pydantic error location reaches."""
    line = int(item.get("__line__", 0))
    node: Any = item
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            node = node[part]
        else:
            break
        if isinstance(node, dict) and "__line__" in node:
            line = int(node["__line__"])
    return line


def _load_file(path: Path, display: str, content: Content, problems: list[Problem]) -> None:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        problems.append(Problem(display, line, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return
    except UnicodeDecodeError:
        problems.append(Problem(display, 0, "not UTF-8 text"))
        return
    if data is None:
        return
    if not isinstance(data, dict):
        problems.append(Problem(display, 1, "the top level must be a mapping of sections"))
        return
    default_track = data.get("track")
    for section, items in data.items():
        if section in ("__line__", "track"):
            continue
        model = _SECTIONS.get(section)
        if model is None:
            problems.append(
                Problem(
                    display,
                    int(data.get("__line__", 1)),
                    f"unknown section {section!r}; known: {', '.join(_SECTIONS)}",
                )
            )
            continue
        if not isinstance(items, list):
            problems.append(Problem(display, int(data["__line__"]), f"{section} must be a list"))
            continue
        for item in items:
            if not isinstance(item, dict):
                problems.append(Problem(display, 0, f"each entry in {section} must be a mapping"))
                continue
            line = int(item.get("__line__", 0))
            raw = _strip_lines(item)
            if section == "drills" and default_track and "track" not in raw:
                raw["track"] = default_track
            try:
                obj = model.model_validate(raw)
            except ValidationError as exc:
                ident = raw.get("id") or raw.get("kind") or "entry"
                for err in exc.errors():
                    where = ".".join(str(p) for p in err["loc"]) or "entry"
                    msg = err["msg"].removeprefix("Value error, ")
                    problems.append(
                        Problem(display, _field_line(item, err["loc"]), f"{ident}: {where}: {msg}")
                    )
                continue
            _add(section, obj, content, display, line, problems)


def _add(
    section: str,
    obj: Any,
    content: Content,
    display: str,
    line: int,
    problems: list[Problem],
) -> None:
    if section == "plan":
        if any(s.id == obj.id for s in content.plan):
            problems.append(Problem(display, line, f"duplicate plan stage id {obj.id!r}"))
        else:
            content.plan.append(obj)
        return
    key = obj.key if section == "letters" else obj.id
    bucket: dict[str, Any] = getattr(content, section)
    if key in bucket:
        problems.append(Problem(display, line, f"duplicate {section[:-1]} id {key!r}"))
        return
    bucket[key] = obj
    content.origin[f"{section}:{key}"] = (display, line)


def _cross_check(content: Content, problems: list[Problem]) -> None:
    def where(drill: Drill) -> tuple[str, int]:
        return content.origin.get(f"drills:{drill.id}", ("content", 0))

    for drill in content.drills.values():
        if drill.framework and drill.framework not in content.frameworks:
            file, line = where(drill)
            problems.append(
                Problem(file, line, f"{drill.id}: unknown framework {drill.framework!r}")
            )
    _check_own_checklists(content, problems)
    seen_prompts: dict[str, str] = {}
    for drill in content.drills.values():
        norm = re.sub(r"\W+", " ", drill.prompt.lower()).strip()
        if norm in seen_prompts:
            file, line = where(drill)
            problems.append(Problem(file, line, f"{drill.id}: same prompt as {seen_prompts[norm]}"))
        seen_prompts[norm] = drill.id


# A stored answer that misses a fifth of its own checklist teaches members the checklist is
# noise, and grades their paraphrases of it as wrong; the same bar as the content tests.
OWN_CHECKLIST_SHARE = 0.8


def _check_own_checklists(content: Content, problems: list[Problem]) -> None:
    """Refuse a drill whose model answer or example answer misses its own checklist."""
    # The one place the core borrows from a feature: the drills' own checklist matcher, so a
    # content bank is refused by the same judge that grades members. Imported late because
    # that module imports this one.
    from bot.features.drills.feedback import checklist_coverage

    for drill in content.drills.values():
        if not drill.checklist:
            continue
        stored = (("model answer", drill.model_answer), ("example answer", drill.example_answer))
        for label, text in stored:
            if not text:
                continue
            cover = checklist_coverage(text, drill.checklist)
            got = sum(c.covered for c in cover)
            if got / len(cover) < OWN_CHECKLIST_SHARE:
                file, line = content.origin.get(f"drills:{drill.id}", ("content", 0))
                missed = "; ".join(c.item for c in cover if not c.covered)
                problems.append(
                    Problem(
                        file,
                        line,
                        f"{drill.id}: the {label} covers {got} of {len(cover)} points of its "
                        f"own checklist (needs {OWN_CHECKLIST_SHARE:.0%}); missed: {missed}",
                    )
                )


def builtin_content_dir() -> Path:
    """The shipped content: inside the wheel, or beside the package in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "_data" / "content"
    return packaged if packaged.is_dir() else here.parent / "content"


def content_dirs(extra_dirs: Iterable[str] = ()) -> tuple[str, ...]:
    """What the bot loads: the built-in banks, then the organizer's directories."""
    return (str(builtin_content_dir()), *extra_dirs)


def load_content(dirs: Iterable[Path | str]) -> Content:
    """Load and merge every ``*.yaml`` under each directory; raise ``ContentError`` on problems."""
    content = Content()
    problems: list[Problem] = []
    for d in dirs:
        base = Path(d)
        if not base.is_dir():
            problems.append(Problem(str(base), 0, "no such content directory"))
            continue
        for path in sorted(base.rglob("*.y*ml")):
            _load_file(path, str(path), content, problems)
    _cross_check(content, problems)
    if problems:
        raise ContentError(problems)
    return content


@lru_cache(maxsize=8)
def _cached(dirs: tuple[str, ...]) -> Content:
    return load_content([Path(d) for d in dirs])


def get_content(extra_dirs: tuple[str, ...] = ()) -> Content:
    """The built-in content merged with organizer directories; loaded once per process."""
    return _cached(content_dirs(extra_dirs))


if __name__ == "__main__":  # a quick check for content authors: python -m bot.content DIR...
    import sys

    try:
        c = load_content(sys.argv[1:] or [builtin_content_dir()])
    except ContentError as e:
        print(e)
        sys.exit(1)
    counts = {t: len(c.drills_in(t)) for t in TRACKS}
    print("ok", counts, "questions", len(c.questions), "letters", sorted(c.letters))
    print("frameworks", sorted(c.frameworks), "plan stages", len(c.plan))
